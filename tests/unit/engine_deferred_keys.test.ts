/**
 * A large transaction arrives as many batches; the documents it touches are built once, with
 * the batch holding its commit, not once per slice — and still every document is written and
 * the commit confirmed only after that write.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runEngine } from "../../src/engine/engine.ts";
import type { EngineOptions } from "../../src/engine/options.ts";
import { createDeferredKeys, mergeKeys } from "../../src/engine/deferred_keys.ts";
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
  it("merges_carried_keys_first_without_duplicates_at_the_higher_version", () => {
    const carried = mergeKeys(undefined, new Map([["a", [["1"], ["2"]]]]), 5n);
    const merged = mergeKeys(carried, new Map([["a", [["2"], ["3"]]], ["b", [["1"]]]]), 9n);
    assert.deepEqual([...merged.keys.get("a")!], [["1"], ["2"], ["3"]]);
    assert.deepEqual([...merged.keys.get("b")!], [["1"]]);
    assert.equal(merged.count, 4);
    assert.equal(merged.version, 9n);
    assert.equal(mergeKeys(merged, new Map(), undefined).version, 9n);
  });

  it("carries_at_most_its_bound_and_empties_on_take", () => {
    const carry = createDeferredKeys(2);
    assert.equal(carry.hold(carry.take(new Map([["a", [["1"], ["2"], ["3"]]]]), 1n)), false);
    assert.equal(carry.size, 0);
    assert.equal(carry.hold(carry.take(new Map([["a", [["1"], ["2"]]]]), 1n)), true);
    assert.equal(carry.size, 2);
    const next = carry.take(new Map([["a", [["3"]]]]), 2n);
    assert.equal(next.count, 3);
    assert.equal(carry.size, 0);
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
    assert.ok(observer.of("batch_committed").length >= 10, "the transaction spanned batches");
    assert.equal(h.builder.built.length, 10, `built: ${h.builder.built.length}`);
    assert.equal(h.sink.documents("users").size, 10);
    assert.deepEqual(h.source.confirms, [500n]);
    // Every write of the transaction carries its commit LSN (the highest of its changes).
    for (const { writes } of h.sink.writes) for (const w of writes) assert.equal(w.version, 500n);
  });

  it("still_writes_every_document_when_a_transaction_touches_more_than_the_bound", async () => {
    // 4 × max_changes = 400 keys may be carried; this transaction touches 900.
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
