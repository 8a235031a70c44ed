import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

describe("postgres test harness", () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase("harness", "CREATE TABLE items (id bigint PRIMARY KEY, name text)");
  });
  after(async () => await db?.drop());

  it("runs_with_wal_level_logical", async () => {
    const [{ wal_level }] = await db.sql`SHOW wal_level`;
    assert.equal(wal_level, "logical");
  });

  it("gives_each_test_its_own_database", async () => {
    const other = await testDatabase("harness_other");
    try {
      assert.notEqual(other.name, db.name);
      const rows = await other.sql`SELECT to_regclass('items') AS t`;
      assert.equal(rows[0].t, null, "a table created in one test database is invisible in another");
    } finally {
      await other.drop();
    }
  });

  it("creates_and_reads_a_logical_slot_with_the_postgres_package", async () => {
    await db.sql.unsafe(`CREATE PUBLICATION "${db.publication}" FOR TABLE items`);
    const repl = postgres(db.url, {
      max: 1,
      fetch_types: false,
      idle_timeout: undefined,
      max_lifetime: null,
      connection: { replication: "database" },
      onnotice: () => {},
    });
    try {
      const [slot] = await repl.unsafe(`CREATE_REPLICATION_SLOT "${db.slot}" LOGICAL pgoutput`);
      assert.equal(slot.slot_name, db.slot);
      await db.sql`INSERT INTO items VALUES (1, 'first')`;
      const stream = await repl.unsafe(
        `START_REPLICATION SLOT "${db.slot}" LOGICAL 0/0 (proto_version '1', publication_names '${db.publication}')`,
      ).writable();
      const kinds = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        const timer = setTimeout(
          () => reject(new Error(`no commit within 10s; saw ${seen}`)),
          10_000,
        );
        stream.on("data", (chunk: Uint8Array) => {
          // CopyData 'w' carries a pgoutput message at byte 25.
          if (chunk[0] !== 0x77) return;
          const kind = String.fromCharCode(chunk[25]);
          seen.push(kind);
          if (kind === "C") {
            clearTimeout(timer);
            resolve(seen);
          }
        });
        stream.on("error", reject);
      });
      assert.deepEqual(kinds, ["B", "R", "I", "C"]);
      stream.destroy();
    } finally {
      await repl.end({ timeout: 1 }).catch(() => {});
    }
  });
});
