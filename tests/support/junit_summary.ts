/**
 * Reads the JUnit XML files `deno test --junit-path` and `bun test --reporter=junit` write
 * and prints CI's plain closing line: `N passed, N failed` (`, N skipped` when any).
 * Only leaf tests count: a `describe` whose steps are reported separately is not a test.
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/** Pass/fail/skip counts of leaf test cases, with the failed ones named. */
export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** `file-or-suite::test` of each failed leaf, then the first line of its failure message. */
  failures: string[];
}

const decode = (s: string) =>
  s.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, "&");

/** Counts the leaf test cases of one JUnit XML document. */
export function tallyJunit(xml: string): Tally {
  const cases: { name: string; failed: boolean; skipped: boolean; message: string }[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attrs = m[1];
    const name = decode(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    const cls = decode(/\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    const body = m[3] ?? "";
    cases.push({
      name: `${cls}::${name}`,
      failed: /<(failure|error)\b/.test(body),
      skipped: /<skipped\b/.test(body),
      message: decode(/<(?:failure|error)\b[^>]*\bmessage="([^"]*)"/.exec(body)?.[1] ?? ""),
    });
  }
  // deno reports steps with a parent prefix "parent > step" (under another classname); a case
  // that some other case extends is a parent, not a leaf.
  const bare = cases.map((c) => c.name.split("::").slice(1).join("::"));
  const parents = new Set<string>();
  for (const n of bare) {
    const parts = n.split(" > ");
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join(" > "));
  }
  const tally: Tally = { passed: 0, failed: 0, skipped: 0, failures: [] };
  cases.forEach((c, i) => {
    if (parents.has(bare[i])) return;
    if (c.skipped) tally.skipped++;
    else if (c.failed) {
      tally.failed++;
      const reason = c.message.split("\n").find((l) => l.trim() !== "")?.trim().slice(0, 200);
      tally.failures.push(reason ? `${c.name} (${reason})` : c.name);
    } else tally.passed++;
  });
  return tally;
}

if (import.meta.main) {
  const total: Tally = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const missing: string[] = [];
  for (const file of process.argv.slice(2)) {
    let xml: string;
    try {
      xml = readFileSync(file, "utf8");
    } catch {
      missing.push(file);
      continue;
    }
    const t = tallyJunit(xml);
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
    total.failures.push(...t.failures);
  }
  // A runner that died before writing its report counts as a failure, never as silence.
  total.failed += missing.length;
  total.failures.push(...missing.map((f) => `${f} (no report: its runner died)`));
  // Named just above the closing line, because CI keeps only the tail of the output.
  for (const f of total.failures) console.log(`failed: ${f}`);
  console.log(
    `${total.passed} passed, ${total.failed} failed${
      total.skipped ? `, ${total.skipped} skipped` : ""
    }`,
  );
}
