/** A benchmark: measures flusso and its anchor in the same run and reports rows for the table. */
export interface Benchmark {
  /** Short name used on the command line (`make bench ARGS=name`). */
  name: string;
  run(): Promise<BenchRow[]>;
}

/** One row of the results table. */
export interface BenchRow {
  figure: string;
  flusso: string;
  anchor: string;
  /** flusso ÷ anchor (or the figure's own target comparison), formatted. */
  ratio: string;
  target: string;
  verdict: "met" | "missed" | "info";
}

/** Runs benchmarks one after another; a failing benchmark becomes a row, not a crash. */
export async function runSuite(benchmarks: Benchmark[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const b of benchmarks) {
    try {
      rows.push(...await b.run());
    } catch (error) {
      rows.push({
        figure: b.name,
        flusso: "error",
        anchor: "-",
        ratio: "-",
        target: "-",
        verdict: "missed",
      });
      console.error(`benchmark ${b.name} failed:`, error);
    }
  }
  return rows;
}

/** Prints rows as an aligned Markdown table. */
export function printTable(rows: BenchRow[]): void {
  const header = ["figure", "flusso", "anchor", "ratio", "target", "verdict"] as const;
  const cells = [header.map(String), ...rows.map((r) => header.map((h) => r[h]))];
  const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(cells[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const c of cells.slice(1)) console.log(line(c));
}
