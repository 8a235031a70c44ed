/**
 * Figure 1 — live drain throughput (and figure 5's live-drain peak RSS). A backlog of ~200k
 * changes (50% inserts, 35% updates, 15% deletes, 100 per transaction) on the 10-column
 * `items` table is committed while flusso is stopped; then the time from starting flusso to
 * its slot's confirmed_flush_lsn reaching the backlog's end. Anchor: pg_recvlogical draining
 * the same backlog (same publication) to /dev/null. Three rounds, each a backlog of its own
 * (`FLUSSO_BENCH_DRAIN_ROUNDS`); the row is the round with the median ratio. See
 * harness/drain.ts.
 */
import { envNumber, scaled } from "./harness/env.ts";
import { measureDrain } from "./harness/drain.ts";
import type { Benchmark } from "./harness/suite.ts";
import {
  itemsSchemaYaml,
  itemsSetupSql,
  loadItemsBacklog,
  planItemsBacklog,
  seedItems,
} from "./harness/workloads.ts";

/** `live_drain`: figure 1 (+ its rows of figures 5 and 7). */
export const liveDrainBenchmark: Benchmark = {
  name: "live_drain",
  run() {
    const plan = planItemsBacklog(
      scaled(200_000, 1000),
      envNumber("FLUSSO_BENCH_TXN_CHANGES", 100),
    );
    // One anchor/flusso pair swings by ±10 % with the VM, like the backfill's (figure 3).
    const rounds = Math.max(1, Math.round(envNumber("FLUSSO_BENCH_DRAIN_ROUNDS", 3)));
    return measureDrain({
      label: "live_drain",
      figure: `1. live drain, items (${plan.changes.toLocaleString("en-US")} changes)`,
      short: "live drain",
      setupSql: itemsSetupSql(),
      tables: ["items"],
      indexes: { items: itemsSchemaYaml },
      seed: (db) => seedItems(db.binDir, db.url, plan.existingRows * rounds),
      loadBacklog: (db, round) => loadItemsBacklog(db.binDir, db.url, plan, round),
      rounds,
      changes: plan.changes,
      floor: 0.5,
    });
  },
};
