/**
 * The drain measurement figures 1 and 2 share: a seeded, live flusso is stopped; a backlog is
 * committed into its slot (and into an anchor slot created at the same point); pg_recvlogical
 * drains the anchor slot to /dev/null; then flusso is started and timed from spawn until its
 * slot's confirmed_flush_lsn reaches the backlog's end.
 */
import { drainWithRecvlogical } from "./anchor_recvlogical.ts";
import { startFlusso, waitForDrain, writeFlussoConfig } from "./flusso_process.ts";
import { type BenchDatabase, benchDatabase, createPgoutputSlot, dropSlot } from "./postgres.ts";
import { canRunFlusso, pendingRow, sinkCpuRow, startLive } from "./scenario.ts";
import { startBenchSink } from "./sink.ts";
import { ceilingVerdict, formatMiB, formatRate, formatRatio, ratioVerdict } from "./stats.ts";
import type { BenchRow } from "./suite.ts";

/** Peak RSS ceiling of every scenario (figure 5), MiB. */
export const RSS_CEILING_MIB = 200;

/** One drain scenario. */
export interface DrainScenario {
  /** Database label and row prefix, e.g. "live_drain". */
  readonly label: string;
  /** Figure text, e.g. "1. live drain, items (200,000 changes)". */
  readonly figure: string;
  /** The row label of its figure-5 memory row and figure-7 CPU row. */
  readonly short: string;
  readonly setupSql: string;
  /** Tables of the publication (flusso and the anchor read the same one). */
  readonly tables: readonly string[];
  /** Index name → schema file text. */
  readonly indexes: Readonly<Record<string, string>>;
  /** Seeds the database before the first (seeding) flusso run. */
  seed(db: BenchDatabase): Promise<void>;
  /** Commits the backlog; returns the WAL position after its last commit. */
  loadBacklog(db: BenchDatabase): Promise<bigint>;
  /** Changes in the backlog. */
  readonly changes: number;
  /** Throughput floor as a fraction of the anchor. */
  readonly floor: number;
}

/** Runs one drain scenario and returns its rows. */
export async function measureDrain(s: DrainScenario): Promise<BenchRow[]> {
  const target = `≥ ${s.floor}× anchor`;
  const db = await benchDatabase(s.label, s.setupSql);
  const slot = `${db.name}_slot`;
  const anchorSlot = `${db.name}_anchor`;
  const publication = `${db.name}_pub`;
  const sink = canRunFlusso() ? await startBenchSink() : undefined;
  const config = sink
    ? await writeFlussoConfig({ slot, publication, prefix: `${db.name}_`, indexes: s.indexes })
    : undefined;
  try {
    await s.seed(db);
    await db.sql.unsafe(
      `CREATE PUBLICATION "${publication}" FOR TABLE ${s.tables.map((t) => `"${t}"`).join(", ")}`,
    );
    if (sink && config) {
      // First run: slot, backfill, live; then stopped so the backlog accumulates in the slot.
      const { flusso } = await startLive({
        config,
        databaseUrl: db.url,
        sinkUrl: sink.url,
        sql: db.sql,
        indexes: Object.keys(s.indexes),
      });
      await flusso.stop();
    }
    await createPgoutputSlot(db.sql, anchorSlot);
    const endLsn = await s.loadBacklog(db);

    const anchor = await drainWithRecvlogical({
      binDir: db.binDir,
      url: db.url,
      slot: anchorSlot,
      publication,
      endLsn,
    });
    await dropSlot(db.sql, anchorSlot);
    const anchorRate = s.changes / anchor.seconds;
    const anchorText = `${formatRate(anchorRate)} (pg_recvlogical)`;
    const anchorRss = `${formatMiB(anchor.peakRssBytes)} (pg_recvlogical)`;
    const rssFigure = `5. peak RSS, ${s.short}`;
    if (!sink || !config) {
      return [
        pendingRow(s.figure, anchorText, target),
        pendingRow(rssFigure, anchorRss, `≤ ${RSS_CEILING_MIB} MiB`),
      ];
    }

    const cpuBefore = sink.cpuMs();
    const flusso = startFlusso({ config, databaseUrl: db.url, sinkUrl: sink.url });
    // 50 ms: finer polling cost flusso measurable CPU answering /status (≈ 6 % at 10 ms).
    const done = await waitForDrain(flusso, db.sql, config, endLsn, { intervalMs: 50 });
    const seconds = (done.slotAt - flusso.startedAt) / 1000;
    const internalSeconds = ((done.internalAt ?? done.slotAt) - flusso.startedAt) / 1000;
    const cpuAfter = sink.cpuMs();
    const stats = await flusso.stop();
    const rate = s.changes / seconds;
    const ratio = rate / anchorRate;
    const throughput = ratioVerdict(ratio, s.floor);
    const memory = ceilingVerdict(stats.peakRssBytes / 2 ** 20, RSS_CEILING_MIB, "MiB");
    return [
      {
        figure: s.figure,
        flusso: `${formatRate(rate)} (own confirm ${formatRate(s.changes / internalSeconds)}, CPU ${
          (stats.cpuMs / 1000).toFixed(1)
        } s)`,
        anchor: anchorText,
        ratio: formatRatio(ratio),
        target: throughput.note,
        verdict: throughput.verdict,
      },
      {
        figure: rssFigure,
        flusso: formatMiB(stats.peakRssBytes),
        anchor: anchorRss,
        ratio: "-",
        target: memory.note,
        verdict: memory.verdict,
      },
      sinkCpuRow(
        `7. emulator CPU, ${s.short}`,
        cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
        seconds,
      ),
    ];
  } finally {
    await sink?.stop();
    config?.remove();
    await db.drop();
  }
}
