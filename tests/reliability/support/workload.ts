/**
 * A seeded random workload over the examples/shop schema, for the reliability suite.
 *
 *     const shop = await prepareShop(db.sql, 300);              // schema + shop_seed(300)
 *     const workload = createWorkload({ sql: db.sql, seed: 42 });
 *     const stop = new AbortController();
 *     const done = workload.run({ signal: stop.signal, maxTransactions: 500 });
 *     ...; stop.abort(); const stats = await done;
 *     workload.transactions   // one TransactionRecord per committed transaction (for ack_audit)
 *
 * Every transaction is one operation: inserts, updates and deletes at every level, re-parenting
 * of addresses/orders/items, child deletes, customer primary-key changes, soft deletes,
 * occasional large transactions (thousands of order_items rows), TRUNCATE of a related table
 * (order_items or customer_tags: flusso rebuilds the index) and, rarely, of the root
 * (customers, cascading). Transactions run strictly one after another, so the database state
 * (and hence every choice) is a function of the seed.
 *
 * Each committed transaction records the documents it changed by construction (which
 * `customers` and `products` ids), and two WAL positions bracketing its commit record:
 * `lsnBefore` (read inside the transaction just before COMMIT: the commit record ends after it)
 * and `lsnAfter` (read after COMMIT returned: the commit record ends at or before it).
 */
import postgres from "postgres";
import { readFileSync } from "node:fs";
import { type Lsn, parseLsn } from "../../../src/engine/change.ts";
import { type Random, seededRandom } from "./random.ts";

/** The operations the workload draws from. */
export type OperationKind =
  | "customer_insert"
  | "customer_update"
  | "customer_soft_delete"
  | "customer_delete"
  | "customer_pk_change"
  | "address_insert"
  | "address_update"
  | "address_reparent"
  | "address_delete"
  | "order_insert"
  | "order_update"
  | "order_reparent"
  | "order_delete"
  | "item_insert"
  | "item_update"
  | "item_reparent"
  | "item_delete"
  | "tag_add"
  | "tag_remove"
  | "tag_relabel"
  | "product_insert"
  | "product_update"
  | "company_update"
  | "large_transaction"
  | "truncate_related"
  | "truncate_root";

/** Default weights: mostly small changes, large transactions and truncates are rare. */
export const DEFAULT_WEIGHTS: Readonly<Record<OperationKind, number>> = {
  customer_insert: 6,
  customer_update: 8,
  customer_soft_delete: 2,
  customer_delete: 2,
  customer_pk_change: 2,
  address_insert: 3,
  address_update: 4,
  address_reparent: 2,
  address_delete: 2,
  order_insert: 8,
  order_update: 8,
  order_reparent: 3,
  order_delete: 3,
  item_insert: 8,
  item_update: 6,
  item_reparent: 3,
  item_delete: 4,
  tag_add: 4,
  tag_remove: 4,
  tag_relabel: 1,
  product_insert: 2,
  product_update: 4,
  company_update: 2,
  large_transaction: 0.3,
  truncate_related: 0.15,
  truncate_root: 0.02,
};

/** The documents one transaction changed, by logical index name (`customers`, `products`). */
export interface AffectedDocuments {
  readonly customers: readonly string[];
  readonly products: readonly string[];
}

/** One committed transaction of the workload. */
export interface TransactionRecord {
  /** 1, 2, 3… in commit order. */
  readonly seq: number;
  readonly kind: OperationKind;
  /** WAL insert position read inside the transaction just before COMMIT (< commit end LSN). */
  readonly lsnBefore: Lsn;
  /** WAL insert position read after COMMIT returned (≥ commit end LSN). */
  readonly lsnAfter: Lsn;
  /** Epoch ms when COMMIT returned. */
  readonly committedAt: number;
  /** Rows the transaction wrote (approximate for cascades). */
  readonly rows: number;
  /** Document ids whose content the transaction changed (exact for every kind but truncates). */
  readonly affected: AffectedDocuments;
  /**
   * True for TRUNCATEs: flusso answers them with a rebuild into a new generation rather than
   * per-document writes, so the ack audit does not check them (the ground truth does).
   */
  readonly rebuild: boolean;
  /** Tables a TRUNCATE emptied (empty for other kinds). */
  readonly truncated: readonly string[];
  /**
   * Tables whose *current* rows flusso must read to find the documents this transaction
   * changed (e.g. a relabelled tag reaches customers through customer_tags): a later TRUNCATE
   * of one of them can hide those documents from the transaction's own resolution.
   */
  readonly resolvesThrough: readonly string[];
}

/** Per kind, the tables whose current rows resolve its documents (see TransactionRecord). */
export const RESOLVES_THROUGH: Readonly<Record<OperationKind, readonly string[]>> = {
  customer_insert: ["orders"],
  customer_update: [],
  customer_soft_delete: [],
  customer_delete: ["orders"],
  customer_pk_change: [],
  address_insert: [],
  address_update: [],
  address_reparent: [],
  address_delete: [],
  order_insert: ["orders"],
  order_update: [],
  order_reparent: [],
  order_delete: ["orders"],
  item_insert: ["orders"],
  item_update: ["orders"],
  item_reparent: ["orders"],
  item_delete: ["orders"],
  tag_add: [],
  tag_remove: [],
  tag_relabel: ["customer_tags"],
  product_insert: [],
  product_update: ["order_items", "orders"],
  company_update: ["customers"],
  large_transaction: ["orders"],
  truncate_related: [],
  truncate_root: [],
};

/** What `run` did. */
export interface WorkloadStats {
  readonly transactions: number;
  readonly rows: number;
  readonly byKind: Readonly<Partial<Record<OperationKind, number>>>;
  /** Transactions that failed (and were rolled back); the workload goes on after them. */
  readonly failed: number;
}

/** Options of `createWorkload`. */
export interface WorkloadOptions {
  /** A client on the shop database (the workload never runs two transactions at once). */
  readonly sql: postgres.Sql;
  readonly seed: number;
  /** Overrides of DEFAULT_WEIGHTS (0 disables a kind). */
  readonly weights?: Partial<Record<OperationKind, number>>;
  /** Rows of a large transaction: a uniform draw in [min, max]. Default 5000–20000. */
  readonly largeTransactionRows?: { readonly min: number; readonly max: number };
  /** Pause between transactions in ms (default 0). */
  readonly pauseMs?: number;
  /** Keep TransactionRecords (default true; the ack audit needs them). */
  readonly record?: boolean;
}

/** Options of one `run`. */
export interface RunOptions {
  /** Stops the loop after the transaction in progress. */
  readonly signal?: AbortSignal;
  /** Upper bound on transactions in this run (default unbounded: stop by signal or time). */
  readonly maxTransactions?: number;
  /** Upper bound on this run's duration in ms (default 60 000). */
  readonly maxMs?: number;
}

/** A workload over one shop database. */
export interface Workload {
  /** Runs transactions one after another until a bound is hit; resolves with what it did. */
  run(options?: RunOptions): Promise<WorkloadStats>;
  /**
   * Runs exactly one transaction of `kind` now (only while `run` is not running: the workload
   * must stay sequential); resolves with its record, undefined when there was nothing to do.
   */
  runOne(kind: OperationKind): Promise<TransactionRecord | undefined>;
  /** Makes the running loop (or the next `run`) do `kind` as its next transaction. */
  enqueue(kind: OperationKind): void;
  /** Every committed transaction so far, in commit order (empty when `record` is false). */
  readonly transactions: readonly TransactionRecord[];
}

const SCHEMA_SQL = new URL("../../../examples/shop/schema.sql", import.meta.url);

/** The shop schema.sql text. */
export function shopSchemaSql(): string {
  return readFileSync(SCHEMA_SQL, "utf8");
}

/** Creates the shop schema in an empty database and seeds `customers` customers. */
export async function prepareShop(sql: postgres.Sql, customers: number): Promise<void> {
  await sql.unsafe(shopSchemaSql());
  await sql`SELECT shop_seed(${customers}::int)`;
}

type Tx = postgres.TransactionSql;

/** Collects the affected ids of one transaction. */
class Affected {
  readonly customers = new Set<string>();
  readonly products = new Set<string>();
  readonly truncated: string[] = [];
  rows = 0;
  customer(...ids: (string | number | null | undefined)[]) {
    for (const id of ids) if (id !== null && id !== undefined) this.customers.add(String(id));
  }
  product(...ids: (string | number | null | undefined)[]) {
    for (const id of ids) if (id !== null && id !== undefined) this.products.add(String(id));
  }
}

type IdRow = { id: string };

/** Tables the workload picks rows from (fixed names, never from config). */
type ShopTable =
  | "customers"
  | "addresses"
  | "orders"
  | "order_items"
  | "products"
  | "tags"
  | "companies";

/** Creates a workload; see the module comment. */
export function createWorkload(options: WorkloadOptions): Workload {
  const { sql } = options;
  const random: Random = seededRandom(options.seed);
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const large = options.largeTransactionRows ?? { min: 5000, max: 20000 };
  const record = options.record !== false;
  const transactions: TransactionRecord[] = [];
  let nextIds: Record<ShopTable, number> | undefined;
  let seq = 0;
  const queued: OperationKind[] = [];

  const newId = (table: ShopTable) => {
    const id = nextIds![table];
    nextIds![table] = id + 1;
    return id;
  };

  async function loadNextIds() {
    const out = {} as Record<ShopTable, number>;
    for (
      const t of [
        "customers",
        "addresses",
        "orders",
        "order_items",
        "products",
        "tags",
        "companies",
      ] as const
    ) {
      const [{ max }] = await sql.unsafe(
        `SELECT coalesce(max(id), 0)::int8::text AS max FROM ${t}`,
      );
      out[t] = Number(max) + 1;
    }
    nextIds = out;
  }

  /** A random existing row id of `table` (null when the table is empty). */
  async function pickId(tx: Tx, table: ShopTable, where = "true"): Promise<string | null> {
    const [{ n }] = await tx.unsafe(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
    if (n === 0) return null;
    const rows = await tx.unsafe<IdRow[]>(
      `SELECT id::text AS id FROM ${table} WHERE ${where} ORDER BY id OFFSET $1 LIMIT 1`,
      [random.int(0, n - 1)],
    );
    return rows[0]?.id ?? null;
  }

  async function customerOfOrder(tx: Tx, orderId: string): Promise<string | null> {
    const rows = await tx<
      { c: string }[]
    >`SELECT customer_id::text AS c FROM orders WHERE id = ${orderId}`;
    return rows[0]?.c ?? null;
  }

  async function productsOfCustomer(tx: Tx, customerId: string, a: Affected) {
    const rows = await tx<{ p: string }[]>`
      SELECT DISTINCT oi.product_id::text AS p FROM order_items oi JOIN orders o ON o.id = oi.order_id
      WHERE o.customer_id = ${customerId}`;
    a.product(...rows.map((r) => r.p));
  }

  async function productsOfOrder(tx: Tx, orderId: string, a: Affected) {
    const rows = await tx<{ p: string }[]>`
      SELECT DISTINCT product_id::text AS p FROM order_items WHERE order_id = ${orderId}`;
    a.product(...rows.map((r) => r.p));
  }

  const statuses = ["paid", "pending", "refunded"];
  const plans = ["free", "pro", "team", null];
  const word = () => random.pick(["alpha", "beta", "gamma", "delta", "Ünïcode", "o'brien", "x"]);
  const money = () => (random.int(0, 99999) / 100).toFixed(2);

  async function insertCustomer(tx: Tx, a: Affected, withChildren: boolean): Promise<number> {
    const id = newId("customers");
    const company = random.chance(0.8) ? await pickId(tx, "companies") : null;
    await tx`INSERT INTO customers (id, name, email, plan_code, company_id, created_at)
      VALUES (${id}, ${"Customer " + word() + " " + id}, ${" New" + id + "@Example.com "},
              ${random.pick(plans)}, ${company}, now())`;
    a.customer(id);
    a.rows++;
    if (withChildren) {
      await insertAddress(tx, a, String(id), true);
      for (let i = random.int(0, 2); i > 0; i--) await insertOrder(tx, a, String(id));
      await tx`INSERT INTO customer_tags (customer_id, tag_id)
        SELECT ${id}, id FROM tags WHERE id % 5 = ${random.int(0, 4)} ON CONFLICT DO NOTHING`;
    }
    return id;
  }

  async function insertAddress(tx: Tx, a: Affected, customer: string, isDefault: boolean) {
    const id = newId("addresses");
    if (isDefault) {
      await tx`UPDATE addresses SET is_default = false WHERE customer_id = ${customer}`;
    }
    await tx`INSERT INTO addresses (id, customer_id, city, country, lat, lon, is_default)
      VALUES (${id}, ${customer}, ${"City " + word()}, ${random.pick(["IT", "DE", "FR"])},
              ${random.int(-8000, 8000) / 100}, ${random.int(-17000, 17000) / 100}, ${isDefault})`;
    a.customer(customer);
    a.rows++;
  }

  async function insertOrder(tx: Tx, a: Affected, customer: string) {
    const id = newId("orders");
    await tx`INSERT INTO orders (id, customer_id, status, total, created_at)
      VALUES (${id}, ${customer}, ${random.pick(statuses)}, ${money()},
              timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => ${random.int(0, 1e7)}))`;
    a.customer(customer);
    a.rows++;
    for (let i = random.int(0, 3); i > 0; i--) await insertItem(tx, a, String(id), customer);
  }

  async function insertItem(tx: Tx, a: Affected, order: string, customer: string) {
    const product = await pickId(tx, "products");
    if (product === null) return;
    const id = newId("order_items");
    await tx`INSERT INTO order_items (id, order_id, product_id, quantity, price)
      VALUES (${id}, ${order}, ${product}, ${random.int(1, 9)}, ${money()})`;
    a.customer(customer);
    a.product(product);
    a.rows++;
  }

  /** Runs one operation inside `tx`, recording what it changed; false when it did nothing. */
  async function operate(tx: Tx, kind: OperationKind, a: Affected): Promise<boolean> {
    switch (kind) {
      case "customer_insert":
        await insertCustomer(tx, a, random.chance(0.7));
        return true;
      case "customer_update": {
        const c = await pickId(tx, "customers");
        if (c === null) return false;
        const field = random.int(0, 3);
        if (field === 0) {
          await tx`UPDATE customers SET name = ${"Renamed " + word() + " " + c} WHERE id = ${c}`;
        } else if (field === 1) {
          await tx`UPDATE customers SET email = ${
            " Changed" + random.int(0, 1e6) + "@Example.org"
          } WHERE id = ${c}`;
        } else if (field === 2) {
          await tx`UPDATE customers SET plan_code = ${random.pick(plans)} WHERE id = ${c}`;
        } else {
          const company = random.chance(0.8) ? await pickId(tx, "companies") : null;
          await tx`UPDATE customers SET company_id = ${company} WHERE id = ${c}`;
        }
        a.customer(c);
        a.rows++;
        return true;
      }
      case "customer_soft_delete": {
        const c = await pickId(tx, "customers");
        if (c === null) return false;
        await tx`UPDATE customers SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() ELSE NULL END
          WHERE id = ${c}`;
        a.customer(c);
        a.rows++;
        return true;
      }
      case "customer_delete": {
        const c = await pickId(tx, "customers");
        if (c === null) return false;
        await productsOfCustomer(tx, c, a);
        await tx`DELETE FROM customers WHERE id = ${c}`;
        a.customer(c);
        a.rows++;
        return true;
      }
      case "customer_pk_change": {
        // Children reference the key without ON UPDATE CASCADE: move a childless customer,
        // creating one in this transaction when none exists.
        let c = await pickId(
          tx,
          "customers",
          `NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)
           AND NOT EXISTS (SELECT 1 FROM addresses d WHERE d.customer_id = customers.id)
           AND NOT EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = customers.id)`,
        );
        if (c === null) c = String(await insertCustomer(tx, a, false));
        const next = newId("customers");
        await tx`UPDATE customers SET id = ${next} WHERE id = ${c}`;
        a.customer(c, next);
        a.rows++;
        return true;
      }
      case "address_insert": {
        const c = await pickId(tx, "customers");
        if (c === null) return false;
        await insertAddress(tx, a, c, random.chance(0.5));
        return true;
      }
      case "address_update": {
        const id = await pickId(tx, "addresses");
        if (id === null) return false;
        const [row] = await tx<{ c: string }[]>`
          UPDATE addresses SET city = ${"Moved " + word()}, is_default = ${random.chance(0.6)},
                 lat = ${random.int(-8000, 8000) / 100}
          WHERE id = ${id} RETURNING customer_id::text AS c`;
        a.customer(row.c);
        a.rows++;
        return true;
      }
      case "address_reparent": {
        const id = await pickId(tx, "addresses");
        const to = await pickId(tx, "customers");
        if (id === null || to === null) return false;
        const [old] = await tx<
          { c: string }[]
        >`SELECT customer_id::text AS c FROM addresses WHERE id = ${id}`;
        await tx`UPDATE addresses SET customer_id = ${to} WHERE id = ${id}`;
        a.customer(old.c, to);
        a.rows++;
        return true;
      }
      case "address_delete": {
        const id = await pickId(tx, "addresses");
        if (id === null) return false;
        const [row] = await tx<
          { c: string }[]
        >`DELETE FROM addresses WHERE id = ${id} RETURNING customer_id::text AS c`;
        a.customer(row.c);
        a.rows++;
        return true;
      }
      case "order_insert": {
        const c = await pickId(tx, "customers");
        if (c === null) return false;
        await insertOrder(tx, a, c);
        return true;
      }
      case "order_update": {
        const id = await pickId(tx, "orders");
        if (id === null) return false;
        const [row] = await tx<{ c: string }[]>`
          UPDATE orders SET status = ${random.pick(statuses)}, total = ${money()}
          WHERE id = ${id} RETURNING customer_id::text AS c`;
        a.customer(row.c);
        a.rows++;
        return true;
      }
      case "order_reparent": {
        const id = await pickId(tx, "orders");
        const to = await pickId(tx, "customers");
        if (id === null || to === null) return false;
        const old = await customerOfOrder(tx, id);
        await tx`UPDATE orders SET customer_id = ${to} WHERE id = ${id}`;
        a.customer(old, to);
        a.rows++;
        return true;
      }
      case "order_delete": {
        const id = await pickId(tx, "orders");
        if (id === null) return false;
        await productsOfOrder(tx, id, a);
        const [row] = await tx<
          { c: string }[]
        >`DELETE FROM orders WHERE id = ${id} RETURNING customer_id::text AS c`;
        a.customer(row.c);
        a.rows++;
        return true;
      }
      case "item_insert": {
        const order = await pickId(tx, "orders");
        if (order === null) return false;
        await insertItem(tx, a, order, (await customerOfOrder(tx, order))!);
        return true;
      }
      case "item_update": {
        const id = await pickId(tx, "order_items");
        if (id === null) return false;
        const changeProduct = random.chance(0.3);
        const [old] = await tx<{ o: string; p: string }[]>`
          SELECT order_id::text AS o, product_id::text AS p FROM order_items WHERE id = ${id}`;
        let product = old.p;
        if (changeProduct) product = (await pickId(tx, "products")) ?? old.p;
        await tx`UPDATE order_items SET quantity = ${random.int(1, 9)}, price = ${money()},
                 product_id = ${product} WHERE id = ${id}`;
        a.customer(await customerOfOrder(tx, old.o));
        if (product !== old.p) a.product(old.p, product);
        a.rows++;
        return true;
      }
      case "item_reparent": {
        const id = await pickId(tx, "order_items");
        const to = await pickId(tx, "orders");
        if (id === null || to === null) return false;
        const [old] = await tx<
          { o: string }[]
        >`SELECT order_id::text AS o FROM order_items WHERE id = ${id}`;
        a.customer(await customerOfOrder(tx, old.o), await customerOfOrder(tx, to));
        await tx`UPDATE order_items SET order_id = ${to} WHERE id = ${id}`;
        a.rows++;
        return true;
      }
      case "item_delete": {
        const id = await pickId(tx, "order_items");
        if (id === null) return false;
        const [row] = await tx<{ o: string; p: string }[]>`
          DELETE FROM order_items WHERE id = ${id} RETURNING order_id::text AS o, product_id::text AS p`;
        a.customer(await customerOfOrder(tx, row.o));
        a.product(row.p);
        a.rows++;
        return true;
      }
      case "tag_add": {
        const c = await pickId(tx, "customers");
        const t = await pickId(tx, "tags");
        if (c === null || t === null) return false;
        const r =
          await tx`INSERT INTO customer_tags (customer_id, tag_id) VALUES (${c}, ${t}) ON CONFLICT DO NOTHING`;
        if (r.count === 0) return false;
        a.customer(c);
        a.rows++;
        return true;
      }
      case "tag_remove": {
        const c = await pickId(
          tx,
          "customers",
          "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = customers.id)",
        );
        if (c === null) return false;
        const r = await tx`DELETE FROM customer_tags WHERE customer_id = ${c}
          AND tag_id = (SELECT min(tag_id) FROM customer_tags WHERE customer_id = ${c})`;
        a.customer(c);
        a.rows += r.count;
        return true;
      }
      case "tag_relabel": {
        const t = await pickId(tx, "tags");
        if (t === null) return false;
        await tx`UPDATE tags SET label = ${
          "tag-" + word() + "-" + random.int(0, 999)
        } WHERE id = ${t}`;
        const rows = await tx<
          { c: string }[]
        >`SELECT customer_id::text AS c FROM customer_tags WHERE tag_id = ${t}`;
        a.customer(...rows.map((r) => r.c));
        a.rows++;
        return true;
      }
      case "product_insert": {
        const id = newId("products");
        await tx`INSERT INTO products (id, sku, name, price, attributes, active)
          VALUES (${id}, ${"SKU-N" + id}, ${"Product " + word()}, ${money()},
                  ${tx.json({ color: random.pick(["red", "green"]), size: random.int(1, 5) })},
                  ${random.chance(0.9)})`;
        a.product(id);
        a.rows++;
        return true;
      }
      case "product_update": {
        const p = await pickId(tx, "products");
        if (p === null) return false;
        const field = random.int(0, 3);
        if (field === 0) {
          await tx`UPDATE products SET name = ${"Product " + word() + " " + p} WHERE id = ${p}`;
        } else if (field === 1) await tx`UPDATE products SET price = ${money()} WHERE id = ${p}`;
        else if (field === 2) await tx`UPDATE products SET active = NOT active WHERE id = ${p}`;
        else {await tx`UPDATE products SET sku = ${
            "SKU-U" + p + "-" + random.int(0, 9999)
          } WHERE id = ${p}`;}
        a.product(p);
        if (field === 0 || field === 3) {
          // The product's sku and name are inside every customer document that ordered it.
          const rows = await tx<{ c: string }[]>`
            SELECT DISTINCT o.customer_id::text AS c FROM order_items oi JOIN orders o ON o.id = oi.order_id
            WHERE oi.product_id = ${p}`;
          a.customer(...rows.map((r) => r.c));
        }
        a.rows++;
        return true;
      }
      case "company_update": {
        const co = await pickId(tx, "companies");
        if (co === null) return false;
        await tx`UPDATE companies SET name = ${"Company " + word() + " " + co},
                 country = ${random.pick(["IT", "DE", "US"])} WHERE id = ${co}`;
        const rows = await tx<
          { c: string }[]
        >`SELECT id::text AS c FROM customers WHERE company_id = ${co}`;
        a.customer(...rows.map((r) => r.c));
        a.rows++;
        return true;
      }
      case "large_transaction": {
        const n = random.int(large.min, large.max);
        const base = nextIds!.order_items;
        nextIds!.order_items += n;
        const [{ maxo }] = await tx<
          { maxo: string | null }[]
        >`SELECT max(id)::text AS maxo FROM orders`;
        const [{ maxp }] = await tx<
          { maxp: string | null }[]
        >`SELECT max(id)::text AS maxp FROM products`;
        if (maxo === null || maxp === null) return false;
        // n items spread over existing orders and products (ids may have gaps: join to keep valid ones).
        const rows = await tx<{ c: string; p: string }[]>`
          WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS r, count(*) OVER () AS n FROM orders),
               p AS (SELECT id, row_number() OVER (ORDER BY id) AS r, count(*) OVER () AS n FROM products),
               ins AS (
                 INSERT INTO order_items (id, order_id, product_id, quantity, price)
                 SELECT ${base}::int8 + g, o.id, p.id, 1 + g % 7, (g % 900) + 0.5
                 FROM generate_series(0, ${n - 1}::int) g
                 JOIN o ON o.r = 1 + (g * 7919 + ${random.int(0, 1e6)}::int) % o.n
                 JOIN p ON p.r = 1 + (g * 104729 + ${random.int(0, 1e6)}::int) % p.n
                 RETURNING order_id, product_id)
          SELECT DISTINCT orders.customer_id::text AS c, ins.product_id::text AS p
          FROM ins JOIN orders ON orders.id = ins.order_id`;
        a.customer(...rows.map((r) => r.c));
        a.product(...rows.map((r) => r.p));
        a.rows += n;
        return true;
      }
      case "truncate_related": {
        if (random.chance(0.5)) {
          await tx`TRUNCATE order_items`;
          a.truncated.push("order_items");
        } else {
          await tx`TRUNCATE customer_tags`;
          a.truncated.push("customer_tags");
        }
        a.rows++;
        return true;
      }
      case "truncate_root": {
        await tx`TRUNCATE customers CASCADE`;
        a.truncated.push("customers", "addresses", "orders", "order_items", "customer_tags");
        // Repopulate so the rest of the run has rows to work on.
        for (let i = 0; i < 150; i++) await insertCustomer(tx, a, true);
        a.rows++;
        return true;
      }
    }
  }

  async function runOne(kind: OperationKind): Promise<TransactionRecord | undefined> {
    if (!nextIds) await loadNextIds();
    const a = new Affected();
    let lsnBefore: Lsn = 0n;
    const done = await sql.begin(async (tx) => {
      const did = await operate(tx, kind, a);
      const [{ lsn }] = await tx<
        { lsn: string }[]
      >`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
      lsnBefore = parseLsn(lsn);
      return did;
    });
    if (!done) return undefined;
    const [{ lsn }] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
    const rec: TransactionRecord = {
      seq: ++seq,
      kind,
      lsnBefore,
      lsnAfter: parseLsn(lsn),
      committedAt: Date.now(),
      rows: a.rows,
      affected: { customers: [...a.customers], products: [...a.products] },
      rebuild: kind === "truncate_related" || kind === "truncate_root",
      truncated: a.truncated,
      resolvesThrough: RESOLVES_THROUGH[kind],
    };
    if (record) transactions.push(rec);
    return rec;
  }

  async function run(runOptions: RunOptions = {}): Promise<WorkloadStats> {
    const max = runOptions.maxTransactions ?? Infinity;
    const deadline = Date.now() + (runOptions.maxMs ?? 60_000);
    const byKind: Partial<Record<OperationKind, number>> = {};
    let count = 0;
    let rows = 0;
    let failed = 0;
    while (count < max && Date.now() < deadline && !runOptions.signal?.aborted) {
      const kind = queued.shift() ?? random.weighted(weights);
      try {
        const rec = await runOne(kind);
        if (rec) {
          count++;
          rows += rec.rows;
          byKind[kind] = (byKind[kind] ?? 0) + 1;
        }
      } catch (error) {
        // A concurrent-free workload fails only on its own mistakes (e.g. a race with a
        // cascade it did not foresee): count it, keep going; the database stays consistent.
        failed++;
        if (failed > 50 && failed > count) throw error;
      }
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
    return { transactions: count, rows, byKind, failed };
  }

  return { run, runOne, enqueue: (kind) => void queued.push(kind), transactions };
}
