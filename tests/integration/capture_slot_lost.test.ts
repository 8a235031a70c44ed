import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createPostgresChangeSource,
  type PostgresChangeSource,
} from "../../src/postgres/change_source.ts";
import { SlotLostError } from "../../src/postgres/replication/errors.ts";
import { inspectSlot } from "../../src/postgres/slot.ts";
import { type PostgresCluster, startCluster } from "../support/postgres_cluster.ts";
import { connectionOf } from "../support/postgres.ts";

// A private cluster with a tiny max_slot_wal_keep_size, so a slot can lose its WAL.
describe("a slot whose WAL was removed", () => {
  let cluster: PostgresCluster;
  let sql: postgres.Sql;
  const sources: PostgresChangeSource[] = [];
  const make = () => {
    const source = createPostgresChangeSource({
      connection: connectionOf(cluster.url),
      slot: "lost_slot",
      publication: "lost_pub",
      managePublication: true,
      tables: [{ schema: "public", name: "items" }],
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    sources.push(source);
    return source;
  };
  before(async () => {
    cluster = await startCluster({ max_slot_wal_keep_size: "'1MB'", max_wal_size: "'64MB'" });
    sql = postgres(cluster.url, { max: 2, onnotice: () => {} });
    await sql`CREATE TABLE items (id int PRIMARY KEY, v text)`;
  });
  after(async () => {
    for (const source of sources) await source.close();
    await sql?.end({ timeout: 1 });
    cluster?.stop();
  });

  it("fails_for_good_with_slot_lost_and_tells_how_to_reseed", async () => {
    const source = make();
    const start = await source.open();
    await start.snapshot?.release();
    for (let round = 0; round < 6; round++) {
      const [slot] = [await inspectSlot(sql, "lost_slot")];
      if (slot?.walStatus === "lost") break;
      await sql`INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(${
        round * 20000
      }::int, ${round * 20000 + 19999}::int) g`;
      await sql`SELECT pg_switch_wal()`;
      await sql`CHECKPOINT`;
    }
    assert.equal((await inspectSlot(sql, "lost_slot"))?.walStatus, "lost");
    const iterator = source.events(new AbortController().signal)[Symbol.asyncIterator]();
    await assert.rejects(iterator.next(), (error: unknown) => {
      assert.ok(error instanceof SlotLostError, String(error));
      assert.match(error.message, /flusso slot drop/);
      return true;
    });
    await assert.rejects(make().open(), SlotLostError);
    const lag = await source.lag();
    assert.equal(lag.walStatus, "lost");
  });
});
