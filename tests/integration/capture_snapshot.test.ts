import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { scanKeys } from "../../src/postgres/snapshot_keys.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { type Capture, pub, startCapture } from "./capture_support.ts";

const SETUP = `
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'before' FROM generate_series(1, 100) g;
CREATE TABLE pairs (a text, b int, PRIMARY KEY (a, b));
INSERT INTO pairs VALUES ('b', 1), ('a', 10), ('a', 2), ('a''q', 1);
CREATE TABLE flags (id uuid PRIMARY KEY, on_off bool);
INSERT INTO flags VALUES ('00000000-0000-0000-0000-000000000002', true), ('00000000-0000-0000-0000-000000000001', false);
`;

/** Every key of a table, page by page, like a backfill. */
async function scanAll(
  db: TestDatabase,
  table: string,
  key: string[],
  page: number,
  snapshot?: string,
): Promise<string[][]> {
  const all: string[][] = [];
  let after: string[] | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const keys = await scanKeys(db.sql, pub(table), key, { after, limit: page, snapshot });
    assert.ok(keys.length <= page, "a page never exceeds its limit");
    if (keys.length === 0) return all;
    all.push(...keys);
    after = keys[keys.length - 1];
  }
  throw new Error("the scan never ended: a page repeated its predecessor");
}

describe("snapshot-consistent start", () => {
  let db: TestDatabase;
  let capture: Capture;
  before(async () => {
    db = await testDatabase("capture_snap", SETUP);
    capture = await startCapture(db, [pub("items")]);
  });
  after(async () => {
    await capture?.start.snapshot?.release();
    await capture?.stop();
    await db?.drop();
  });

  it("reads_exactly_the_rows_before_the_slot_under_the_exported_snapshot_and_streams_the_rest", async () => {
    const snapshot = capture.start.snapshot!.name;
    await db.sql`INSERT INTO items SELECT g, 'after' FROM generate_series(101, 150) g`;
    await db.sql`UPDATE items SET v = 'changed' WHERE id = 1`;
    const scanned = await scanAll(db, "items", ["id"], 30, snapshot);
    assert.deepEqual(
      scanned.map((k) => Number(k[0])),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const [inserted, updated] = await capture.transactions(2);
    assert.deepEqual(
      inserted.changes.map((c) => Number(c.new!.id)),
      Array.from({ length: 50 }, (_, i) => i + 101),
    );
    assert.deepEqual(updated.changes.map((c) => c.new), [{ id: "1", v: "changed" }]);
    assert.ok(inserted.lsn > capture.start.startLsn, "streamed commits come after the start LSN");
  });

  it("sees_current_rows_without_a_snapshot_and_resumes_after_a_key", async () => {
    const all = await scanAll(db, "items", ["id"], 64);
    assert.equal(all.length, 150);
    const rest = await scanKeys(db.sql, pub("items"), ["id"], { after: ["140"], limit: 100 });
    assert.deepEqual(rest.map((k) => k[0]), [
      "141",
      "142",
      "143",
      "144",
      "145",
      "146",
      "147",
      "148",
      "149",
      "150",
    ]);
  });

  it("orders_composite_keys_by_each_columns_natural_order", async () => {
    assert.deepEqual(await scanAll(db, "pairs", ["a", "b"], 1), [
      ["a", "2"],
      ["a", "10"],
      ["a'q", "1"],
      ["b", "1"],
    ]);
  });

  it("returns_keys_as_text_output_for_uuid_and_bool_columns", async () => {
    assert.deepEqual(await scanAll(db, "flags", ["id", "on_off"], 10), [
      ["00000000-0000-0000-0000-000000000001", "f"],
      ["00000000-0000-0000-0000-000000000002", "t"],
    ]);
  });

  it("stops_serving_the_snapshot_once_released", async () => {
    const snapshot = capture.start.snapshot!.name;
    await capture.start.snapshot!.release();
    await assert.rejects(scanKeys(db.sql, pub("items"), ["id"], { limit: 1, snapshot }));
  });
});
