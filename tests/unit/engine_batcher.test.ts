import { describe, it } from "node:test";
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { collectBatch } from "../../src/engine/batcher.ts";
import { createQueue } from "../../src/engine/queue.ts";
import { systemClock } from "../../src/engine/clock.ts";
import { eventSize, summarize } from "../../src/engine/batch.ts";
import type { SourceEvent } from "../../src/engine/change.ts";
import { change } from "../support/memory_ports.ts";
import { chunk, distinctKeys } from "../../src/engine/apply.ts";

const limits = { maxChanges: 3, maxBytes: 1000, maxDelayMs: 50 };

function changeEvent(id: string, lsn: bigint, size = 100): SourceEvent {
  return { kind: "change", change: change("users", id, lsn, { size }) };
}
function commitEvent(lsn: bigint, at = 0): SourceEvent {
  return { kind: "commit", lsn, commitTime: new Date(at) };
}
async function queueOf(events: SourceEvent[]) {
  const queue = createQueue<SourceEvent>({ capacity: 100, bytes: 1 << 20 });
  for (const e of events) await queue.push(e, eventSize(e));
  return queue;
}

describe("batcher", () => {
  it("closes_at_max_changes_and_keeps_the_trailing_commit", async () => {
    const queue = await queueOf([
      changeEvent("1", 1n),
      changeEvent("2", 1n),
      changeEvent("3", 1n),
      commitEvent(1n),
      changeEvent("4", 2n),
    ]);
    const batch = await collectBatch(queue, limits, systemClock, new AbortController().signal);
    assert.equal(batch?.events.length, 4);
    assert.equal(batch?.caughtUp, false);
    assert.equal(queue.length, 1);
  });

  it("closes_before_a_change_that_would_exceed_max_bytes", async () => {
    const queue = await queueOf([changeEvent("1", 1n, 600), changeEvent("2", 1n, 600)]);
    const batch = await collectBatch(queue, limits, systemClock, new AbortController().signal);
    assert.equal(batch?.events.length, 1);
  });

  it("closes_max_delay_after_its_first_event_and_is_caught_up_when_the_queue_is_empty", async () => {
    const clock = FakeTimers.withGlobal(globalThis).install({
      toFake: ["setTimeout", "clearTimeout", "Date"],
    });
    try {
      const queue = await queueOf([changeEvent("1", 1n)]);
      let done = false;
      const pending = collectBatch(queue, limits, systemClock, new AbortController().signal)
        .then((b) => {
          done = true;
          return b;
        });
      await clock.tickAsync(49);
      assert.equal(done, false, "still open before max_delay");
      await queue.push(changeEvent("2", 2n), 100);
      await clock.tickAsync(1);
      const batch = await pending;
      assert.equal(batch?.events.length, 2);
      assert.equal(batch?.caughtUp, true);
    } finally {
      clock.uninstall();
    }
  });

  it("idles_without_timers_until_the_first_event", async () => {
    const clock = FakeTimers.withGlobal(globalThis).install({
      toFake: ["setTimeout", "clearTimeout", "Date"],
    });
    try {
      const queue = createQueue<SourceEvent>({ capacity: 10, bytes: 1000 });
      const stop = new AbortController();
      const pending = collectBatch(queue, limits, systemClock, stop.signal);
      await clock.tickAsync(0);
      assert.equal(clock.countTimers(), 0, "no timer while idle");
      stop.abort();
      assert.equal(await pending, undefined);
    } finally {
      clock.uninstall();
    }
  });

  it("returns_nothing_once_the_queue_is_closed_and_drained", async () => {
    const queue = await queueOf([]);
    queue.close();
    assert.equal(
      await collectBatch(queue, limits, systemClock, new AbortController().signal),
      undefined,
    );
  });

  it("summary_confirms_the_highest_commit_and_versions_at_the_highest_change_lsn", () => {
    const summary = summarize([
      changeEvent("1", 5n),
      commitEvent(5n, 1000),
      changeEvent("2", 9n),
      commitEvent(9n, 2000),
      changeEvent("3", 12n),
    ]);
    assert.equal(summary.confirmLsn, 9n, "the open transaction at 12 is not confirmed");
    assert.equal(summary.version, 12n);
    assert.equal(summary.transactions, 2);
    assert.equal(summary.changes.length, 3);
    assert.equal(summary.firstCommitTime?.getTime(), 1000);
  });

  it("distinct_keys_keep_first_seen_order_and_chunks_cover_every_key", () => {
    const keys = distinctKeys([["1"], ["2"], ["1"], ["a", "b"], ["a", "b"], ["ab"]]);
    assert.deepEqual(keys, [["1"], ["2"], ["a", "b"], ["ab"]]);
    assert.deepEqual(chunk(keys, 3).map((c) => c.length), [3, 1]);
  });
});
