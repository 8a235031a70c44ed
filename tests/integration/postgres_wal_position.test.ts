/**
 * The version of writes that re-read rows (verify repairs, dead letter replays) must be past
 * the commit record of every transaction the read can see — also when the writer commits with
 * `synchronous_commit = off`, where the commit is visible before its WAL is written.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseLsn } from "../../src/engine/change.ts";
import { walInsertLsn } from "../../src/postgres/wal_position.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

describe("wal position", () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase("wal_position", "CREATE TABLE items (id bigint PRIMARY KEY, n int)");
  });
  after(async () => await db?.drop());

  it("versions_re_read_rows_past_every_visible_commit_under_async_commit", async () => {
    for (let i = 0; i < 20; i++) {
      // One session commits asynchronously and notes where its commit record ends…
      const [{ end }] = await db.sql.begin(async (tx) => {
        await tx`SET LOCAL synchronous_commit = off`;
        await tx`INSERT INTO items VALUES (${i}, ${i})`;
        return await tx`SELECT 1`;
      }).then(() => db.sql`SELECT pg_current_wal_insert_lsn()::text AS "end"`);
      // …and the version read afterwards (as a repair reads it, before its rows) is past it,
      // while the WAL write position may still lag behind (which is why it is not used).
      const version = await walInsertLsn(db.sql);
      assert.ok(version >= parseLsn(end), `${version} ≥ ${end} (commit ${i})`);
      const [{ n }] = await db.sql`SELECT count(*)::int AS n FROM items WHERE id = ${i}`;
      assert.equal(n, 1, "the committed row is visible to the read");
    }
  });
});
