import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseLsn } from "../../src/engine/change.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { type Capture, pub, startCapture } from "./capture_support.ts";

const SETUP = `
CREATE TABLE ints (id int PRIMARY KEY, name text, parent int);
CREATE TABLE bigs (id bigint PRIMARY KEY, amount numeric(12,2), flag bool);
CREATE TABLE uuids (id uuid PRIMARY KEY, body text);
CREATE TABLE pairs (a text, b int, note text, PRIMARY KEY (a, b));
CREATE TABLE fulls (id int PRIMARY KEY, parent int, body text);
ALTER TABLE fulls REPLICA IDENTITY FULL;
CREATE TABLE toasty (id int PRIMARY KEY, big text, small text);
CREATE SCHEMA "Other";
CREATE TABLE "Other"."Mixed Case" (id int PRIMARY KEY, v text);
`;

describe("pgoutput capture of every message kind", () => {
  let db: TestDatabase;
  let capture: Capture;
  before(async () => {
    db = await testDatabase("capture_msgs", SETUP);
    capture = await startCapture(db, [
      pub("ints"),
      pub("bigs"),
      pub("uuids"),
      pub("pairs"),
      pub("fulls"),
      pub("toasty"),
      { schema: "Other", name: "Mixed Case" },
    ]);
  });
  after(async () => {
    await capture?.stop();
    await db?.drop();
  });

  it("creates_slot_with_snapshot_and_publication_on_first_open", async () => {
    assert.equal(capture.start.slotCreated, true);
    assert.ok(capture.start.snapshot?.name);
    await capture.start.snapshot!.release();
    const [{ n }] = await db
      .sql`SELECT count(*)::int AS n FROM pg_publication_tables WHERE pubname = ${db.publication}`;
    assert.equal(n, 7);
  });

  it("delivers_inserts_across_key_types_as_text_tagged_with_commit_end_lsn", async () => {
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO ints VALUES (1, 'one', NULL)`;
      await tx`INSERT INTO bigs VALUES (9007199254740993, 12.50, true)`;
      await tx`INSERT INTO uuids VALUES ('6f1b0b4e-52a5-4a53-9f0b-0c2a9a3b1d11', 'u')`;
      await tx`INSERT INTO pairs VALUES ('x', 2, 'n')`;
      await tx`INSERT INTO "Other"."Mixed Case" VALUES (5, 'm')`;
    });
    const [tx] = await capture.transactions(1);
    assert.deepEqual(tx.changes.map((c) => [c.op, c.table.schema, c.table.name]), [
      ["insert", "public", "ints"],
      ["insert", "public", "bigs"],
      ["insert", "public", "uuids"],
      ["insert", "public", "pairs"],
      ["insert", "Other", "Mixed Case"],
    ]);
    assert.deepEqual(tx.changes[0].new, { id: "1", name: "one", parent: null });
    assert.deepEqual(tx.changes[1].new, { id: "9007199254740993", amount: "12.50", flag: "t" });
    assert.equal(tx.changes[2].new?.id, "6f1b0b4e-52a5-4a53-9f0b-0c2a9a3b1d11");
    assert.deepEqual(tx.changes[3].new, { a: "x", b: "2", note: "n" });
    for (const c of tx.changes) assert.equal(c.lsn, tx.lsn);
    const [{ lsn }] = await db.sql`SELECT pg_current_wal_lsn()::text AS lsn`;
    assert.ok(tx.lsn > capture.start.startLsn && tx.lsn <= parseLsn(lsn));
  });

  it("turns_a_primary_key_update_into_delete_old_and_insert_new", async () => {
    await db.sql`UPDATE ints SET id = 2 WHERE id = 1`;
    await db.sql`UPDATE pairs SET b = 3 WHERE a = 'x'`;
    const [t1, t2] = await capture.transactions(2);
    assert.deepEqual(t1.changes.map((c) => c.op), ["delete", "insert"]);
    assert.deepEqual(t1.changes[0].old, { id: "1" });
    assert.equal(t1.changes[0].oldIsFull, false);
    assert.deepEqual(t1.changes[1].new, { id: "2", name: "one", parent: null });
    assert.deepEqual(t2.changes.map((c) => c.op), ["delete", "insert"]);
    assert.deepEqual(t2.changes[0].old, { a: "x", b: "2" });
  });

  it("sends_no_old_tuple_for_a_plain_update_under_replica_identity_default", async () => {
    await db.sql`UPDATE ints SET parent = 7 WHERE id = 2`;
    const [tx] = await capture.transactions(1);
    assert.equal(tx.changes.length, 1);
    assert.equal(tx.changes[0].op, "update");
    assert.equal(tx.changes[0].old, undefined);
    assert.equal(tx.changes[0].new?.parent, "7");
  });

  it("carries_the_full_old_row_under_replica_identity_full_for_updates_and_deletes", async () => {
    await db.sql`INSERT INTO fulls VALUES (1, 10, 'b')`;
    await db.sql`UPDATE fulls SET parent = 11 WHERE id = 1`;
    await db.sql`UPDATE fulls SET id = 2 WHERE id = 1`;
    await db.sql`DELETE FROM fulls WHERE id = 2`;
    const [, moved, rekeyed, deleted] = await capture.transactions(4);
    assert.equal(moved.changes[0].op, "update");
    assert.deepEqual(moved.changes[0].old, { id: "1", parent: "10", body: "b" });
    assert.equal(moved.changes[0].oldIsFull, true);
    assert.deepEqual(rekeyed.changes.map((c) => c.op), ["delete", "insert"]);
    assert.deepEqual(rekeyed.changes[0].old, { id: "1", parent: "11", body: "b" });
    assert.deepEqual(deleted.changes[0].old, { id: "2", parent: "11", body: "b" });
    assert.equal(deleted.changes[0].oldIsFull, true);
  });

  it("delivers_deletes_with_the_key_under_replica_identity_default", async () => {
    await db.sql`DELETE FROM uuids`;
    const [tx] = await capture.transactions(1);
    assert.deepEqual(tx.changes[0].old, { id: "6f1b0b4e-52a5-4a53-9f0b-0c2a9a3b1d11" });
    assert.equal(tx.changes[0].oldIsFull, false);
  });

  it("leaves_unchanged_toast_columns_out_of_the_row", async () => {
    // Random text does not compress, so it is stored out of line (TOAST).
    await db
      .sql`INSERT INTO toasty SELECT 1, string_agg(md5(random()::text), '') FROM generate_series(1, 3000), (SELECT 's') x(small) GROUP BY small`;
    await db.sql`UPDATE toasty SET small = 'changed' WHERE id = 1`;
    const [inserted, updated] = await capture.transactions(2);
    assert.equal(inserted.changes[0].new?.big?.length, 96000);
    assert.deepEqual(updated.changes[0].new, { id: "1", small: "changed" });
    assert.ok(!("big" in updated.changes[0].new!));
  });

  it("delivers_truncate_for_each_truncated_table", async () => {
    await db.sql`TRUNCATE ints, bigs`;
    const [tx] = await capture.transactions(1);
    assert.deepEqual(
      tx.changes.map((c) => [c.op, c.table.name]).sort(),
      [["truncate", "bigs"], ["truncate", "ints"]],
    );
  });

  it("releases_nothing_from_a_rolled_back_transaction", async () => {
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO ints VALUES (100, 'gone', NULL)`;
      await tx`SAVEPOINT s`;
      throw new Error("rollback");
    }).catch(() => {});
    await db.sql`INSERT INTO ints VALUES (101, 'kept', NULL)`;
    const [tx] = await capture.transactions(1);
    assert.deepEqual(tx.changes.map((c) => c.new?.id), ["101"]);
  });
});
