/**
 * End to end, as a user runs it: a real Postgres with the examples/shop schema → the compiled
 * `dist/flusso sync` → OpenSearch (the emulator, or the cluster at OPENSEARCH_URL). The index
 * must equal, id for id and field for field, the documents the independent oracle
 * (tests/support/oracle.ts) computes from the tables — after the backfill, after live changes
 * at every relation level, and after a restart — and the slot must be confirmed up to the last
 * commit.
 *
 * The tests share one database and one flusso process and run in order: each builds on the
 * state the previous one left.
 */
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { loadConfig } from "../../src/config/load.ts";
import type { DocumentModel } from "../../src/config/model.ts";
import { documentId } from "../../src/model/document_id.ts";
import { aliasName } from "../../src/opensearch/naming.ts";
import {
  currentWalLsn,
  diffIndex,
  ensureBinary,
  type FlussoProcess,
  formatDiff,
  isEmptyDiff,
  parseLsn,
  readIndex,
  startSync,
  type SyncConfig,
  waitForConfirmedLsn,
  writeSyncConfig,
} from "../support/flusso_process.ts";
import { expectedDocuments, snapshot, tablesOfModel } from "../support/oracle.ts";
import { type OpenSearchTarget, opensearchTarget } from "../support/opensearch/target.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

const SCHEMA = readFileSync(new URL("../../examples/shop/schema.sql", import.meta.url), "utf8");
const TOKEN = "e2e-sync-shop-token-0123456789";

describe("flusso sync end to end on the shop schema", () => {
  let db: TestDatabase;
  let target: OpenSearchTarget;
  let config: SyncConfig;
  let flusso: FlussoProcess | undefined;
  let models: Map<string, DocumentModel>;
  // A unique prefix keeps runs apart on a shared real cluster.
  const prefix = `e2e${process.pid}${Math.random().toString(36).slice(2, 6)}_`;

  const start = () => startSync({ config, databaseUrl: db.url, token: TOKEN });

  /** Compares every index with the oracle; fails with a precise diff. */
  async function assertIndexesMatchOracle(when: string) {
    const reports: string[] = [];
    for (const [name, model] of models) {
      const expected = new Map<string, Record<string, unknown> | null>();
      const oracle = expectedDocuments(model, await snapshot(db.sql, tablesOfModel(model)));
      for (const { key, document } of oracle.values()) expected.set(documentId(key), document);
      // Small pages, so the search_after walk itself is exercised.
      const actual = await readIndex(target.url, aliasName(prefix, name), { pageSize: 64 });
      const diff = diffIndex(actual, expected);
      if (!isEmptyDiff(diff)) reports.push(formatDiff(`${name} ${when}`, diff, actual, expected));
      // Not vacuous: the oracle expects documents and the index holds them.
      assert.ok(actual.size > 0, `${name}: the index is empty ${when}`);
    }
    assert.equal(
      reports.join("\n"),
      "",
      `the index differs from the oracle:\n${reports.join("\n")}`,
    );
  }

  /** Waits until the slot is confirmed up to the WAL end taken now (after the last commit). */
  async function waitForLastCommit(): Promise<string> {
    const lsn = await currentWalLsn(db.sql);
    await waitForConfirmedLsn(db.sql, db.slot, lsn, 20_000);
    return lsn;
  }

  before(async () => {
    ensureBinary();
    target = await opensearchTarget();
    db = await testDatabase("e2e_sync_shop", `${SCHEMA}\nSELECT shop_seed(200);`);
    config = await writeSyncConfig({
      example: "examples/shop",
      slot: db.slot,
      publication: db.publication,
      opensearchUrl: target.url,
      prefix,
    });
    const loaded = await loadConfig(config.path, {
      env: { DATABASE_URL: db.url, FLUSSO_TOKEN: TOKEN },
    });
    models = new Map(loaded.indexes.map((i) => [i.name, i.model]));
    assert.deepEqual([...models.keys()].sort(), ["customers", "products"]);
  });

  after(async () => {
    await flusso?.kill9().catch(() => {});
    await db?.drop();
    await target?.close();
    config?.remove();
  });

  it("backfills_existing_rows_exactly_as_the_oracle_builds_them", async () => {
    flusso = start();
    await flusso.waitReady();
    const status = await flusso.waitLive();
    for (const index of status.indexes) {
      assert.equal(index.seeded, true, `${index.name} seeded`);
      assert.notEqual(index.backfill, null, `${index.name} was backfilled on first start`);
    }
    await assertIndexesMatchOracle("after the backfill");
  });

  it("applies_live_changes_at_every_relation_level", async () => {
    const sql = db.sql;
    // Root: insert, update, delete (cascading to its children), soft delete, restore.
    await sql`INSERT INTO customers (id, name, email, plan_code, company_id, created_at)
              VALUES (1001, 'New Customer', ' New@Example.COM ', 'pro', 3, now())`;
    await sql`UPDATE customers SET name = 'Renamed Five' WHERE id = 5`;
    await sql`DELETE FROM customers WHERE id = 6`;
    await sql`UPDATE customers SET deleted_at = now() WHERE id = 8`;
    await sql`UPDATE customers SET deleted_at = now() WHERE id = 9`;
    await sql`UPDATE customers SET deleted_at = NULL, plan_code = NULL WHERE id = 9`;
    // belongs_to: the target changes (every customer of company 4), re-point, unset, set.
    await sql`UPDATE companies SET name = 'Acme', country = 'CH' WHERE id = 4`;
    await sql`UPDATE customers SET company_id = 5 WHERE id = 10`;
    await sql`UPDATE customers SET company_id = NULL WHERE id = 11`;
    await sql`UPDATE customers SET company_id = 2 WHERE id = 14`;
    // has_one (the default address): update, delete, re-parent, is_default flip.
    await sql`UPDATE addresses SET city = 'Milano', lat = NULL WHERE id = 12`;
    await sql`DELETE FROM addresses WHERE id = 16`;
    await sql.begin(async (tx) => {
      await tx`UPDATE addresses SET is_default = false WHERE id = 13`;
      await tx`UPDATE addresses SET customer_id = 13 WHERE id = 15`;
    });
    await sql.begin(async (tx) => {
      await tx`UPDATE addresses SET is_default = false WHERE id = 20`;
      await tx`UPDATE addresses SET is_default = true WHERE id = 220`;
    });
    // has_many orders: insert (with items), update, delete (cascading items), re-parent.
    await sql.begin(async (tx) => {
      await tx`INSERT INTO orders (id, customer_id, status, total, created_at)
               VALUES (5001, 21, 'paid', 99.99, now())`;
      await tx`INSERT INTO order_items (id, order_id, product_id, quantity, price)
               VALUES (9001, 5001, 1, 2, 10.50), (9002, 5001, 2, 1, 0.01)`;
    });
    await sql`UPDATE orders SET status = 'paid' WHERE id = 4`; // aggregates: lifetime_value
    await sql`UPDATE orders SET total = 1234.56 WHERE id = 3`; // a paid order's total
    await sql`UPDATE orders SET status = 'refunded' WHERE id = 6`; // leaves lifetime_value
    await sql`DELETE FROM orders WHERE id = 5`; // order_count, items, times_ordered
    await sql`UPDATE orders SET customer_id = 40 WHERE id = 7`;
    // Nested order_items: update, delete, re-parent to another order (and customer).
    await sql`UPDATE order_items SET quantity = 99, price = 1.23 WHERE id = 21`;
    await sql`DELETE FROM order_items WHERE id = 23`;
    await sql`UPDATE order_items SET order_id = 14 WHERE id = 25`;
    // products: through items → product belongs_to for customers; the products index too.
    await sql`UPDATE products SET name = 'Gadget' WHERE id = 3`;
    await sql`UPDATE products SET active = false WHERE id = 4`;
    await sql`UPDATE products SET active = true WHERE id = 17`;
    await sql`INSERT INTO products (id, sku, name, price, attributes)
              VALUES (41, 'SKU-000041', 'Brand New', 12.34, '{"color":"teal","n":[1,2]}')`;
    await sql`UPDATE order_items SET product_id = 41 WHERE id = 31`;
    // many_to_many: the far side's label, the junction's insert and delete.
    await sql`UPDATE tags SET label = 'vip' WHERE id = 3`;
    await sql`INSERT INTO customer_tags (customer_id, tag_id) VALUES (30, 1)`;
    await sql`DELETE FROM customer_tags WHERE customer_id = 1 AND tag_id = 6`;
    // A multi-statement transaction touching every level of one new customer.
    await sql.begin(async (tx) => {
      await tx`INSERT INTO customers (id, name, email, company_id) VALUES (1002, 'Tx', 'tx@e.com', 1)`;
      await tx`INSERT INTO addresses (id, customer_id, city, country, lat, lon, is_default)
               VALUES (7001, 1002, 'Torino', 'IT', 45.07, 7.68, true)`;
      await tx`INSERT INTO orders (id, customer_id, status, total) VALUES (5002, 1002, 'paid', 5)`;
      await tx`INSERT INTO order_items (id, order_id, product_id, quantity, price)
               VALUES (9003, 5002, 3, 1, 5)`;
      await tx`INSERT INTO customer_tags (customer_id, tag_id) VALUES (1002, 3), (1002, 4)`;
      await tx`UPDATE customers SET name = 'Tx Renamed' WHERE id = 1002`;
      await tx`UPDATE orders SET status = 'pending' WHERE id = 5002`;
    });
    // A primary-key update: the old document goes, the new one appears.
    await sql`UPDATE customers SET id = 3001 WHERE id = 1001`;

    const lsn = await waitForLastCommit();
    await assertIndexesMatchOracle(`after live changes (slot confirmed ≥ ${lsn})`);
  });

  it("confirms_the_slot_up_to_the_last_commit", async () => {
    await db.sql`UPDATE customers SET name = 'Confirmed' WHERE id = 2`;
    const lsn = await currentWalLsn(db.sql);
    const confirmed = await waitForConfirmedLsn(db.sql, db.slot, lsn, 20_000);
    assert.ok(parseLsn(confirmed) >= parseLsn(lsn), `${confirmed} ≥ ${lsn}`);
    // Flush before confirm: once the slot passed the commit, its document is in the index.
    const customers = await readIndex(target.url, aliasName(prefix, "customers"));
    assert.equal(customers.get("2")?.name, "Confirmed");
    // And /status reports a confirmed position at least as far as the commit's.
    const status = await flusso!.status();
    assert.ok(status.confirmedLsn !== null, "/status reports a confirmed LSN");
  });

  it("restarts_without_backfilling_again_and_resumes_streaming", async () => {
    await flusso!.stop();
    // Changes while flusso is down wait in the slot.
    await db.sql`UPDATE customers SET name = 'While Down' WHERE id = 50`;
    await db.sql`DELETE FROM orders WHERE id = 9`;
    await db.sql`UPDATE products SET price = 7.77 WHERE id = 5`;
    flusso = start();
    const status = await flusso.waitLive();
    for (const index of status.indexes) {
      assert.equal(index.seeded, true, `${index.name} stays seeded`);
      assert.equal(index.backfill, null, `${index.name} must not be backfilled again`);
    }
    // And it keeps streaming after the restart.
    await db.sql`UPDATE customers SET name = 'After Restart' WHERE id = 51`;
    await db.sql`UPDATE tags SET label = 'gold' WHERE id = 4`;
    const lsn = await waitForLastCommit();
    await assertIndexesMatchOracle(`after a restart (slot confirmed ≥ ${lsn})`);
  });

  it("runs_the_sync_in_the_spawned_pid_with_the_jsc_tuning_in_its_environment", () => {
    // The binary re-executes itself (execve, same PID) to set JavaScriptCore's options.
    const environ = readFileSync(`/proc/${flusso!.pid}/environ`, "utf8").split("\0");
    for (const expected of ["BUN_JSC_forceRAMSize=268435456", "BUN_JSC_useFTLJIT=false"]) {
      assert.ok(
        environ.includes(expected),
        `the running sync's environment lacks ${expected}: ${
          environ.filter((e) => e.startsWith("BUN_")).join(" ") || "(no BUN_ variables)"
        }`,
      );
    }
  });

  it("clean_sigterm_exits_zero_and_leaves_the_slot_at_the_flushed_position", async () => {
    const before = await flusso!.status();
    await db.sql`UPDATE customers SET name = 'Last' WHERE id = 52`;
    // Flushed and confirmed inside flusso (the slot itself hears of it at the next status
    // update, up to 10 s later) ...
    const status = await flusso!.waitForStatus(
      (s) => s.counters.batches > before.counters.batches,
      "a batch after the last update",
    );
    const customers = await readIndex(target.url, aliasName(prefix, "customers"));
    assert.equal(customers.get("52")?.name, "Last");
    assert.ok(status.confirmedLsn !== null && before.confirmedLsn !== null);
    assert.ok(parseLsn(status.confirmedLsn) > parseLsn(before.confirmedLsn));
    // ... so a clean stop must hand that position to Postgres before it exits 0.
    await flusso!.stop(); // asserts exit code 0
    assert.ok(
      flusso!.logLines().some((l) => l.msg === "flusso stopped"),
      `a clean stop logs "flusso stopped"\n${flusso!.output().slice(-2000)}`,
    );
    const [row] = await db.sql<{ lsn: string; active: boolean }[]>`
      SELECT confirmed_flush_lsn::text AS lsn, active FROM pg_replication_slots
      WHERE slot_name = ${db.slot}`;
    assert.ok(
      parseLsn(row.lsn) >= parseLsn(status.confirmedLsn),
      `slot confirmed_flush_lsn ${row.lsn} ≥ flushed ${status.confirmedLsn}`,
    );
    flusso = undefined;
  });
});
