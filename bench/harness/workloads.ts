/**
 * The benchmark workloads, generated server-side with generate_series in a handful of SQL
 * statements so that loading a 200k-change backlog takes seconds:
 * - `items`: a 10-column table of ~200-byte rows, with a backlog of inserts, updates and
 *   deletes in transactions of `perTxn` changes;
 * - the example shop (examples/shop/schema.sql + `shop_seed(n)`), with a backlog spread over
 *   every table the customer and product documents read.
 * Every count is exact by construction, so "changes" in a rate means rows changed in WAL.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./env.ts";
import { parseLsn } from "./lsn.ts";
import { psql } from "./postgres.ts";

/** The `items` table and its row generator; rows average ~200 bytes on disk. */
export const itemsSchemaSql = `
CREATE TABLE items (
  id          bigint PRIMARY KEY,
  account_id  bigint NOT NULL,
  sku         text NOT NULL,
  title       text NOT NULL,
  description text NOT NULL,
  status      text NOT NULL,
  quantity    integer NOT NULL,
  price       numeric(12, 2) NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE FUNCTION items_insert(first bigint, last bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO items
    SELECT i, i % 1000, 'SKU-' || lpad(i::text, 10, '0'), 'Item number ' || i || ' of the catalogue',
           repeat(md5(i::text), 3), (ARRAY['new','active','archived'])[1 + i % 3], (i % 100)::int,
           (i % 100000) / 100.0,
           timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i),
           timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i)
    FROM generate_series(first, last) i;
$$;

-- The backlog: txns transactions, each inserting ins new rows, updating upd existing rows
-- from the bottom of base+1..base+existing and deleting del existing rows from its top
-- (disjoint; each round of a repeated measurement has a base of its own).
CREATE PROCEDURE items_backlog(base bigint, existing bigint, txns int, ins int, upd int, del int)
LANGUAGE plpgsql AS $$
DECLARE
  next_id bigint := (SELECT coalesce(max(id), 0) + 1 FROM items);
BEGIN
  FOR t IN 0 .. txns - 1 LOOP
    PERFORM items_insert(next_id, next_id + ins - 1);
    next_id := next_id + ins;
    UPDATE items SET status = 'updated', quantity = quantity + 1, updated_at = now()
      WHERE id BETWEEN base + t::bigint * upd + 1 AND base + (t + 1)::bigint * upd;
    DELETE FROM items
      WHERE id BETWEEN base + existing - (t + 1)::bigint * del + 1 AND base + existing - t::bigint * del;
    COMMIT;
  END LOOP;
END $$;
`;

/** The `items` index's schema file (every column a field). */
export const itemsSchemaYaml = `version: 1
table: items
primary_key: id
fields:
  - long: id
  - long: account_id
  - keyword: sku
  - text: title
  - text: description
  - keyword: status
  - integer: quantity
  - decimal: price
  - timestamp: created_at
  - timestamp: updated_at
`;

/** A backlog's shape: how many transactions and changes of each kind per transaction. */
export interface BacklogPlan {
  readonly txns: number;
  readonly insertsPerTxn: number;
  readonly updatesPerTxn: number;
  readonly deletesPerTxn: number;
  /** txns × (inserts + updates + deletes). */
  readonly changes: number;
  /** Rows that must exist before the backlog (updates and deletes take from them). */
  readonly existingRows: number;
}

/** Plans ~`changes` changes as 50% inserts, 35% updates, 15% deletes in `perTxn`-change transactions. */
export function planItemsBacklog(changes: number, perTxn = 100): BacklogPlan {
  const txns = Math.max(1, Math.round(changes / perTxn));
  const insertsPerTxn = Math.max(1, Math.round(perTxn * 0.5));
  const updatesPerTxn = Math.max(1, Math.round(perTxn * 0.35));
  const deletesPerTxn = Math.max(1, perTxn - insertsPerTxn - updatesPerTxn);
  return {
    txns,
    insertsPerTxn,
    updatesPerTxn,
    deletesPerTxn,
    changes: txns * (insertsPerTxn + updatesPerTxn + deletesPerTxn),
    existingRows: txns * (updatesPerTxn + deletesPerTxn),
  };
}

/** Creates the items table (setup SQL for `benchDatabase`). */
export function itemsSetupSql(): string {
  return itemsSchemaSql;
}

/**
 * Inserts rows 1..n in one statement, then vacuums and analyzes the table as autovacuum would
 * have on a user's database (hint bits and the visibility map set, so no measured run pays
 * for them; autovacuum itself is off in the bench cluster).
 */
export async function seedItems(binDir: string, url: string, rows: number): Promise<void> {
  await psql(binDir, url, `SELECT items_insert(1, ${Math.trunc(rows)});\nVACUUM ANALYZE items;`);
}

/**
 * Commits the backlog of round `round` (0, 1, …): its updates and deletes take the round's own
 * `plan.existingRows` rows (ids after `round × existingRows`), so a database seeded with
 * `(round + 1) × existingRows` rows gives every round the same exact changes. Returns the WAL
 * position right after its last commit.
 */
export async function loadItemsBacklog(
  binDir: string,
  url: string,
  plan: BacklogPlan,
  round = 0,
): Promise<bigint> {
  const base = round * plan.existingRows;
  const out = await psql(
    binDir,
    url,
    `CALL items_backlog(${base}, ${plan.existingRows}, ${plan.txns}, ${plan.insertsPerTxn}, ${plan.updatesPerTxn}, ${plan.deletesPerTxn});
SELECT pg_current_wal_insert_lsn();`,
  );
  return parseLsn(out.split("\n").at(-1) ?? "");
}

/** One transaction inserting `rows` new rows (the memory scenario); returns the WAL position after it. */
export async function loadItemsSingleTransaction(
  binDir: string,
  url: string,
  rows: number,
): Promise<bigint> {
  const out = await psql(
    binDir,
    url,
    `SELECT items_insert((SELECT coalesce(max(id), 0) + 1 FROM items), (SELECT coalesce(max(id), 0) FROM items) + ${
      Math.trunc(rows)
    });
SELECT pg_current_wal_insert_lsn();`,
  );
  return parseLsn(out.split("\n").at(-1) ?? "");
}

/** The example shop's DDL and `shop_seed`. */
export function shopSetupSql(): string {
  return readFileSync(join(repoRoot, "examples", "shop", "schema.sql"), "utf8") + shopBacklogSql;
}

/** Every table of the example shop (the publication of the shop scenarios). */
export const shopTables: readonly string[] = [
  "companies",
  "customers",
  "addresses",
  "products",
  "orders",
  "order_items",
  "tags",
  "customer_tags",
];

/** The example shop's schema files, by file name. */
export function shopSchemaFiles(): Record<string, string> {
  const dir = join(repoRoot, "examples", "shop", "schemas");
  return {
    "customers.schema.yml": readFileSync(join(dir, "customers.schema.yml"), "utf8"),
    "products.schema.yml": readFileSync(join(dir, "products.schema.yml"), "utf8"),
  };
}

/** Changes per shop backlog transaction, by table and kind; they sum to 100. */
export const shopMixPerTxn = {
  customers_update: 20,
  addresses_update: 10,
  addresses_insert: 5,
  orders_insert: 15,
  orders_update: 15,
  orders_delete: 3,
  order_items_insert: 15,
  order_items_update: 10,
  customer_tags_insert: 2,
  customer_tags_delete: 2,
  companies_update: 1,
  products_update: 2,
} as const;

/** Changes in one shop backlog transaction. */
export const shopChangesPerTxn: number = Object.values(shopMixPerTxn).reduce((a, b) => a + b, 0);

// Each transaction touches every table the documents read: root updates, has_one and
// has_many inserts/updates/deletes (two levels deep), many_to_many link inserts/deletes,
// belongs_to targets shared by many documents (companies, products), and so the aggregates.
// Orders deleted are ones this transaction inserted, so no cascade adds uncounted changes;
// tag links inserted are (c, t) with (c+t)%7=1 (absent), deleted ones (c+t)%7=0 (present).
const shopBacklogSql = `
CREATE PROCEDURE shop_backlog(txns int)
LANGUAGE plpgsql AS $$
DECLARE
  n bigint := (SELECT count(*) FROM customers);
  n_companies bigint := (SELECT count(*) FROM companies);
  n_products bigint := (SELECT count(*) FROM products);
  n_orders bigint := (SELECT max(id) FROM orders);
  n_items bigint := (SELECT max(id) FROM order_items);
  next_address bigint := (SELECT max(id) + 1 FROM addresses);
  next_order bigint := (SELECT max(id) + 1 FROM orders);
  next_item bigint := (SELECT max(id) + 1 FROM order_items);
BEGIN
  IF n < 2 * txns THEN
    RAISE EXCEPTION 'shop_backlog needs at least % customers, has %', 2 * txns, n;
  END IF;
  FOR t IN 0 .. txns - 1 LOOP
    UPDATE customers SET name = 'Customer ' || id || ' v' || t
      WHERE id IN (SELECT 1 + (t::bigint * 20 + g) % n FROM generate_series(0, 19) g);
    UPDATE addresses SET city = 'City ' || id || ' v' || t
      WHERE id IN (SELECT 1 + (t::bigint * 10 + g) % n FROM generate_series(0, 9) g);
    INSERT INTO addresses (id, customer_id, city, country, lat, lon, is_default)
      SELECT next_address + g, 1 + (t::bigint * 5 + g) % n, 'New city', 'DE', 52.5, 13.4, false
      FROM generate_series(0, 4) g;
    next_address := next_address + 5;
    INSERT INTO orders (id, customer_id, status, total, created_at)
      SELECT next_order + g, 1 + (t::bigint * 15 + g * 7) % n, 'pending', 10 + g, now()
      FROM generate_series(0, 14) g;
    UPDATE orders SET status = 'paid'
      WHERE id IN (SELECT 1 + (t::bigint * 15 + g) % n_orders FROM generate_series(0, 14) g);
    DELETE FROM orders WHERE id BETWEEN next_order AND next_order + 2;
    next_order := next_order + 15;
    INSERT INTO order_items (id, order_id, product_id, quantity, price)
      SELECT next_item + g, 1 + (t::bigint * 15 + g) % n_orders, 1 + (t::bigint * 15 + g) % n_products, 1, 9.99
      FROM generate_series(0, 14) g;
    next_item := next_item + 15;
    UPDATE order_items SET quantity = quantity + 1
      WHERE id IN (SELECT 1 + (t::bigint * 10 + g) % n_items FROM generate_series(0, 9) g);
    INSERT INTO customer_tags (customer_id, tag_id)
      SELECT c, 1 + (((0 - c) % 7) + 7) % 7
      FROM (SELECT 1 + (t::bigint * 2 + g) % n AS c FROM generate_series(0, 1) g) s;
    DELETE FROM customer_tags WHERE (customer_id, tag_id) IN (
      SELECT c, 1 + (((0 - c - 1) % 7) + 7) % 7
      FROM (SELECT 1 + (t::bigint * 2 + g) % n AS c FROM generate_series(0, 1) g) s);
    UPDATE companies SET name = 'Company ' || id || ' v' || t WHERE id = 1 + t % n_companies;
    UPDATE products SET price = price + 1
      WHERE id IN (SELECT 1 + (t::bigint * 2 + g) % n_products FROM generate_series(0, 1) g);
    COMMIT;
  END LOOP;
END $$;
`;

/**
 * Seeds the shop with `customers` customers (and its proportional orders, items, tags), then
 * vacuums and analyzes it (see `seedItems`).
 */
export async function seedShop(binDir: string, url: string, customers: number): Promise<void> {
  await psql(binDir, url, `SELECT shop_seed(${Math.trunc(customers)});\nVACUUM ANALYZE;`);
}

/** Commits `txns` shop transactions; returns the WAL position right after the last commit. */
export async function loadShopBacklog(binDir: string, url: string, txns: number): Promise<bigint> {
  const out = await psql(
    binDir,
    url,
    `CALL shop_backlog(${Math.trunc(txns)});\nSELECT pg_current_wal_insert_lsn();`,
  );
  return parseLsn(out.split("\n").at(-1) ?? "");
}
