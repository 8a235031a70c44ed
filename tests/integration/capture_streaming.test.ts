import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { SourceEvent } from "../../src/engine/change.ts";
import {
  createPostgresChangeSource,
  type PostgresChangeSource,
} from "../../src/postgres/change_source.ts";
import { REPLAY_RUN } from "../../src/postgres/replication/spill_file.ts";
import { connectionOf, type TestDatabase, testDatabase } from "../support/postgres.ts";

const ROWS = 200_000;

describe("large transactions stream through protocol v2", () => {
  let db: TestDatabase;
  let source: PostgresChangeSource;
  let iterator: AsyncIterator<readonly SourceEvent[]>;
  let spillDir: string;
  const abort = new AbortController();

  before(async () => {
    db = await testDatabase("capture_stream", "CREATE TABLE items (id int PRIMARY KEY, v text)");
    // Stream any transaction above 64 kB of decoded changes (applies to the walsender too).
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" SET logical_decoding_work_mem = '64kB'`);
    spillDir = mkdtempSync(join(tmpdir(), "flusso-spill-test-"));
    source = createPostgresChangeSource({
      connection: connectionOf(db.url),
      slot: db.slot,
      publication: db.publication,
      managePublication: true,
      tables: [{ schema: "public", name: "items" }],
      statusIntervalMs: 200,
      spillDirectory: spillDir,
      transactionMemoryBytes: 1024 * 1024,
    });
    const start = await source.open();
    await start.snapshot?.release();
    iterator = source.events(abort.signal)[Symbol.asyncIterator]();
  });
  after(async () => {
    abort.abort();
    await source?.close();
    await iterator?.return?.();
    await db?.drop();
    if (spillDir) rmSync(spillDir, { recursive: true, force: true });
  });

  // The events of the last run not consumed yet (a run may end mid-transaction).
  let run: readonly SourceEvent[] = [];
  let at = 0;

  /** Pulls one transaction, calling `onChange` per change instead of keeping them. */
  async function pullTransaction(onChange: (id: string) => void): Promise<bigint> {
    for (;;) {
      if (at >= run.length) {
        const next = await iterator.next();
        assert.ok(!next.done, "the source ended");
        // Runs stay small, so a huge transaction never sits in memory as one array.
        assert.ok(
          next.value.length > 0 && next.value.length <= REPLAY_RUN + 1,
          `a run of ${next.value.length} events`,
        );
        run = next.value;
        at = 0;
      }
      const event = run[at++];
      if (event.kind === "commit") return event.lsn;
      onChange(event.change.new?.id ?? event.change.old?.id ?? "");
    }
  }

  it("delivers_a_200k_row_transaction_with_bounded_memory", async () => {
    (globalThis as { gc?: () => void }).gc?.();
    // Heap, not RSS: under `deno test --parallel` other test files share this process's RSS.
    const heapBefore = process.memoryUsage().heapUsed;
    await db
      .sql`INSERT INTO items SELECT g, repeat('x', 40) FROM generate_series(1, ${ROWS}::int) g`;
    let count = 0;
    let peak = heapBefore;
    let spilledWhileReplaying = false;
    const lsn = await pullTransaction(() => {
      if (count === 0) spilledWhileReplaying = readdirSync(spillDir).length > 0;
      if (++count % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    });
    assert.equal(count, ROWS);
    assert.ok(lsn > 0n);
    assert.ok(spilledWhileReplaying, "the transaction was replayed from a spill file");
    assert.deepEqual(readdirSync(spillDir), [], "the spill file is deleted after replay");
    const growthMb = (peak - heapBefore) / 1024 / 1024;
    // Holding 200k changes would take well over this; spilling keeps the heap near flat.
    assert.ok(growthMb < 100, `heap grew by ${growthMb.toFixed(0)} MB`);
    source.confirm(lsn);
  });

  it("drops_an_aborted_streamed_transaction", async () => {
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO items SELECT g, 'gone' FROM generate_series(${ROWS + 1}::int, ${
        ROWS + 20_000
      }::int) g`;
      throw new Error("abort on purpose");
    }).catch(() => {});
    await db.sql`INSERT INTO items VALUES (-1, 'kept')`;
    const ids: string[] = [];
    await pullTransaction((id) => ids.push(id));
    assert.deepEqual(ids, ["-1"]);
    assert.deepEqual(readdirSync(spillDir), []);
  });

  it("drops_the_changes_of_a_rolled_back_subtransaction_of_a_streamed_transaction", async () => {
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO items SELECT g, 'a' FROM generate_series(-10000, -2) g`;
      await tx`SAVEPOINT s1`;
      await tx`INSERT INTO items SELECT g, 'b' FROM generate_series(-30000, -10001) g`;
      await tx`ROLLBACK TO SAVEPOINT s1`;
      await tx`INSERT INTO items VALUES (-50000, 'c')`;
    });
    const ids = new Set<string>();
    let count = 0;
    await pullTransaction((id) => {
      ids.add(id);
      count++;
    });
    assert.equal(count, 9999 + 1);
    for (const id of ["-2", "-10000", "-50000"]) {
      assert.ok(ids.has(id), `missing ${id}: ${[...ids].slice(0, 5)}`);
    }
    assert.ok(!ids.has("-10001"), "a row of the rolled-back savepoint was delivered");
  });
});
