/**
 * Resolution on the examples/shop schema in a real Postgres: for every relation kind, a
 * change at each level (insert, update, delete, re-parent) resolves to every document whose
 * content changed — checked against the oracle's before/after documents — and the rebuilt
 * documents equal the oracle's. Lookups are per hop, not per change.
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import type { TableRef } from "../../src/config/model.ts";
import type { Change, Row } from "../../src/engine/change.ts";
import type { DocKey } from "../../src/engine/ports.ts";
import type { LogFields, Logger } from "../../src/ops/logger.ts";
import {
  createPostgresDocumentBuilder,
  type PostgresDocumentBuilder,
} from "../../src/postgres/document_builder.ts";
import { requiredOldColumns } from "../../src/model/resolve_plan.ts";
import { replicaIdentityWarnings } from "../../src/postgres/replica_identity_check.ts";
import { expectedDocuments, snapshot, tablesOfModel } from "../support/oracle.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { customersModel, productsModel, shopIndexes } from "../support/shop_model.ts";

const schema = readFileSync(new URL("../../examples/shop/schema.sql", import.meta.url), "utf8");
const models = { customers: customersModel, products: productsModel } as const;
type IndexName = keyof typeof models;

const t = (name: string): TableRef => ({ schema: "public", name });

describe("change resolution on the shop schema", () => {
  let db: TestDatabase;
  let counted: postgres.Sql;
  let queries = 0;
  let builder: PostgresDocumentBuilder;
  const warnings: { message: string; fields?: LogFields }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(message, fields) {
      warnings.push({ message, fields });
    },
    error() {},
    child() {
      return logger;
    },
  };

  before(async () => {
    db = await testDatabase("docs_resolve", `${schema}\nSELECT shop_seed(100);`);
    counted = postgres(db.url, {
      max: 2,
      onnotice: () => {},
      debug: () => {
        queries++;
      },
    });
    builder = await createPostgresDocumentBuilder({ sql: counted, indexes: shopIndexes, logger });
  });

  after(async () => {
    await counted?.end();
    await db?.drop();
  });

  /** A row's text output, as pgoutput sends it. */
  async function row(
    table: string,
    where: string,
    params: string[] = [],
  ): Promise<Row | undefined> {
    const result = await db.sql.unsafe(`SELECT * FROM ${table} WHERE ${where}`, params).raw();
    if (result.length === 0) return undefined;
    const out: Record<string, string | null> = {};
    const raw = result[0] as unknown as (Uint8Array | null)[];
    result.columns.forEach((c, i) => {
      out[c.name] = raw[i] === null ? null : Buffer.from(raw[i]!).toString("utf8");
    });
    return out;
  }

  let lsn = 100n;
  /** The Change pgoutput would send, under REPLICA IDENTITY FULL unless `keyOnly` names the key. */
  function change(
    op: Change["op"],
    table: string,
    before: Row | undefined,
    after: Row | undefined,
    keyOnly?: readonly string[],
  ): Change {
    let old: Row | undefined = before;
    if (keyOnly && before) {
      const keyChanged = after && keyOnly.some((k) => after[k] !== before[k]);
      old = op === "delete" || keyChanged
        ? Object.fromEntries(keyOnly.map((k) => [k, before[k]]))
        : undefined;
    }
    return {
      op,
      table: t(table),
      new: op === "delete" ? undefined : after,
      old: op === "insert" ? undefined : old,
      oldIsFull: keyOnly === undefined && old !== undefined,
      lsn: lsn++,
      size: 100,
    };
  }

  async function oracle(index: IndexName) {
    return expectedDocuments(models[index], await snapshot(db.sql, tablesOfModel(models[index])));
  }

  /**
   * Runs `mutate` (which returns the changes it made) and checks: every document whose oracle
   * content changed is resolved; the resolved set is exactly `expected`; rebuilt documents
   * equal the oracle's.
   */
  async function scenario(
    mutate: () => Promise<Change[]>,
    expected: Partial<Record<IndexName, string[]>>,
  ) {
    const before = { customers: await oracle("customers"), products: await oracle("products") };
    const changes = await mutate();
    const after = { customers: await oracle("customers"), products: await oracle("products") };
    const resolution = await builder.resolve(changes);
    for (const index of ["customers", "products"] as const) {
      const resolved = (resolution.keys.get(index) ?? []).map((k) => k[0]).sort();
      const changed = new Set<string>();
      for (const [id, e] of after[index]) {
        if (
          JSON.stringify(e.document) !== JSON.stringify(before[index].get(id)?.document ?? null)
        ) {
          changed.add(e.key[0]);
        }
      }
      for (const [id, e] of before[index]) if (!after[index].has(id)) changed.add(e.key[0]);
      for (const k of changed) {
        assert.ok(resolved.includes(k), `${index}: changed document ${k} was not resolved`);
      }
      assert.deepEqual(resolved, [...(expected[index] ?? [])].sort(), `${index} resolved keys`);
      const keys: DocKey[] = resolved.map((k) => [k]);
      for (const doc of await builder.build(index, keys)) {
        assert.deepEqual(doc.document, after[index].get(JSON.stringify(doc.key))?.document ?? null);
      }
    }
    return resolution;
  }

  /** Runs `statement`, returning the row before and after (by primary key `id` unless given). */
  async function mutateRow(table: string, where: string, statement: string, afterWhere = where) {
    const before = await row(table, where);
    await db.sql.unsafe(statement);
    const after = await row(table, afterWhere);
    return { before, after };
  }

  const customersOf = async (where: string) =>
    (await db.sql.unsafe<{ id: string }[]>(`SELECT id::text FROM customers WHERE ${where}`)).map((
      r,
    ) => r.id);

  it("resolves_a_root_update_to_its_own_document", async () => {
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "customers",
        "id = 10",
        "UPDATE customers SET name = 'Renamed' WHERE id = 10",
      );
      return [change("update", "customers", before, after)];
    }, { customers: ["10"] });
  });

  it("resolves_a_belongs_to_target_update_to_every_referrer", async () => {
    const referrers = await customersOf("company_id = 3");
    assert.ok(referrers.length > 1);
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "companies",
        "id = 3",
        "UPDATE companies SET name = 'ACME' WHERE id = 3",
      );
      return [change("update", "companies", before, after)];
    }, { customers: referrers });
  });

  it("resolves_has_one_update_reparent_insert_and_delete", async () => {
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "addresses",
        "id = 20",
        "UPDATE addresses SET city = 'Torino' WHERE id = 20",
      );
      return [change("update", "addresses", before, after)];
    }, { customers: ["20"] });
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "addresses",
        "id = 21",
        "UPDATE addresses SET customer_id = 22 WHERE id = 21",
      );
      return [change("update", "addresses", before, after)];
    }, { customers: ["21", "22"] });
    await scenario(async () => {
      const { before } = await mutateRow(
        "addresses",
        "id = 21",
        "DELETE FROM addresses WHERE id = 21",
      );
      return [change("delete", "addresses", before, undefined)];
    }, { customers: ["22"] });
    await scenario(async () => {
      const { after } = await mutateRow(
        "addresses",
        "id = 9001",
        "INSERT INTO addresses (id, customer_id, city, country, is_default) VALUES (9001, 21, 'Bari', 'IT', true)",
      );
      return [change("insert", "addresses", undefined, after)];
    }, { customers: ["21"] });
  });

  it("resolves_has_many_and_aggregate_changes_including_reparenting", async () => {
    const [{ customer_id: owner }] = await db.sql<
      { customer_id: string }[]
    >`SELECT customer_id::text FROM orders WHERE id = 30`;
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "orders",
        "id = 30",
        "UPDATE orders SET status = 'paid', total = 12345678.91 WHERE id = 30",
      );
      return [change("update", "orders", before, after)];
    }, { customers: [owner] });
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "orders",
        "id = 30",
        "UPDATE orders SET customer_id = 99 WHERE id = 30",
      );
      return [change("update", "orders", before, after)];
    }, { customers: [owner, "99"] });
    await scenario(async () => {
      const { after } = await mutateRow(
        "orders",
        "id = 9100",
        "INSERT INTO orders (id, customer_id, status, total) VALUES (9100, 98, 'paid', 1.5)",
      );
      return [change("insert", "orders", undefined, after)];
    }, { customers: ["98"] });
  });

  it("resolves_nested_has_many_item_changes_through_their_order", async () => {
    const ownerOf = async (order: number) =>
      (await db.sql<
        { c: string }[]
      >`SELECT customer_id::text AS c FROM orders WHERE id = ${order}`)[0].c;
    const [{ order_id: order, product_id: product }] = await db.sql<
      { order_id: number; product_id: string }[]
    >`
      SELECT order_id, product_id::text FROM order_items WHERE id = 40`;
    const oldOwner = await ownerOf(order);
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "order_items",
        "id = 40",
        "UPDATE order_items SET quantity = 77 WHERE id = 40",
      );
      return [change("update", "order_items", before, after)];
    }, { customers: [oldOwner], products: [product] });
    // Re-parent the item to an order of another customer: both customers are rebuilt.
    const otherOrder = 150;
    const newOwner = await ownerOf(otherOrder);
    assert.notEqual(newOwner, oldOwner);
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "order_items",
        "id = 40",
        `UPDATE order_items SET order_id = ${otherOrder} WHERE id = 40`,
      );
      return [change("update", "order_items", before, after)];
    }, { customers: [oldOwner, newOwner].sort(), products: [product] });
    await scenario(async () => {
      const { before } = await mutateRow(
        "order_items",
        "id = 40",
        "DELETE FROM order_items WHERE id = 40",
      );
      return [change("delete", "order_items", before, undefined)];
    }, { customers: [newOwner], products: [product] });
  });

  it("resolves_a_product_change_to_customers_whose_items_reference_it", async () => {
    const owners = (await db.sql<{ c: string }[]>`
      SELECT DISTINCT o.customer_id::text AS c FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE i.product_id = 5`).map((r) => r.c);
    assert.ok(owners.length > 0);
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "products",
        "id = 5",
        "UPDATE products SET name = 'Gadget' WHERE id = 5",
      );
      return [change("update", "products", before, after)];
    }, { customers: owners, products: ["5"] });
  });

  it("resolves_many_to_many_junction_and_far_side_changes", async () => {
    await scenario(async () => {
      const { after } = await mutateRow(
        "customer_tags",
        "customer_id = 50 AND tag_id = 1",
        "INSERT INTO customer_tags VALUES (50, 1)",
      );
      return [change("insert", "customer_tags", undefined, after)];
    }, { customers: ["50"] });
    await scenario(async () => {
      const { before } = await mutateRow(
        "customer_tags",
        "customer_id = 50 AND tag_id = 1",
        "DELETE FROM customer_tags WHERE customer_id = 50 AND tag_id = 1",
      );
      return [change("delete", "customer_tags", before, undefined)];
    }, { customers: ["50"] });
    const tagged = (await db.sql<
      { c: string }[]
    >`SELECT customer_id::text AS c FROM customer_tags WHERE tag_id = 4`).map((r) => r.c);
    await scenario(async () => {
      const { before, after } = await mutateRow(
        "tags",
        "id = 4",
        "UPDATE tags SET label = 'vip' WHERE id = 4",
      );
      return [change("update", "tags", before, after)];
    }, { customers: tagged });
  });

  it("resolves_a_batch_of_1000_child_changes_with_one_lookup_per_hop", async () => {
    const rows = await db.sql.unsafe<Record<string, string>[]>(
      `SELECT format('%s', id) AS id, format('%s', order_id) AS order_id, format('%s', product_id) AS product_id,
              format('%s', quantity) AS quantity, format('%s', price) AS price FROM order_items ORDER BY id LIMIT 1000`,
    );
    assert.ok(rows.length > 300); // shop_seed(100) has ~400 items; repeat them to 1,000 changes
    const changes: Change[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = rows[i % rows.length];
      changes.push(change("update", "order_items", r, { ...r, quantity: String(i) }));
    }
    queries = 0;
    const resolution = await builder.resolve(changes);
    // order_items → orders is read from the tuples; orders → customers is one lookup.
    assert.equal(queries, 1);
    assert.ok((resolution.keys.get("customers") ?? []).length > 50);
    assert.ok((resolution.keys.get("products") ?? []).length > 10);
  });

  it("reports_truncate_of_any_table_an_index_reads", async () => {
    const resolution = await builder.resolve([
      { op: "truncate", table: t("tags"), lsn: lsn++, size: 10 },
    ]);
    assert.deepEqual([...resolution.truncated], ["customers"]);
  });

  it("check_lists_exactly_the_tables_whose_replica_identity_lacks_needed_old_columns", async () => {
    // The shop sets FULL on every child table: nothing to warn about.
    assert.deepEqual(await replicaIdentityWarnings(db.sql, builder.graphs()), []);
    await db.sql`ALTER TABLE orders REPLICA IDENTITY DEFAULT`;
    await db.sql`ALTER TABLE customer_tags REPLICA IDENTITY DEFAULT`;
    const warnings = await replicaIdentityWarnings(db.sql, builder.graphs());
    // customer_tags' primary key includes customer_id, so its default identity suffices.
    assert.deepEqual(warnings.map((w) => [w.table.name, w.identity, w.missing, w.indexes]), [
      ["orders", "default", ["customer_id"], ["customers"]],
    ]);
    assert.equal(warnings[0].fix, 'ALTER TABLE "public"."orders" REPLICA IDENTITY FULL;');
    await db.sql`ALTER TABLE orders REPLICA IDENTITY FULL`;
    await db.sql`ALTER TABLE customer_tags REPLICA IDENTITY FULL`;
  });

  it("warns_when_a_child_delete_lacks_the_old_foreign_key_under_default_replica_identity", async () => {
    const needs = requiredOldColumns(builder.graphs());
    const addresses = needs.find((n) => n.table.name === "addresses");
    assert.deepEqual(addresses?.columns, ["customer_id"]);
    const junction = needs.find((n) => n.table.name === "customer_tags");
    assert.deepEqual(junction?.columns, ["customer_id"]);

    await db.sql`ALTER TABLE addresses REPLICA IDENTITY DEFAULT`;
    const { before } = await mutateRow(
      "addresses",
      "id = 60",
      "DELETE FROM addresses WHERE id = 60",
    );
    warnings.length = 0;
    const resolution = await builder.resolve([
      change("delete", "addresses", before, undefined, ["id"]),
    ]);
    // The old parent (customer 60) cannot be found: documented, and warned about.
    assert.equal(resolution.keys.get("customers"), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /REPLICA IDENTITY FULL/);
    // A junction whose key includes the left key still reaches its parent with only the key.
    await db.sql`ALTER TABLE customer_tags REPLICA IDENTITY DEFAULT`;
    const tagRow = await row("customer_tags", "customer_id = 7");
    const junctionDelete = await builder.resolve([
      change("delete", "customer_tags", tagRow, undefined, ["customer_id", "tag_id"]),
    ]);
    assert.deepEqual(junctionDelete.keys.get("customers"), [["7"]]);
  });
});
