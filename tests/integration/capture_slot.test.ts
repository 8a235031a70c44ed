import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { silentLogger } from "../../src/ops/logger.ts";
import { createPostgresChangeSource } from "../../src/postgres/change_source.ts";
import {
  ensurePublication,
  inspectPublication,
  PublicationMissingError,
} from "../../src/postgres/publication.ts";
import { SlotMismatchError, SlotMissingError } from "../../src/postgres/replication/errors.ts";
import { dropSlot, inspectSlot } from "../../src/postgres/slot.ts";
import { connectionOf, type TestDatabase, testDatabase } from "../support/postgres.ts";
import { pub, startCapture } from "./capture_support.ts";

const SETUP = "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);";

describe("slot and publication management", () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase("capture_slot", SETUP);
  });
  after(async () => await db?.drop());

  it("refuses_to_create_a_missing_publication_without_manage_and_names_the_sql", async () => {
    const source = createPostgresChangeSource({
      connection: connectionOf(db.url),
      slot: db.slot,
      publication: db.publication,
      managePublication: false,
      tables: [pub("a")],
    });
    try {
      await assert.rejects(source.open(), (error: unknown) => {
        assert.ok(error instanceof PublicationMissingError);
        assert.equal(error.sql, `CREATE PUBLICATION "${db.publication}" FOR TABLE "public"."a";`);
        return true;
      });
      assert.equal(await inspectSlot(db.sql, db.slot), undefined, "no slot before a publication");
    } finally {
      await source.close();
    }
  });

  it("extends_a_managed_publication_and_only_warns_when_unmanaged", async () => {
    await ensurePublication(db.sql, db.publication, [pub("a")], true, silentLogger);
    const warnings: unknown[] = [];
    const logger = { ...silentLogger, warn: (_m: string, f?: unknown) => warnings.push(f) };
    await ensurePublication(db.sql, db.publication, [pub("a"), pub("b")], false, logger);
    assert.deepEqual(warnings, [{
      publication: db.publication,
      sql: `ALTER PUBLICATION "${db.publication}" ADD TABLE "public"."b";`,
    }]);
    await ensurePublication(db.sql, db.publication, [pub("a"), pub("b")], true, silentLogger);
    const info = await inspectPublication(db.sql, db.publication);
    assert.deepEqual(info?.tables.map((t) => t.name), ["a", "b"]);
  });

  it("refuses_a_slot_that_uses_another_plugin", async () => {
    const other = `${db.slot.slice(0, 40)}_td`;
    await db.sql`SELECT pg_create_logical_replication_slot(${other}, 'test_decoding')`;
    const source = createPostgresChangeSource({
      connection: connectionOf(db.url),
      slot: other,
      publication: db.publication,
      managePublication: true,
      tables: [pub("a")],
    });
    try {
      await assert.rejects(source.open(), SlotMismatchError);
    } finally {
      await source.close();
      await dropSlot(db.sql, other);
    }
  });

  it("reuses_an_existing_slot_from_its_confirmed_position_without_a_snapshot", async () => {
    const first = await startCapture(db, [pub("a")]);
    assert.equal(first.start.slotCreated, true);
    await first.start.snapshot!.release();
    await db.sql`INSERT INTO a VALUES (1)`;
    const [tx] = await first.transactions(1);
    first.source.confirm(tx.lsn);
    await first.stop();
    const second = await startCapture(db, [pub("a")]);
    try {
      assert.equal(second.start.slotCreated, false);
      assert.equal(second.start.snapshot, undefined);
      assert.equal(second.start.startLsn, tx.lsn, "close() sent the last confirmed position");
    } finally {
      await second.stop();
    }
  });

  it("fails_for_good_with_slot_missing_when_the_slot_is_dropped_while_streaming", async () => {
    const capture = await startCapture(db, [pub("a")], {
      reconnect: { initialMs: 2000, maxMs: 2000 },
    });
    try {
      await db.sql`INSERT INTO a VALUES (2)`;
      await capture.transactions(1);
      assert.equal(await dropSlot(db.sql, db.slot, { force: true }), true);
      await assert.rejects(capture.transactions(1), SlotMissingError);
    } finally {
      await capture.stop();
    }
  });

  it("refuses_to_drop_an_active_slot_without_force", async () => {
    const capture = await startCapture(db, [pub("a")]);
    try {
      await capture.start.snapshot?.release();
      const admin = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        for (let i = 0; i < 100 && !(await inspectSlot(admin, db.slot))?.active; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        await assert.rejects(dropSlot(admin, db.slot), /in use/);
      } finally {
        await admin.end();
      }
    } finally {
      await capture.stop();
    }
  });
});
