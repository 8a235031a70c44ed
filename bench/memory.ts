/**
 * Figure 5 — peak RSS of flusso during a single 1M-row transaction (the other two scenarios of
 * figure 5, live drain and backfill, are measured inside live_drain.ts and backfill.ts). flusso
 * is live on a small `items` table when one transaction inserting 1M rows commits; peak RSS is
 * the kernel's VmHWM of the flusso process once the slot has confirmed the transaction. The
 * anchor is pg_recvlogical draining the same transaction from its own slot.
 */
import { drainWithRecvlogical } from "./harness/anchor_recvlogical.ts";
import { RSS_CEILING_MIB } from "./harness/drain.ts";
import { scaled } from "./harness/env.ts";
import { waitForDrain, writeFlussoConfig } from "./harness/flusso_process.ts";
import { benchDatabase, createPgoutputSlot } from "./harness/postgres.ts";
import { canRunFlusso, pendingRow, startLive } from "./harness/scenario.ts";
import { startBenchSink } from "./harness/sink.ts";
import { ceilingVerdict, formatMiB, formatRate, formatRatio } from "./harness/stats.ts";
import type { Benchmark, BenchRow } from "./harness/suite.ts";
import {
  itemsSchemaYaml,
  itemsSetupSql,
  loadItemsSingleTransaction,
  seedItems,
} from "./harness/workloads.ts";

/** `memory`: figure 5, the single-large-transaction scenario. */
export const memoryBenchmark: Benchmark = {
  name: "memory",
  async run(): Promise<BenchRow[]> {
    const rows = scaled(1_000_000, 1000);
    const figure = `5. peak RSS, one ${rows.toLocaleString("en-US")}-row transaction`;
    const drainFigure = `5. drain of that transaction`;
    const target = `≤ ${RSS_CEILING_MIB} MiB`;
    const db = await benchDatabase("memory", itemsSetupSql());
    const slot = `${db.name}_slot`;
    const anchorSlot = `${db.name}_anchor`;
    const publication = `${db.name}_pub`;
    const sink = canRunFlusso() ? await startBenchSink() : undefined;
    const config = sink
      ? await writeFlussoConfig({
        slot,
        publication,
        prefix: `${db.name}_`,
        indexes: { items: itemsSchemaYaml },
      })
      : undefined;
    try {
      await seedItems(db.binDir, db.url, scaled(10_000, 100));
      await db.sql.unsafe(`CREATE PUBLICATION "${publication}" FOR TABLE items`);
      const live = sink && config
        ? await startLive({
          config,
          databaseUrl: db.url,
          sinkUrl: sink.url,
          sql: db.sql,
          indexes: ["items"],
        })
        : undefined;
      await createPgoutputSlot(db.sql, anchorSlot);
      const endLsn = await loadItemsSingleTransaction(db.binDir, db.url, rows);
      const committedAt = performance.now();
      let flussoSeconds = Number.NaN;
      let internalSeconds = Number.NaN;
      let peak = Number.NaN;
      if (live) {
        const done = await waitForDrain(live.flusso, db.sql, config!, endLsn, { intervalMs: 20 });
        flussoSeconds = (done.slotAt - committedAt) / 1000;
        internalSeconds = ((done.internalAt ?? done.slotAt) - committedAt) / 1000;
        peak = (await live.flusso.stop()).peakRssBytes;
      }
      const anchor = await drainWithRecvlogical({
        binDir: db.binDir,
        url: db.url,
        slot: anchorSlot,
        publication,
        endLsn,
      });
      const anchorRss = `${formatMiB(anchor.peakRssBytes)} (pg_recvlogical)`;
      const anchorRate = `${formatRate(rows / anchor.seconds)} (pg_recvlogical)`;
      if (!live) {
        return [pendingRow(figure, anchorRss, target), pendingRow(drainFigure, anchorRate, "-")];
      }
      const memory = ceilingVerdict(peak / 2 ** 20, RSS_CEILING_MIB, "MiB");
      return [
        {
          figure,
          flusso: formatMiB(peak),
          anchor: anchorRss,
          ratio: "-",
          target: memory.note,
          verdict: memory.verdict,
        },
        {
          figure: drainFigure,
          flusso: `${formatRate(rows / flussoSeconds)} (own confirm ${
            formatRate(rows / internalSeconds)
          })`,
          anchor: anchorRate,
          ratio: formatRatio(anchor.seconds / flussoSeconds),
          target: "-",
          verdict: "info",
        },
      ];
    } finally {
      await sink?.stop();
      config?.remove();
      await db.drop();
    }
  },
};
