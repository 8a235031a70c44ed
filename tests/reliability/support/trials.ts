/**
 * The scenario runner's bookkeeping: every reliability scenario records how many trials it
 * ran (kill points, fault injections, bad inputs…) and its outcome, one JSON line per
 * scenario in a results file shared by all test files of the run (deno runs each test file in
 * its own isolate, so a file on disk is the shared place). `make soak` prints the table at the
 * end and writes it into tests/reliability/README.md between the results markers.
 *
 *     await scenario("crash.kill_during_backfill", async (trial) => {
 *       for (...) { ...; trial(); }          // one call per trial; throw to fail
 *     }, { notes: "seed 42" });
 *
 * Run as a script to print (and with `--write-readme`, store) the table:
 *     deno run -A tests/reliability/support/trials.ts [--write-readme]
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** True when the full (soak) suite runs: FLUSSO_SOAK=1. */
export const SOAK: boolean = process.env.FLUSSO_SOAK === "1";

/** The mode a result was recorded in. */
export type SuiteMode = "reduced" | "soak";

/** One scenario's recorded outcome. */
export interface TrialRecord {
  readonly scenario: string;
  /** The test file that ran it, e.g. `crash.test.ts`. */
  readonly file: string;
  readonly mode: SuiteMode;
  readonly trials: number;
  readonly outcome: "pass" | "fail";
  readonly durationMs: number;
  /** Seeds, counts, the first line of a failure. */
  readonly notes: string;
  readonly at: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The results file: FLUSSO_RELIABILITY_RESULTS, else cov/reliability/results-<mode>.jsonl. */
export function resultsPath(mode: SuiteMode = SOAK ? "soak" : "reduced"): string {
  return process.env.FLUSSO_RELIABILITY_RESULTS ??
    join(REPO_ROOT, "cov", "reliability", `results-${mode}.jsonl`);
}

/** Appends one record to the results file. */
export function recordTrial(record: Omit<TrialRecord, "at" | "mode">): void {
  const mode: SuiteMode = SOAK ? "soak" : "reduced";
  const path = resultsPath(mode);
  mkdirSync(dirname(path), { recursive: true });
  const full: TrialRecord = { ...record, mode, at: new Date().toISOString() };
  appendFileSync(path, `${JSON.stringify(full)}\n`);
}

/** Options of `scenario`. */
export interface ScenarioOptions {
  /** The test file (default: taken from the scenario name's prefix). */
  readonly file?: string;
  /** Free text for the table (seed, sizes). A function is called after the body. */
  readonly notes?: string | (() => string);
}

/**
 * Runs `body`, counting trials through the callback it receives, and records the outcome
 * (pass when it resolves, fail when it throws; the error is rethrown for the test runner).
 */
export async function scenario(
  name: string,
  body: (trial: (count?: number) => void) => Promise<void>,
  options: ScenarioOptions = {},
): Promise<void> {
  let trials = 0;
  const started = Date.now();
  const notesOf = () => typeof options.notes === "function" ? options.notes() : options.notes ?? "";
  const file = options.file ?? `${name.split(".")[0]}.test.ts`;
  try {
    await body((count = 1) => {
      trials += count;
    });
    recordTrial({
      scenario: name,
      file,
      trials,
      outcome: "pass",
      durationMs: Date.now() - started,
      notes: notesOf(),
    });
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    recordTrial({
      scenario: name,
      file,
      trials,
      outcome: "fail",
      durationMs: Date.now() - started,
      notes: [notesOf(), first.slice(0, 160)].filter((s) => s !== "").join("; "),
    });
    throw error;
  }
}

/** Reads every record of a results file (missing file: none). */
export function readResults(path = resultsPath()): TrialRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l) as TrialRecord
  );
}

/** The markdown table of `records` (latest record per scenario, in first-seen order). */
export function renderTable(records: readonly TrialRecord[]): string {
  const latest = new Map<string, TrialRecord>();
  for (const r of records) latest.set(r.scenario, r);
  const rows = [...latest.values()];
  const header = "| scenario | file | mode | trials | outcome | seconds | notes |\n" +
    "| --- | --- | --- | ---: | --- | ---: | --- |";
  const body = rows.map((r) =>
    `| ${r.scenario} | ${r.file} | ${r.mode} | ${r.trials} | ${
      r.outcome === "pass" ? "pass" : "**FAIL**"
    } | ${(r.durationMs / 1000).toFixed(1)} | ${r.notes.replaceAll("|", "\\|")} |`
  );
  const passed = rows.filter((r) => r.outcome === "pass").length;
  const trials = rows.reduce((s, r) => s + r.trials, 0);
  return [
    header,
    ...body,
    "",
    `${rows.length} scenarios, ${trials} trials: ${passed} passed, ${rows.length - passed} failed`,
  ].join("\n");
}

/** Markers around the generated table in tests/reliability/README.md. */
export const TABLE_START = "<!-- reliability-results:start -->";
export const TABLE_END = "<!-- reliability-results:end -->";

/** Replaces the text between the markers of `readme` with `table` (stamped with the date). */
export function writeTableIntoReadme(readme: string, table: string, mode: SuiteMode): void {
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(`${readme} lacks the ${TABLE_START} … ${TABLE_END} markers`);
  }
  const stamped = `\nLast \`${mode}\` run: ${new Date().toISOString().slice(0, 16)}Z\n\n${table}\n`;
  writeFileSync(readme, text.slice(0, start + TABLE_START.length) + stamped + text.slice(end));
}

if (import.meta.main) {
  const mode: SuiteMode = process.argv.includes("--reduced") ? "reduced" : "soak";
  const records = readResults(resultsPath(mode));
  const table = renderTable(records);
  console.log(`\nreliability results (${mode}, ${resultsPath(mode)}):\n\n${table}`);
  if (process.argv.includes("--write-readme")) {
    writeTableIntoReadme(join(REPO_ROOT, "tests", "reliability", "README.md"), table, mode);
  }
  if (records.length === 0 || records.some((r) => r.outcome === "fail")) process.exitCode = 1;
}
