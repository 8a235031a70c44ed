import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTransactionBuffer, REPLAY_RUN } from "../../src/postgres/replication/spill_file.ts";
import type { PendingChange } from "../../src/postgres/replication/to_changes.ts";

const change = (id: number): PendingChange => ({
  op: "insert",
  table: { schema: "public", name: "t" },
  new: { id: String(id), note: id % 2 ? null : 'línea\n"two"' },
  size: 100,
});

/** The replayed ids, in order; every run must hold 1..REPLAY_RUN changes. */
async function ids(buffer: ReturnType<typeof createTransactionBuffer>): Promise<number[]> {
  const out: number[] = [];
  for await (const run of buffer.replay()) {
    assert.ok(run.length > 0 && run.length <= REPLAY_RUN, `a run of ${run.length} changes`);
    for (const c of run) out.push(Number(c.new!.id));
  }
  return out;
}

describe("transaction spill file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "flusso-spill-unit-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("spills_past_the_memory_limit_and_replays_every_change_in_order", async () => {
    const buffer = createTransactionBuffer({ memoryLimitBytes: 1000, directory: dir });
    for (let i = 0; i < 5; i++) buffer.push(change(i));
    assert.equal(buffer.spilled, false);
    for (let i = 5; i < 3000; i++) buffer.push(change(i));
    assert.equal(buffer.spilled, true);
    assert.equal(buffer.memoryBytes, 0);
    assert.deepEqual(await ids(buffer), Array.from({ length: 3000 }, (_, i) => i));
    const [first] = await (async () => {
      for await (const run of buffer.replay()) return [run[0]];
      return [];
    })();
    assert.deepEqual(first, change(0), "values with newlines and quotes survive the file");
    buffer.discard();
    assert.deepEqual(readdirSync(dir), []);
  });

  it("rolls_back_to_a_mark_in_memory_and_on_disk_including_marks_taken_before_spilling", async () => {
    const buffer = createTransactionBuffer({ memoryLimitBytes: 450, directory: dir });
    buffer.push(change(1));
    const early = buffer.mark();
    buffer.push(change(2));
    buffer.push(change(3));
    buffer.push(change(4));
    buffer.push(change(5));
    assert.equal(buffer.spilled, true);
    const late = buffer.mark();
    buffer.push(change(6));
    buffer.truncate(late);
    buffer.push(change(7));
    assert.deepEqual(await ids(buffer), [1, 2, 3, 4, 5, 7]);
    buffer.truncate(early);
    buffer.push(change(8));
    assert.deepEqual(await ids(buffer), [1, 8]);
    assert.equal(buffer.count, 2);
    buffer.discard();
    buffer.discard();
    assert.deepEqual(readdirSync(dir), []);
  });

  it("replays_a_buffer_in_memory_in_bounded_runs_that_outlive_its_discard", async () => {
    const buffer = createTransactionBuffer({ memoryLimitBytes: 1 << 30, directory: dir });
    const n = REPLAY_RUN * 3 + 7;
    for (let i = 0; i < n; i++) buffer.push(change(i));
    assert.equal(buffer.spilled, false);
    const runs: (readonly ReturnType<typeof change>[])[] = [];
    for await (const run of buffer.replay()) runs.push(run);
    assert.deepEqual(runs.map((r) => r.length), [REPLAY_RUN, REPLAY_RUN, REPLAY_RUN, 7]);
    // The source hands runs on after it discarded the buffer (the commit rides on the last).
    buffer.discard();
    assert.deepEqual(
      runs.flat().map((c) => Number(c.new!.id)),
      Array.from({ length: n }, (_, i) => i),
    );
  });

  it("replays_an_empty_spilled_buffer_as_nothing", async () => {
    const buffer = createTransactionBuffer({ memoryLimitBytes: 0, directory: dir });
    const mark = buffer.mark();
    buffer.push(change(1));
    buffer.truncate(mark);
    assert.deepEqual(await ids(buffer), []);
    buffer.discard();
  });
});
