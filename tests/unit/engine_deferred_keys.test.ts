/**
 * A large transaction arrives as many batches; the documents it touches are built once, with
 * the batch holding its commit, not once per slice — and still every document is written and
 * the commit confirmed only after that write.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runEngine } from "../../src/engine/engine.ts";
import type { EngineOptions } from "../../src/engine/options.ts";
import { createDeferredKeys, holdBound, mergeKeys } from "../../src/engine/deferred_keys.ts";
import type { Change } from "../../src/engine/change.ts";
import {
  change,
  fastClock,
  memoryBuilder,
  memoryRows,
  memorySink,
  memorySource,
  recordingObserver,
  setRow,
} from "../support/memory_ports.ts";

const options: EngineOptions = {
  pipeline: {
    queueCapacity: 10_000,
    queueBytes: 1 << 24,
    maxChanges: 100,
    maxDelayMs: 60_000,
    maxBatchBytes: 1 << 24,
  },
  onError: "stop",
  indexes: [{
    name: "users",
    enabled: true,
    definition: { index: "users", body: {}, schemaHash: "h" },
  }],
  backoff: { initialMs: 1, maxMs: 4 },
};

/** One transaction of `changes` order rows spread over `users` users (routed to users). */
function largeTransaction(users: number, changes: number, lsn: bigint) {
  const rows = memoryRows("users");
  for (let u = 0; u < users; u++) setRow(rows, "users", String(u), { name: `user ${u}` });
  const source = memorySource();
  const list: Change[] = [];
  for (let i = 0; i < changes; i++) {
    list.push(change("orders", String(i % users), lsn, { column: "user_id", op: "insert" }));
  }
  source.commit(lsn, list);
  const builder = memoryBuilder(rows, {
    routes: { orders: { index: "users", column: "user_id" } },
  });
  const sink = memorySink({ indexes: { users: { seeded: true } } });
  return { rows, source, builder, sink };
}

describe("deferred keys", () => {
  it("merges_carried_keys_first_without_duplicates_at_the_higher_lsns", () => {
    const early = new Date(1000);
    const carried = mergeKeys(
      undefined,
      {
        keys: new Map([["a", [["1"], ["2"]]]]),
        version: 5n,
        confirmLsn: 6n,
        firstCommitTime: early,
      },
      100,
    );
    const merged = mergeKeys(carried, {
      keys: new Map([["a", [["2"], ["3"]]], ["b", [["1"]]]]),
      version: 9n,
      confirmLsn: 10n,
      firstCommitTime: new Date(2000),
    }, 250);
    assert.deepEqual([...merged.keys.get("a")!], [["1"], ["2"], ["3"]]);
    assert.deepEqual([...merged.keys.get("b")!], [["1"]]);
    assert.equal(merged.count, 4);
    assert.equal(merged.version, 9n);
    assert.equal(merged.confirmLsn, 10n);
    assert.equal(merged.firstCommitTime, early);
    assert.equal(merged.openedAt, 100, "a window is as old as its first batch");
    const quiet = mergeKeys(merged, { keys: new Map() }, 300);
    assert.equal(quiet.version, 9n);
    assert.equal(quiet.confirmLsn, 10n);
  });

  it("keeps_a_key_gone_only_while_no_later_batch_touches_it_again", () => {
    const carry = createDeferredKeys({ sliceKeys: 100, windowKeys: 0, windowMs: 0 });
    const slice = { changes: 5, transactions: 0, backlog: true };
    const batch = (keys: string[], gone: string[]) => ({
      keys: new Map([["a", keys.map((k) => [k])]]),
      gone: new Map([["a", gone.map((k) => [k])]]),
    });
    // 1 and 2 deleted; a later slice recreates 1 and deletes 3; the last one touches 2 again
    // and deletes it once more, and deletes 4 for good.
    assert.equal(carry.hold(carry.take(batch(["1", "2"], ["1", "2"]), 0), slice, 0), true);
    assert.equal(carry.hold(carry.take(batch(["1", "3"], ["3"]), 0), slice, 0), true);
    const merged = carry.take(batch(["2", "4", "5"], ["2", "4"]), 0);
    assert.deepEqual([...merged.gone!.get("a")!].sort(), ["2", "3", "4"]);
    // Through mergeKeys too (the carried batch is already in identity form).
    const once = mergeKeys(undefined, batch(["1", "2"], ["1", "2"]), 0);
    const twice = mergeKeys(once, batch(["1"], []), 0);
    assert.deepEqual([...twice.gone!.get("a")!], ["2"]);
  });

  it("tells_composite_keys_apart_from_single_keys_that_look_alike", () => {
    const merged = mergeKeys(undefined, {
      keys: new Map([["a", [["1", "2"], ["1", "2"], ["12"]]], ["b", [['["1","2"]'], ["x"]]]]),
    }, 0);
    assert.deepEqual(merged.keys.get("a"), [["1", "2"], ["12"]]);
    assert.equal(merged.count, 4);
  });

  it("carries_at_most_its_bound_and_empties_on_take", () => {
    const carry = createDeferredKeys({ sliceKeys: 2, windowKeys: 0, windowMs: 0 });
    const slice = { changes: 5, transactions: 0, backlog: true };
    const keys = (...ids: string[]) => ({ keys: new Map([["a", ids.map((id) => [id])]]) });
    assert.equal(carry.hold(carry.take(keys("1", "2", "3"), 0), slice, 0), false);
    assert.equal(carry.size, 0);
    assert.equal(carry.hold(carry.take(keys("1", "2"), 0), slice, 0), true);
    assert.equal(carry.size, 2);
    const next = carry.take(keys("3"), 0);
    assert.equal(next.count, 3);
    assert.equal(carry.size, 0);
  });

  it("holds_committed_batches_only_behind_a_backlog_within_the_window", () => {
    const options = { sliceKeys: 10, windowKeys: 100, windowMs: 2000 };
    const merged = mergeKeys(undefined, { keys: new Map([["a", [["1"]]]]) }, 1000);
    const committed = { changes: 5, transactions: 3, backlog: true };
    assert.equal(holdBound(options, merged, committed, 1000), 100);
    assert.equal(holdBound(options, merged, committed, 2999), 100);
    assert.equal(holdBound(options, merged, committed, 3000), 0, "the window closed");
    assert.equal(holdBound(options, merged, { ...committed, backlog: false }, 1000), 0);
    assert.equal(
      holdBound(options, merged, { changes: 5, transactions: 0, backlog: false }, 9999),
      10,
    );
    assert.equal(holdBound({ ...options, windowKeys: 0 }, merged, committed, 1000), 0);
    const empty = { changes: 0, transactions: 0, backlog: false };
    assert.equal(holdBound(options, merged, empty, 1000), 0, "an empty batch builds the carry");
  });

  it("builds_each_document_of_a_transaction_spanning_batches_once", async () => {
    // 1000 changes over 10 users, max_changes 100: ten batches, one commit.
    const h = largeTransaction(10, 1000, 500n);
    const observer = recordingObserver();
    const result = await runEngine(
      { source: h.source, builder: h.builder, sink: h.sink, observer, clock: fastClock() },
      options,
      new AbortController().signal,
    );
    assert.equal(result.reason, "source_ended");
    const held = observer.of("batch_held");
    assert.ok(held.length >= 9, "the transaction spanned batches, all but its last held");
    // Held slices are counted once, by the batch that writes their keys.
    const committed = observer.of("batch_committed");
    assert.equal(committed.reduce((n, b) => n + b.changes, 0), 1000);
    assert.equal(committed.reduce((n, b) => n + b.transactions, 0), 1);
    assert.equal(h.builder.built.length, 10, `built: ${h.builder.built.length}`);
    assert.equal(h.sink.documents("users").size, 10);
    assert.deepEqual(h.source.confirms, [500n]);
    // Every write of the transaction carries its commit LSN (the highest of its changes).
    for (const { writes } of h.sink.writes) for (const w of writes) assert.equal(w.version, 500n);
  });

  it("still_writes_every_document_when_a_transaction_touches_more_than_the_bound", async () => {
    // max_changes = 100 keys may be carried from commit-less slices; this one touches 900.
    const h = largeTransaction(900, 900, 700n);
    await runEngine(
      { source: h.source, builder: h.builder, sink: h.sink, clock: fastClock() },
      options,
      new AbortController().signal,
    );
    assert.equal(h.sink.documents("users").size, 900);
    assert.deepEqual(h.source.confirms, [700n]);
    assert.ok(h.builder.built.length <= 900 + 400, `built: ${h.builder.built.length}`);
  });
});
