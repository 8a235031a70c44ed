import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createStdoutSink } from "../../src/opensearch/stdout_sink.ts";

const definition = { index: "users", body: {}, schemaHash: "abc" };

describe("stdout sink", () => {
  it("prints_one_envelope_per_operation_with_the_exact_version", async () => {
    const lines: string[] = [];
    const sink = createStdoutSink({ name: "out", write: (l) => lines.push(l) });
    const rejections = await sink.write([
      { index: "users", id: "1", version: 2n ** 62n + 1n, document: { a: 1 } },
      { index: "users", id: "2", version: 5n, document: null },
    ], { caughtUp: true });
    assert.deepEqual(rejections, []);
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [
      {
        sink: "out",
        index: "users",
        op: "index",
        id: "1",
        version: "4611686018427387905",
        document: { a: 1 },
      },
      { sink: "out", index: "users", op: "delete", id: "2", version: "5", document: null },
    ]);
  });

  it("reports_unseeded_first_then_remembers_seeding_and_reindex_in_memory", async () => {
    const sink = createStdoutSink({ name: "out", write: () => {} });
    assert.deepEqual(await sink.ensure([definition]), [{
      index: "users",
      seeded: false,
      generation: 1,
    }]);
    await sink.saveBackfillCursor("users", ["7"]);
    assert.deepEqual(await sink.ensure([definition]), [
      { index: "users", seeded: false, generation: 1, backfillCursor: ["7"] },
    ]);
    await sink.markSeeded("users");
    assert.deepEqual(await sink.ensure([definition]), [{
      index: "users",
      seeded: true,
      generation: 1,
    }]);
    await sink.startReindex("users");
    assert.deepEqual(await sink.ensure([definition]), [{
      index: "users",
      seeded: false,
      generation: 2,
    }]);
  });

  it("prints_quarantined_writes_as_dead_letters", async () => {
    const lines: string[] = [];
    const sink = createStdoutSink({ name: "out", write: (l) => lines.push(l) });
    await sink.quarantine([{
      write: { index: "users", id: "1", version: 0x100000010n, document: {} },
      type: "mapper_parsing_exception",
      reason: "bad",
    }]);
    const line = JSON.parse(lines[0]);
    assert.equal(line.op, "dead_letter");
    assert.equal(line.lsn, "1/10");
    assert.equal(line.reason, "bad");
  });
});
