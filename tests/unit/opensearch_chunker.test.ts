import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chunkByLimits } from "../../src/opensearch/chunker.ts";

const items = (...sizes: number[]) => sizes.map((bytes, i) => ({ i, bytes }));
const shape = (chunks: { i: number }[][]) => chunks.map((c) => c.map((x) => x.i));

describe("chunker", () => {
  it("closes_a_chunk_at_batch_size", () => {
    assert.deepEqual(shape(chunkByLimits(items(1, 1, 1, 1, 1), { batchSize: 2, maxBytes: 100 })), [
      [0, 1],
      [2, 3],
      [4],
    ]);
  });

  it("closes_a_chunk_before_the_item_that_would_exceed_max_bytes", () => {
    assert.deepEqual(shape(chunkByLimits(items(4, 4, 3, 5), { batchSize: 10, maxBytes: 10 })), [
      [0, 1],
      [2, 3],
    ]);
  });

  it("sends_an_oversized_item_alone_and_drops_nothing", () => {
    const chunks = chunkByLimits(items(2, 50, 2), { batchSize: 10, maxBytes: 10 });
    assert.deepEqual(shape(chunks), [[0], [1], [2]]);
  });

  it("returns_no_chunk_for_no_items", () => {
    assert.deepEqual(chunkByLimits([], { batchSize: 10, maxBytes: 10 }), []);
  });
});
