/**
 * Figure 4 — commit-to-indexed latency at a steady 1,000 and 5,000 changes/s with default
 * batching. A paced writer commits single-row inserts into `items` (each a new document id)
 * and notes when each commit returned; a recording proxy between flusso and OpenSearch notes
 * when the `_bulk` carrying each id was acknowledged (harness/latency.ts). The first second of
 * each rate is warm-up and not counted.
 */
import postgres from "postgres";
import { benchScale, envNumber, scaled } from "./harness/env.ts";
import { waitForConfirmed, writeFlussoConfig } from "./harness/flusso_process.ts";
import { pacedInserts, startRecordingProxy, summarizeLatency } from "./harness/latency.ts";
import { benchDatabase, walInsertLsn } from "./harness/postgres.ts";
import { canRunFlusso, pendingRow, startLive } from "./harness/scenario.ts";
import { startBenchSink } from "./harness/sink.ts";
import { formatMs, formatRate } from "./harness/stats.ts";
import type { Benchmark, BenchRow } from "./harness/suite.ts";
import { itemsSchemaYaml, itemsSetupSql, seedItems } from "./harness/workloads.ts";

const RATES = [
  { rate: 1000, p50: 75, p99: 200 },
  { rate: 5000 },
] as const;

/** `latency`: figure 4. */
export const latencyBenchmark: Benchmark = {
  name: "latency",
  async run(): Promise<BenchRow[]> {
    const seconds = Math.max(
      5,
      Math.round(envNumber("FLUSSO_BENCH_LATENCY_SECONDS", 20) * benchScale()),
    );
    const figureOf = (rate: number) =>
      `4. latency @ ${rate.toLocaleString("en-US")}/s, ${seconds} s`;
    const targetOf = (r: (typeof RATES)[number]) =>
      "p50" in r ? `p50 ≤ ${r.p50} ms, p99 ≤ ${r.p99} ms` : "-";
    if (!canRunFlusso()) return RATES.map((r) => pendingRow(figureOf(r.rate), "-", targetOf(r)));

    const seeded = scaled(10_000, 100);
    const db = await benchDatabase("latency", itemsSetupSql());
    const slot = `${db.name}_slot`;
    const publication = `${db.name}_pub`;
    const sink = await startBenchSink();
    const proxy = await startRecordingProxy(sink.url);
    const config = await writeFlussoConfig({
      slot,
      publication,
      prefix: `${db.name}_`,
      indexes: { items: itemsSchemaYaml },
    });
    const writer = postgres(db.url, { max: 8, onnotice: () => {} });
    try {
      await seedItems(db.binDir, db.url, seeded);
      await db.sql.unsafe(`CREATE PUBLICATION "${publication}" FOR TABLE items`);
      const { flusso } = await startLive({
        config,
        databaseUrl: db.url,
        sinkUrl: proxy.url,
        sql: db.sql,
        indexes: ["items"],
      });
      const rows: BenchRow[] = [];
      try {
        let nextId = seeded + 1;
        for (const r of RATES) {
          proxy.recording = true;
          const run = await pacedInserts(writer, { rate: r.rate, seconds, firstId: nextId });
          nextId += run.committed.size + 1;
          await waitForConfirmed(flusso, db.sql, slot, await walInsertLsn(db.sql), {
            timeoutMs: 120_000,
          });
          proxy.recording = false;
          const s = summarizeLatency(run.committed, proxy.acked, { since: run.startedAt + 1000 });
          const met = "p50" in r ? s.p50 <= r.p50 && s.p99 <= r.p99 && s.missing === 0 : undefined;
          rows.push({
            figure: figureOf(r.rate),
            flusso: `p50 ${formatMs(s.p50)} · p95 ${formatMs(s.p95)} · p99 ${
              formatMs(s.p99)
            } · max ${formatMs(s.max)}${s.missing ? ` · ${s.missing} never acked` : ""}`,
            anchor: `writer achieved ${formatRate(run.achievedRate)}`,
            ratio: "-",
            target: targetOf(r),
            verdict: met === undefined ? "info" : met ? "met" : "missed",
          });
        }
      } finally {
        await flusso.stop();
      }
      return rows;
    } finally {
      await writer.end({ timeout: 1 });
      await proxy.close();
      await sink.stop();
      config.remove();
      await db.drop();
    }
  },
};
