/**
 * `flusso sync --dry-run` prints what it would write and changes nothing a real sync depends
 * on: it streams from a temporary slot of its own, so the configured slot (which it would
 * otherwise confirm past the printed changes, skipping them for the real sync) keeps its
 * position, and no slot is left behind.
 */
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ensureBinary,
  type FlussoProcess,
  startSync,
  type SyncConfig,
  writeSyncConfig,
} from "../support/flusso_process.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

const SCHEMA = readFileSync(new URL("../../examples/shop/schema.sql", import.meta.url), "utf8");

/** The stdout envelopes printed so far (log lines are JSON too, but have no `op`). */
function envelopes(flusso: FlussoProcess): { index: string; op: string; id: string }[] {
  return flusso.logLines().filter((l) => typeof l.op === "string") as never;
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("flusso sync --dry-run", () => {
  let db: TestDatabase;
  let config: SyncConfig;
  let flusso: FlussoProcess | undefined;

  before(async () => {
    ensureBinary();
    db = await testDatabase("e2e_dry_run", `${SCHEMA}\nSELECT shop_seed(20);`);
    // Nothing listens here: a dry run must not contact OpenSearch.
    config = await writeSyncConfig({
      example: "examples/shop",
      slot: db.slot,
      publication: db.publication,
      opensearchUrl: "http://127.0.0.1:9",
    });
  });

  after(async () => {
    await flusso?.kill9().catch(() => {});
    await db?.drop();
    config?.remove();
  });

  it("prints_backfill_and_live_changes_without_creating_or_confirming_the_configured_slot", async () => {
    // The slot a real sync created earlier, at the current end of WAL.
    const [{ lsn }] = await db.sql<{ lsn: string }[]>`
      SELECT lsn::text FROM pg_create_logical_replication_slot(${db.slot}, 'pgoutput')`;
    const confirmedOf = async () =>
      (await db.sql<{ c: string }[]>`
        SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots
        WHERE slot_name = ${db.slot}`)[0]?.c;
    const before = await confirmedOf();
    assert.equal(before, lsn);

    flusso = startSync({ config, databaseUrl: db.url, args: ["--dry-run"] });
    await until(
      "the backfill is printed",
      () => envelopes(flusso!).some((e) => e.index === "customers" && e.id === "20"),
    );
    const streamer = await db.sql<{ slot_name: string; temporary: boolean }[]>`
      SELECT slot_name, temporary FROM pg_replication_slots WHERE slot_name <> ${db.slot}`;
    assert.equal(streamer.length, 1, "the dry run streams from a slot of its own");
    assert.equal(streamer[0].temporary, true);

    await db.sql`UPDATE customers SET name = 'Dry Run' WHERE id = 7`;
    await until(
      "the live change is printed",
      () =>
        envelopes(flusso!).some((e) =>
          e.index === "customers" && e.id === "7" &&
          (e as { document?: { name?: string } }).document?.name === "Dry Run"
        ),
    );
    // The dry run confirms its own slot; give it the time to, then check it left ours alone.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await confirmedOf(), before, "the configured slot did not move");
    await flusso.stop();
    flusso = undefined;

    const left = await db.sql<{ slot_name: string }[]>`
      SELECT slot_name FROM pg_replication_slots WHERE database = current_database()`;
    assert.deepEqual(left.map((r) => r.slot_name), [db.slot], "no slot left behind");
  });

  it("ends_with_a_clear_message_when_its_replication_connection_drops", async () => {
    const before = await db.sql<{ c: string }[]>`
      SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = ${db.slot}`;
    flusso = startSync({ config, databaseUrl: db.url, args: ["--dry-run"] });
    let pid: number | null = null;
    await until("the dry run streams", async () => {
      const rows = await db.sql<{ pid: number | null }[]>`
        SELECT active_pid AS pid FROM pg_replication_slots
        WHERE temporary AND database = current_database()`;
      pid = rows[0]?.pid ?? null;
      return pid !== null;
    });
    await db.sql`SELECT pg_terminate_backend(${pid})`;
    // Its temporary slot went with the connection: no retry can resume it.
    assert.equal(await flusso.exited(), 1);
    assert.match(flusso.output(), /the dry run's replication connection ended/);
    assert.match(flusso.output(), /Run the dry run again/);
    assert.doesNotMatch(flusso.output(), /Re-seed/);
    flusso = undefined;
    const after = await db.sql<{ c: string }[]>`
      SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = ${db.slot}`;
    assert.deepEqual(after, before, "the configured slot did not move");
  });
});
