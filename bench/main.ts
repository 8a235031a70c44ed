/**
 * `make bench`: runs every benchmark registered in bench/suite.ts and prints one table.
 * Benchmarks measure; they never assert. See bench/README.md for what each figure means.
 */
import { printTable, runSuite } from "./harness/suite.ts";
import { benchmarks } from "./suite.ts";

const only = Deno.args.filter((a) => !a.startsWith("-"));
const rows = await runSuite(benchmarks.filter((b) => only.length === 0 || only.includes(b.name)));
printTable(rows);
