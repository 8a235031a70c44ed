/**
 * The `_bulk` body pool (src/opensearch/body_pool.ts): a buffer is lent to one body at a time,
 * comes back only through `give` of what was lent, and the pool keeps no more than its limits.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createBodyPool } from "../../src/opensearch/body_pool.ts";

describe("body pool", () => {
  it("never_lends_a_buffer_that_is_still_lent", () => {
    const pool = createBodyPool();
    const a = pool.take(1000);
    const b = pool.take(1000);
    assert.equal(a.length, 1000);
    assert.notEqual(a.buffer, b.buffer);
    pool.give(a);
    const c = pool.take(900);
    assert.equal(c.buffer, a.buffer, "a given-back buffer is lent again");
    assert.equal(c.length, 900);
    assert.notEqual(pool.take(900).buffer, c.buffer);
  });

  it("ignores_a_second_give_and_buffers_it_never_lent", () => {
    const pool = createBodyPool();
    const a = pool.take(100);
    pool.give(a);
    pool.give(a); // would otherwise put the same buffer in the pool twice
    pool.give(new Uint8Array(1 << 20));
    const first = pool.take(100);
    const second = pool.take(100);
    assert.equal(first.buffer, a.buffer);
    assert.notEqual(second.buffer, a.buffer, "one buffer, lent to two bodies at once");
    assert.ok(second.buffer.byteLength < 1 << 20, "a foreign buffer was taken in");
  });

  it("lends_the_smallest_free_buffer_that_fits_else_a_new_one", () => {
    const pool = createBodyPool();
    const small = pool.take(10);
    const large = pool.take(500_000);
    pool.give(large);
    pool.give(small);
    assert.equal(pool.take(20).buffer, small.buffer);
    assert.equal(pool.take(400_000).buffer, large.buffer);
    const fresh = pool.take(600_000);
    assert.ok(fresh.buffer !== small.buffer && fresh.buffer !== large.buffer);
    assert.ok(fresh.buffer.byteLength >= 600_000);
  });

  it("keeps_no_more_free_buffers_or_bytes_than_its_limits", () => {
    const pool = createBodyPool({ buffers: 2, bytes: 300_000 });
    const lent = [pool.take(100_000), pool.take(100_000), pool.take(100_000)];
    for (const body of lent) pool.give(body);
    const again = [pool.take(100_000), pool.take(100_000), pool.take(100_000)];
    const reused = again.filter((b) => lent.some((l) => l.buffer === b.buffer));
    assert.equal(reused.length, 2, "a third free buffer was kept");
    const pool2 = createBodyPool({ buffers: 8, bytes: 300_000 });
    const big = pool2.take(400_000);
    pool2.give(big);
    assert.notEqual(pool2.take(400_000).buffer, big.buffer, "kept a buffer over the byte limit");
  });
});
