import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import type { Config } from "../../src/config/model.ts";
import { slotCommand } from "../../src/cli/slot_command.ts";
import type { SlotStatusReport } from "../../src/cli/slot.ts";
import { inspectSlot } from "../../src/postgres/slot.ts";
import { connectionOf, type TestDatabase, testDatabase } from "../support/postgres.ts";
import { pub, startCapture } from "./capture_support.ts";

describe("flusso slot status|drop", () => {
  let db: TestDatabase;
  let config: Config;
  const printed: string[] = [];
  const run = async (...args: string[]) => {
    printed.length = 0;
    const command = slotCommand({
      loadConfig: () => Promise.resolve(config),
      print: (l) => printed.push(l),
    });
    await command.parseAsync(args, { from: "user" });
  };
  before(async () => {
    db = await testDatabase("capture_cli", "CREATE TABLE a (id int PRIMARY KEY)");
    // Only the [source] part matters to the command.
    config = {
      source: {
        type: "postgres",
        connection: connectionOf(db.url),
        slot: db.slot,
        publication: db.publication,
        managePublication: true,
        heartbeatMs: 0,
      },
    } as unknown as Config;
  });
  after(async () => {
    process.exitCode = 0;
    await db?.drop();
  });

  it("reports_a_missing_slot_and_says_it_will_be_created", async () => {
    await run("status", "--config", "flusso.toml");
    assert.match(printed[0], /does not exist/);
    assert.match(printed.join("\n"), /creates it/);
  });

  it("reports_position_lag_and_wal_status_as_json", async () => {
    const capture = await startCapture(db, [pub("a")]);
    await capture.start.snapshot?.release();
    await capture.stop();
    await run("status", "--config", "flusso.toml", "--json");
    const report = JSON.parse(printed[0]) as SlotStatusReport;
    assert.equal(report.exists, true);
    assert.equal(report.plugin, "pgoutput");
    assert.equal(report.walStatus, "reserved");
    assert.match(report.confirmedFlushLsn!, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.equal(typeof report.lagBytes, "number");
    assert.deepEqual(report.publishedTables, ["public.a"]);
  });

  it("drops_the_slot_and_optionally_the_publication", async () => {
    // The previous test's walsender may still be exiting; a plain drop refuses an active slot.
    for (let i = 0; i < 100; i++) {
      const [row] = await db
        .sql`SELECT active FROM pg_replication_slots WHERE slot_name = ${db.slot}`;
      if (!row?.active) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await run("drop", "--config", "flusso.toml", "--publication");
    assert.deepEqual(printed, [`dropped slot ${db.slot}`, `dropped publication ${db.publication}`]);
    assert.equal(await inspectSlot(db.sql, db.slot), undefined);
    await run("drop", "--config", "flusso.toml");
    assert.deepEqual(printed, [`slot ${db.slot} does not exist`]);
  });
});
