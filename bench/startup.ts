/**
 * Figure 6 — startup. (a) `flusso --help` wall time, median of 20 runs of the compiled binary;
 * anchor: spawning /bin/true, the floor any process pays. (b) start to live on an
 * already-seeded config: a one-row change is committed while flusso is stopped, then the time
 * from spawning flusso until its slot confirms that change (connected, streaming, the
 * document written and acknowledged); median of 5. Anchor: pg_recvlogical from spawn until
 * it has received the same change (`--endpos`).
 */
import { spawnSync } from "node:child_process";
import { drainWithRecvlogical } from "./harness/anchor_recvlogical.ts";
import { envNumber, flussoBinary, flussoBinaryExists, scaled } from "./harness/env.ts";
import { startFlusso, waitForDrain, writeFlussoConfig } from "./harness/flusso_process.ts";
import { benchDatabase, createPgoutputSlot, walInsertLsn } from "./harness/postgres.ts";
import { canRunFlusso, pendingRow, startLive } from "./harness/scenario.ts";
import { startBenchSink } from "./harness/sink.ts";
import { ceilingVerdict, formatMs, formatRatio, median } from "./harness/stats.ts";
import type { Benchmark, BenchRow } from "./harness/suite.ts";
import { itemsSchemaYaml, itemsSetupSql, seedItems } from "./harness/workloads.ts";

/** Wall time of one synchronous run, in ms. */
function timeRun(command: string, args: string[]): number {
  const start = performance.now();
  const result = spawnSync(command, args, { stdio: "ignore" });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}`);
  return ms;
}

function helpRow(): BenchRow {
  const figure = "6a. `flusso --help`, median of 20";
  if (!flussoBinaryExists()) {
    return {
      figure,
      flusso: "missing: make build",
      anchor: "-",
      ratio: "-",
      target: "≤ 50 ms",
      verdict: "missed",
    };
  }
  const runs = envNumber("FLUSSO_BENCH_HELP_RUNS", 20);
  timeRun(flussoBinary(), ["--help"]); // page the binary in once
  const help: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    help.push(timeRun(flussoBinary(), ["--help"]));
    floor.push(timeRun("/bin/true", []));
  }
  const verdict = ceilingVerdict(median(help), 50, "ms");
  return {
    figure,
    flusso: formatMs(median(help)),
    anchor: `${formatMs(median(floor))} (/bin/true)`,
    ratio: "-",
    target: verdict.note,
    verdict: verdict.verdict,
  };
}

async function liveRow(): Promise<BenchRow> {
  const figure = "6b. start to live, seeded config, median of 5";
  const target = "≤ 1000 ms";
  const runs = envNumber("FLUSSO_BENCH_START_RUNS", 5);
  const db = await benchDatabase("startup", itemsSetupSql());
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
    await createPgoutputSlot(db.sql, anchorSlot);
    if (sink && config) {
      const { flusso } = await startLive({
        config,
        databaseUrl: db.url,
        sinkUrl: sink.url,
        sql: db.sql,
        indexes: ["items"],
      });
      await flusso.stop();
    }
    const anchor: number[] = [];
    const times: number[] = [];
    const internal: number[] = [];
    for (let i = 0; i < runs; i++) {
      await db.sql`UPDATE items SET quantity = quantity + 1 WHERE id = ${1 + i}`;
      const lsn = await walInsertLsn(db.sql);
      anchor.push(
        (await drainWithRecvlogical({
          binDir: db.binDir,
          url: db.url,
          slot: anchorSlot,
          publication,
          endLsn: lsn,
        }))
          .seconds * 1000,
      );
      if (sink && config) {
        const flusso = startFlusso({ config, databaseUrl: db.url, sinkUrl: sink.url });
        const done = await waitForDrain(flusso, db.sql, config, lsn, {
          intervalMs: 5,
          timeoutMs: 60_000,
        });
        times.push(done.slotAt - flusso.startedAt);
        internal.push((done.internalAt ?? done.slotAt) - flusso.startedAt);
        await flusso.stop();
      }
    }
    const anchorText = `${formatMs(median(anchor))} (pg_recvlogical)`;
    if (!sink) return pendingRow(figure, anchorText, target);
    const verdict = ceilingVerdict(median(times), 1000, "ms");
    return {
      figure,
      flusso: `${formatMs(median(times))} (own confirm ${formatMs(median(internal))})`,
      anchor: anchorText,
      ratio: formatRatio(median(times) / median(anchor)),
      target: verdict.note,
      verdict: verdict.verdict,
    };
  } finally {
    await sink?.stop();
    config?.remove();
    await db.drop();
  }
}

/** `startup`: figure 6. */
export const startupBenchmark: Benchmark = {
  name: "startup",
  async run(): Promise<BenchRow[]> {
    return [helpRow(), await liveRow()];
  },
};
