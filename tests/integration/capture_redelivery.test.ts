import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { parseLsn } from "../../src/engine/change.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { type Capture, eventually, pub, startCapture } from "./capture_support.ts";

describe("capture survives a killed walsender", () => {
  let db: TestDatabase;
  let capture: Capture;
  before(async () => {
    db = await testDatabase("capture_kill", "CREATE TABLE items (id int PRIMARY KEY, v text)");
    capture = await startCapture(db, [pub("items")]);
    await capture.start.snapshot?.release();
  });
  after(async () => {
    await capture?.stop();
    await db?.drop();
  });

  const confirmedFlush = async () => {
    const [row] = await db
      .sql`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = ${db.slot}`;
    return parseLsn(row.lsn);
  };
  const killWalsender = async () => {
    const [row] = await db
      .sql`SELECT active_pid FROM pg_replication_slots WHERE slot_name = ${db.slot}`;
    assert.ok(row.active_pid, "the slot is streaming");
    await db.sql`SELECT pg_terminate_backend(${row.active_pid})`;
  };

  it("redelivers_unconfirmed_transactions_and_never_confirms_past_them", async () => {
    await db.sql`INSERT INTO items VALUES (1, 'a')`;
    const [a] = await capture.transactions(1);
    capture.source.confirm(a.lsn);
    await eventually(
      "the slot to confirm the first transaction",
      // At least `a`: on an idle stream the slot may move on to the server's WAL position.
      async () => (await confirmedFlush()) >= a.lsn,
    );

    await db.sql`INSERT INTO items VALUES (2, 'b')`;
    await db.sql`INSERT INTO items VALUES (3, 'c'), (4, 'd')`;
    // An open transaction on the server while the walsender dies must arrive after reconnect.
    const open = postgres(db.url, { max: 1, onnotice: () => {} });
    const reserved = await open.reserve();
    await reserved`BEGIN`;
    await reserved`INSERT INTO items VALUES (5, 'e')`;

    const [b, c] = await capture.transactions(2);
    assert.deepEqual(c.changes.map((x) => x.new?.id), ["3", "4"]);
    // Unconfirmed: several status-update intervals pass without the slot moving past `a`.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok((await confirmedFlush()) < b.lsn, "the unconfirmed b was not confirmed");

    await killWalsender();
    await reserved`COMMIT`;
    reserved.release();
    await open.end();

    const [b2, c2, e] = await capture.transactions(3);
    assert.deepEqual([b2.lsn, c2.lsn], [b.lsn, c.lsn], "b and c are delivered again");
    assert.deepEqual(b2.changes.map((x) => x.new?.id), ["2"]);
    assert.deepEqual(c2.changes.map((x) => x.new?.id), ["3", "4"]);
    assert.deepEqual(e.changes.map((x) => x.new?.id), ["5"]);
    assert.ok(
      (await confirmedFlush()) < b.lsn,
      "nothing past the confirmed position was reported",
    );

    capture.source.confirm(c2.lsn);
    await eventually("the slot to confirm c", async () => (await confirmedFlush()) >= c.lsn);
    assert.ok((await confirmedFlush()) < e.lsn);
  });

  it("resumes_from_the_confirmed_position_after_a_second_kill", async () => {
    await killWalsender();
    await db.sql`INSERT INTO items VALUES (6, 'f')`;
    const txs = await capture.transactions(2);
    // e (unconfirmed) comes again, then the new row.
    assert.deepEqual(txs.map((t) => t.changes.map((x) => x.new?.id)), [["5"], ["6"]]);
  });
});
