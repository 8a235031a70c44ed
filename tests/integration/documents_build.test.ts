/**
 * The build statements on the examples/shop schema in a real Postgres: every document equals
 * the oracle's (computed in TypeScript from whole tables), whatever the session time zone;
 * missing, soft-deleted and filtered rows become deletes.
 */
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createPostgresDocumentBuilder,
  type PostgresDocumentBuilder,
} from "../../src/postgres/document_builder.ts";
import type { DocKey } from "../../src/engine/ports.ts";
import { documentId } from "../../src/model/document_id.ts";
import { expectedDocuments, snapshot, tablesOfModel } from "../support/oracle.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { customersModel, productsModel, shopIndexes } from "../support/shop_model.ts";

const schema = readFileSync(new URL("../../examples/shop/schema.sql", import.meta.url), "utf8");

describe("document build on the shop schema", () => {
  let db: TestDatabase;
  let builderSql: postgres.Sql;
  let oracleSql: postgres.Sql;
  let builder: PostgresDocumentBuilder;

  before(async () => {
    db = await testDatabase("docs_build", `${schema}\nSELECT shop_seed(100);`);
    // Different session time zones on each side: timestamps must not depend on them.
    builderSql = postgres(db.url, {
      max: 2,
      onnotice: () => {},
      connection: { TimeZone: "America/St_Johns" },
    });
    oracleSql = postgres(db.url, {
      max: 1,
      onnotice: () => {},
      connection: { TimeZone: "Asia/Kolkata" },
    });
    builder = await createPostgresDocumentBuilder({
      sql: builderSql,
      indexes: shopIndexes,
      chunkSize: 17,
    });
  });

  after(async () => {
    await builderSql?.end();
    await oracleSql?.end();
    await db?.drop();
  });

  async function assertMatchesOracle(index: "customers" | "products") {
    const model = index === "customers" ? customersModel : productsModel;
    const expected = expectedDocuments(model, await snapshot(oracleSql, tablesOfModel(model)));
    const keys = [...expected.values()].map((e) => e.key);
    const built = await builder.build(index, [...keys, ["999999"]]);
    assert.equal(built.length, keys.length + 1);
    for (const doc of built) {
      assert.equal(doc.id, documentId(doc.key));
      assert.deepEqual(
        doc.document,
        expected.get(JSON.stringify(doc.key))?.document ?? null,
        `${index} ${doc.id}`,
      );
    }
    return built;
  }

  it("builds_every_customer_document_equal_to_the_oracle", async () => {
    const built = await assertMatchesOracle("customers");
    const one = built.find((d) => d.id === "7")!.document!;
    // A spot check that the oracle is not trivially empty: relations are populated.
    assert.ok(Array.isArray(one.orders) && (one.orders as unknown[]).length > 0);
    assert.equal(one.email, "customer7@example.com");
    assert.equal(one.company, null); // 7 % 7 = 0: no company
    assert.equal(built.at(-1)!.document, null);
  });

  it("builds_every_product_document_equal_to_the_oracle_and_deletes_inactive_ones", async () => {
    const built = await assertMatchesOracle("products");
    assert.equal(built.find((d) => d.id === "17")!.document, null); // 17 % 17 = 0: inactive
  });

  it("turns_soft_deleted_and_missing_rows_into_deletes", async () => {
    await db.sql`UPDATE customers SET deleted_at = now() WHERE id = 3`;
    await db.sql`DELETE FROM customers WHERE id = 4`;
    const [three, four, five] = await builder.build("customers", [["3"], ["4"], ["5"]]);
    assert.equal(three.document, null);
    assert.equal(four.document, null);
    assert.notEqual(five.document, null);
    await assertMatchesOracle("customers");
  });

  it("applies_has_many_order_and_limit_like_the_oracle", async () => {
    // 60 more orders for customer 1: the document keeps the newest 50, newest first.
    await db.sql`INSERT INTO orders (id, customer_id, status, total, created_at)
      SELECT 10000 + i, 1, 'paid', i, timestamptz '2030-01-01' + make_interval(days => i)
      FROM generate_series(1, 60) i`;
    const [doc] = await builder.build("customers", [["1"]]);
    const orders = doc.document!.orders as { id: number }[];
    assert.equal(orders.length, 50);
    assert.equal(orders[0].id, 10060);
    assert.equal(doc.document!.order_count, 60 + 2);
    await assertMatchesOracle("customers");
  });

  it("scans_root_keys_in_key_order_with_keyset_pages", async () => {
    const first = await builder.scanKeys("customers", { limit: 5 });
    assert.deepEqual(first, [["1"], ["2"], ["3"], ["5"], ["6"]]);
    const next = await builder.scanKeys("customers", { limit: 2, after: ["6"] });
    assert.deepEqual(next, [["7"], ["8"]]);
    assert.ok((await builder.estimateRows("customers")) >= 0);
  });

  it("builds_backfill_pages_in_key_order_equal_to_the_oracle_skipping_excluded_rows", async () => {
    for (const index of ["customers", "products"] as const) {
      const model = index === "customers" ? customersModel : productsModel;
      const expected = expectedDocuments(model, await snapshot(oracleSql, tablesOfModel(model)));
      const included = [...expected.values()].filter((e) => e.document !== null);
      // Paged from the first scanned key, in pages of 7 (the backfill's first page is a scan).
      const [first] = await builder.scanKeys(index, { limit: 1 });
      const seen: DocKey[] = [first];
      let after = first;
      for (;;) {
        const page = await builder.buildPage(index, { after, limit: 7 });
        assert.equal(page.keys.length, page.documents.length);
        assert.ok(page.keys.length <= 7);
        for (const doc of page.documents) {
          assert.equal(doc.id, documentId(doc.key));
          assert.notEqual(doc.document, null, `${index} ${doc.id}: a page holds no deletes`);
          assert.deepEqual(
            doc.document,
            expected.get(JSON.stringify(doc.key))?.document,
            `${index} ${doc.id}`,
          );
        }
        seen.push(...page.keys);
        if (page.keys.length < 7) break;
        after = page.keys.at(-1)!;
      }
      const wanted = included.map((e) => e.key).filter((k) => Number(k[0]) > Number(first[0]));
      assert.deepEqual(
        seen.slice(1),
        wanted.sort((a, b) => Number(a[0]) - Number(b[0])),
        `${index}: every included row after the first key, once, in key order`,
      );
    }
  });

  it("lists_every_table_the_indexes_read_for_the_publication", () => {
    const names = builder.tablesOf().map((t) => t.name).sort();
    assert.deepEqual(names, [
      "addresses",
      "companies",
      "customer_tags",
      "customers",
      "order_items",
      "orders",
      "products",
      "tags",
    ]);
  });
});
