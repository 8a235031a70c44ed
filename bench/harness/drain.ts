/**
 * The drain measurement figures 1 and 2 share: a seeded, live flusso is stopped; a backlog is
 * committed into its slot (and into an anchor slot created at the same point); pg_recvlogical
 * drains the anchor slot to /dev/null; then flusso is started and timed from spawn until its
 * slot's confirmed_flush_lsn reaches the backlog's end, and stopped again. A scenario may repeat
 * that in rounds (a new backlog each), and then shows the round with the median ratio.
 */
import { drainWithRecvlogical } from "./anchor_recvlogical.ts";
import { startFlusso, waitForDrain, writeFlussoConfig } from "./flusso_process.ts";
import { parseLsn } from "./lsn.ts";
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
  /**
   * Commits round `round`'s backlog (0, 1, …; each the same number of changes); returns the WAL
   * position after its last commit.
   */
  loadBacklog(db: BenchDatabase, round: number): Promise<bigint>;
  /**
   * Anchor/flusso rounds (default 1): the figure is the round with the median ratio (the lower
   * middle one of an even count), every round's ratio printed beside it; the peak RSS row is
   * the highest of the rounds.
   */
  readonly rounds?: number;
  /** Changes in the backlog. */
  readonly changes: number;
  /** Throughput floor as a fraction of the anchor. */
  readonly floor: number;
}

/** One round of a drain scenario: the anchor's drain and flusso's of the same backlog. */
interface DrainRound {
  readonly anchorRate: number;
  readonly anchorRssBytes: number;
  /** Changes per second until the slot confirmed the backlog's end. */
  readonly rate: number;
  /** Changes per second until flusso's own `/status` confirmed it. */
  readonly internalRate: number;
  readonly ratio: number;
  readonly seconds: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
  readonly sinkCpuMs: number | undefined;
}

/**
 * Lets flusso's slot forget a drained backlog before the next round, as it would on its own
 * within the next snapshot record (the background writer logs one every 15 s) — a round whose
 * slot still had to decode the previous backlog again would pay for it, and the first round,
 * whose slot starts just before its backlog, would not. A checkpoint logs that record now;
 * once flusso confirms past it, Postgres moves the slot's `restart_lsn` up. Waits up to 10 s
 * (then the round pays, and stderr says so).
 */
async function settleSlot(sql: BenchDatabase["sql"], slot: string, endLsn: bigint): Promise<void> {
  await sql.unsafe("CHECKPOINT");
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const rows = await sql<{ restart: string | null }[]>`
      SELECT restart_lsn::text AS restart FROM pg_replication_slots WHERE slot_name = ${slot}`;
    const restart = rows[0]?.restart;
    if (restart && parseLsn(restart) >= endLsn) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.error(`${slot}: restart_lsn did not pass the drained backlog within 10 s`);
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
    const rounds = Math.max(1, s.rounds ?? 1);
    const measured: DrainRound[] = [];
    const anchorSource = { binDir: db.binDir, url: db.url, slot: anchorSlot, publication };
    for (let round = 0; round < rounds; round++) {
      await createPgoutputSlot(db.sql, anchorSlot);
      const endLsn = await s.loadBacklog(db, round);
      const anchor = await drainWithRecvlogical({ ...anchorSource, endLsn });
      await dropSlot(db.sql, anchorSlot);
      const anchorRate = s.changes / anchor.seconds;
      if (!sink || !config) {
        return [
          pendingRow(s.figure, `${formatRate(anchorRate)} (pg_recvlogical)`, target),
          pendingRow(
            `5. peak RSS, ${s.short}`,
            `${formatMiB(anchor.peakRssBytes)} (pg_recvlogical)`,
            `≤ ${RSS_CEILING_MIB} MiB`,
          ),
        ];
      }
      const cpuBefore = sink.cpuMs();
      const flusso = startFlusso({ config, databaseUrl: db.url, sinkUrl: sink.url });
      let done: Awaited<ReturnType<typeof waitForDrain>>;
      let cpuAfter: number | undefined;
      let stats: ReturnType<typeof flusso.measured.stats>;
      try {
        // 50 ms: finer polling cost flusso measurable CPU answering /status (≈ 6 % at 10 ms).
        done = await waitForDrain(flusso, db.sql, config, endLsn, { intervalMs: 50 });
        cpuAfter = sink.cpuMs();
        stats = flusso.measured.stats();
        if (round < rounds - 1) await settleSlot(db.sql, slot, endLsn);
      } finally {
        await flusso.stop(); // also when the drain failed or timed out: no flusso left running
      }
      const seconds = (done.slotAt - flusso.startedAt) / 1000;
      const internalSeconds = ((done.internalAt ?? done.slotAt) - flusso.startedAt) / 1000;
      const rate = s.changes / seconds;
      const result: DrainRound = {
        anchorRate,
        anchorRssBytes: anchor.peakRssBytes,
        rate,
        internalRate: s.changes / internalSeconds,
        ratio: rate / anchorRate,
        seconds,
        cpuMs: stats.cpuMs,
        peakRssBytes: stats.peakRssBytes,
        sinkCpuMs: cpuBefore === undefined || cpuAfter === undefined
          ? undefined
          : cpuAfter - cpuBefore,
      };
      measured.push(result);
      if (rounds > 1) {
        // Progress on stderr (the table is printed at the end): each round as it is measured.
        console.error(
          `${s.short}, round ${round + 1}: anchor ${formatRate(anchorRate)}, flusso ${
            formatRate(rate)
          } (CPU ${(stats.cpuMs / 1000).toFixed(2)} s), ${formatRatio(result.ratio)}`,
        );
      }
    }
    const byRatio = [...measured].sort((x, y) => x.ratio - y.ratio);
    const chosen = byRatio[Math.floor((byRatio.length - 1) / 2)];
    const peakRssBytes = Math.max(...measured.map((r) => r.peakRssBytes));
    const anchorRssBytes = Math.max(...measured.map((r) => r.anchorRssBytes));
    const throughput = ratioVerdict(chosen.ratio, s.floor);
    const memory = ceilingVerdict(peakRssBytes / 2 ** 20, RSS_CEILING_MIB, "MiB");
    const spread = measured.length > 1
      ? `; median of ${measured.length} rounds: ${
        measured.map((r) => formatRatio(r.ratio)).join(" ")
      }`
      : "";
    return [
      {
        figure: s.figure,
        flusso: `${formatRate(chosen.rate)} (own confirm ${formatRate(chosen.internalRate)}, CPU ${
          (chosen.cpuMs / 1000).toFixed(1)
        } s${spread})`,
        anchor: `${formatRate(chosen.anchorRate)} (pg_recvlogical)`,
        ratio: formatRatio(chosen.ratio),
        target: throughput.note,
        verdict: throughput.verdict,
      },
      {
        figure: `5. peak RSS, ${s.short}${
          measured.length > 1 ? ` (highest of ${measured.length} rounds)` : ""
        }`,
        flusso: formatMiB(peakRssBytes),
        anchor: `${formatMiB(anchorRssBytes)} (pg_recvlogical)`,
        ratio: "-",
        target: memory.note,
        verdict: memory.verdict,
      },
      sinkCpuRow(`7. emulator CPU, ${s.short}`, chosen.sinkCpuMs, chosen.seconds),
    ];
  } finally {
    await sink?.stop();
    config?.remove();
    await db.drop();
  }
}
