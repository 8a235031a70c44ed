import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EngineEvent } from "../../src/engine/observer.ts";
import {
  createStatusModel,
  initialStatus,
  isReady,
  reduceStatus,
  renderStatus,
  statusPhase,
} from "../../src/ops/status_model.ts";

const T0 = new Date("2026-11-28T10:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function run(events: EngineEvent[]) {
  return events.reduce((s, e, i) => reduceStatus(s, e, at(i + 1)), initialStatus(T0));
}

const startup: EngineEvent[] = [
  { type: "phase", phase: "starting" },
  {
    type: "indexes_ensured",
    indexes: [
      { index: "users", generation: 1, seeded: false },
      { index: "orders", generation: 3, seeded: true },
    ],
  },
  { type: "live_started", startLsn: 0x16B374D848n, slotCreated: true },
  { type: "phase", phase: "streaming" },
  { type: "backfill_started", index: "users", estimatedRows: 1000, resumed: false },
  { type: "backfill_progress", index: "users", rowsDone: 250, estimatedRows: 1000 },
];

describe("ops status model", () => {
  it("is_not_ready_while_starting", () => {
    const s = run(startup.slice(0, 3));
    assert.equal(statusPhase(s), "starting");
    assert.equal(isReady(s), false);
  });

  it("is_ready_and_backfilling_while_an_index_backfills", () => {
    const s = run(startup);
    assert.equal(statusPhase(s), "backfilling");
    assert.equal(isReady(s), true);
    const doc = renderStatus(s, at(10));
    const users = doc.indexes.find((i) => i.name === "users")!;
    assert.equal(users.state, "backfilling");
    assert.equal(users.backfill?.rowsDone, 250);
    assert.equal(users.backfill?.percent, 25);
    assert.equal(doc.indexes.find((i) => i.name === "orders")!.state, "live");
    assert.equal(doc.startLsn, "16/B374D848");
  });

  it("turns_live_when_every_backfill_finished", () => {
    const s = run([...startup, {
      type: "backfill_finished",
      index: "users",
      rows: 990,
      durationMs: 4000,
    }]);
    assert.equal(statusPhase(s), "live");
    const users = renderStatus(s, at(10)).indexes.find((i) => i.name === "users")!;
    assert.equal(users.state, "live");
    assert.equal(users.seeded, true);
    assert.equal(users.backfill?.percent, 100);
    assert.equal(users.backfill?.rowsDone, 990);
    assert.equal(users.generation, 1);
  });

  it("counts_batches_documents_and_remembers_last_flush_and_lsn", () => {
    const s = run([
      ...startup,
      { type: "changes_captured", count: 3, bytes: 300 },
      { type: "queue", depth: 2, bytes: 200, capacity: 100, capacityBytes: 1000 },
      {
        type: "batch_committed",
        changes: 3,
        transactions: 1,
        documents: { users: 2, orders: 1 },
        upserts: 2,
        deletes: 1,
        quarantined: 0,
        resolveMs: 1,
        buildMs: 2,
        flushMs: 3,
        latencyMs: 12,
        confirmedLsn: 0x100n,
        caughtUp: true,
        batchLimit: 500,
      },
    ]);
    const doc = renderStatus(s, at(20));
    assert.equal(doc.counters.changesCaptured, 3);
    assert.equal(doc.counters.changesCommitted, 3);
    assert.equal(doc.counters.batches, 1);
    assert.equal(doc.counters.documents, 3);
    assert.equal(doc.indexes.find((i) => i.name === "users")!.documents, 2);
    assert.equal(doc.lastFlushAt, at(9).toISOString());
    assert.equal(doc.confirmedLsn, "0/100");
    assert.equal(doc.lastLatencyMs, 12);
    assert.deepEqual(doc.queue, { depth: 2, bytes: 200, capacity: 100, capacityBytes: 1000 });
    assert.equal(doc.batchLimit, 500);
    assert.equal(doc.uptimeSeconds, 20);
  });

  it("marks_a_reindexed_index_and_serves_the_next_generation_after_its_backfill", () => {
    const s1 = run([...startup, { type: "reindex_started", index: "orders", reason: "truncate" }]);
    assert.equal(
      renderStatus(s1, at(9)).indexes.find((i) => i.name === "orders")!.state,
      "reindexing",
    );
    const s2 = run([
      ...startup,
      { type: "reindex_started", index: "orders", reason: "truncate" },
      { type: "backfill_started", index: "orders", estimatedRows: 10, resumed: false },
      { type: "backfill_finished", index: "orders", rows: 10, durationMs: 10 },
    ]);
    const orders = renderStatus(s2, at(12)).indexes.find((i) => i.name === "orders")!;
    assert.equal(orders.state, "live");
    assert.equal(orders.generation, 4);
  });

  it("keeps_the_last_error_redacted_and_counts_quarantines_per_index", () => {
    const error = new Error("connect postgres://flusso:hunter2@db/app refused");
    error.name = "TransientSourceError";
    const s = run([
      ...startup,
      {
        type: "transient_error",
        component: "source",
        operation: "source.open",
        error,
        attempt: 2,
        retryInMs: 400,
      },
      {
        type: "document_quarantined",
        index: "users",
        id: "7",
        errorType: "mapper_parsing_exception",
        reason: "x",
        lsn: 1n,
      },
    ]);
    const doc = renderStatus(s, at(10));
    assert.equal(doc.lastError?.kind, "transient");
    assert.equal(doc.lastError?.component, "source");
    assert.ok(!JSON.stringify(doc).includes("hunter2"));
    assert.equal(doc.counters.quarantined, 1);
    assert.equal(doc.counters.transientErrors, 1);
    assert.equal(doc.indexes.find((i) => i.name === "users")!.quarantined, 1);
  });

  it("reports_failed_and_not_ready_after_a_fatal_error", () => {
    const s = run([...startup, { type: "fatal_error", error: new Error("slot lost") }, {
      type: "phase",
      phase: "failed",
    }]);
    assert.equal(statusPhase(s), "failed");
    assert.equal(isReady(s), false);
    assert.equal(renderStatus(s, at(10)).lastError?.kind, "fatal");
  });

  it("shows_slot_lag_and_schedules_in_the_document", () => {
    let now = T0;
    const model = createStatusModel(() => now);
    for (const e of startup) model.emit(e);
    model.recordSlot({
      exists: true,
      active: true,
      lagBytes: 4096,
      walStatus: "reserved",
      safeWalSize: null,
      confirmedFlushLsn: 0x10n,
      sampledAt: T0,
    });
    now = at(5);
    const doc = model.document({
      version: "1.2.3",
      schedules: [{
        index: "users",
        task: "verify",
        cron: "0 * * * *",
        nextRun: "x",
        running: false,
        runs: 0,
        skipped: 0,
      }],
    });
    assert.equal(doc.slot?.lagBytes, 4096);
    assert.equal(doc.slot?.walStatus, "reserved");
    assert.equal(doc.slot?.confirmedFlushLsn, "0/10");
    assert.equal(doc.version, "1.2.3");
    assert.deepEqual(doc.indexes.find((i) => i.name === "users")!.schedules, [
      { task: "verify", cron: "0 * * * *", nextRun: "x", running: false, runs: 0, skipped: 0 },
    ]);
    assert.equal(model.isReady(), true);
    assert.doesNotThrow(() => JSON.stringify(doc));
  });
});
