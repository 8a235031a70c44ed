import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../../src/engine/queue.ts";

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("bounded queue", () => {
  it("push_waits_while_the_count_bound_is_reached", async () => {
    const queue = createQueue<number>({ capacity: 2, bytes: 1000 });
    assert.equal(await queue.push(1, 1), true);
    assert.equal(await queue.push(2, 1), true);
    let third = false;
    const pending = queue.push(3, 1).then((ok) => (third = ok));
    await turn();
    assert.equal(third, false);
    assert.equal(queue.length, 2);
    assert.equal(queue.take()?.item, 1);
    await pending;
    assert.equal(third, true);
    assert.equal(queue.length, 2);
  });

  it("push_waits_while_the_byte_bound_is_reached", async () => {
    const queue = createQueue<string>({ capacity: 100, bytes: 10 });
    await queue.push("a", 6);
    let added = false;
    const pending = queue.push("b", 6).then((ok) => (added = ok));
    await turn();
    assert.equal(added, false);
    assert.equal(queue.bytes, 6);
    queue.take();
    await pending;
    assert.equal(queue.bytes, 6);
  });

  it("accepts_one_oversized_item_into_an_empty_queue", async () => {
    const queue = createQueue<string>({ capacity: 10, bytes: 10 });
    assert.equal(await queue.push("huge", 50), true);
    assert.equal(queue.bytes, 50);
  });

  it("an_aborted_push_leaves_the_item_out", async () => {
    const queue = createQueue<number>({ capacity: 1, bytes: 10 });
    await queue.push(1, 1);
    const controller = new AbortController();
    const pending = queue.push(2, 1, controller.signal);
    controller.abort();
    assert.equal(await pending, false);
    assert.equal(queue.length, 1);
  });

  it("keeps_fifo_order_across_compaction", async () => {
    const queue = createQueue<number>({ capacity: 5000, bytes: 1 << 20 });
    const out: number[] = [];
    for (let i = 0; i < 3000; i++) {
      await queue.push(i, 1);
      if (i % 3 === 2) out.push(queue.take()!.item, queue.take()!.item);
    }
    while (queue.length > 0) out.push(queue.take()!.item);
    assert.deepEqual(out, Array.from({ length: 3000 }, (_, i) => i));
    assert.equal(queue.bytes, 0);
  });

  it("wait_for_item_resolves_on_push_and_false_once_closed_and_empty", async () => {
    const queue = createQueue<number>({ capacity: 5, bytes: 10 });
    const waiting = queue.waitForItem();
    await queue.push(7, 1);
    assert.equal(await waiting, true);
    queue.take();
    const closing = queue.waitForItem();
    queue.close();
    assert.equal(await closing, false);
    assert.equal(await queue.push(8, 1), false, "closed queues refuse pushes");
  });

  it("offer_adds_only_what_fits_now_and_wakes_a_waiting_consumer", async () => {
    const queue = createQueue<number>({ capacity: 3, bytes: 10 });
    const waiting = queue.waitForItem();
    assert.equal(queue.offer(1, 4), true);
    assert.equal(queue.offer(2, 4), true);
    assert.equal(queue.offer(3, 4), false, "past the byte bound: left to push, which waits");
    assert.equal(queue.offer(3, 2), true);
    assert.equal(queue.offer(4, 0), false, "past the count bound");
    assert.deepEqual([queue.length, queue.bytes], [3, 10]);
    assert.equal(await waiting, true);
    assert.equal(queue.take()?.item, 1);
    queue.close();
    assert.equal(queue.offer(5, 1), false, "closed queues refuse offers");
    assert.deepEqual([queue.take()?.item, queue.take()?.item, queue.take()], [2, 3, undefined]);
  });

  it("rejects_limits_below_one", () => {
    assert.throws(() => createQueue({ capacity: 0, bytes: 10 }), RangeError);
  });
});
