import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Benchmark } from "./harness/suite.ts";
import { backfillBenchmark } from "./backfill.ts";
import { latencyBenchmark } from "./latency.ts";
import { liveDrainBenchmark } from "./live_drain.ts";
import { memoryBenchmark } from "./memory.ts";
import { nestedDrainBenchmark } from "./nested_drain.ts";
import { startupBenchmark } from "./startup.ts";

/**
 * A benchmark another engineer delivers in its own file (figure 7, bench/emulator_bulk.ts
 * exporting `emulatorBulkBenchmark`): registered when the file exists. The specifier is
 * computed so that type-checking the suite does not depend on it.
 */
async function optional(file: string, exportName: string): Promise<Benchmark[]> {
  const url = new URL(file, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return [];
  const mod = await import(url.href) as Record<string, unknown>;
  const benchmark = mod[exportName] as Benchmark | undefined;
  return benchmark && typeof benchmark.run === "function" ? [benchmark] : [];
}

/** Every benchmark `make bench` runs, in order (cheap ones first). */
export const benchmarks: Benchmark[] = [
  startupBenchmark,
  ...await optional("./emulator_bulk.ts", "emulatorBulkBenchmark"),
  liveDrainBenchmark,
  nestedDrainBenchmark,
  backfillBenchmark,
  latencyBenchmark,
  memoryBenchmark,
];
