/**
 * `flusso check` against a real Postgres: a clean shop database passes; a missing column, a
 * wrong type, a table missing from the publication, a view where a table belongs and a missing
 * replica identity each produce the right finding (with the SQL that fixes it, where SQL can),
 * as do relation reads no index serves and filled tables without planner statistics (warnings);
 * arrays, enums, domains and citext are matched by their element/base types.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { runCheck } from "../../src/cli/check.ts";
import type { Finding } from "../../src/cli/check_findings.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOP_SQL = readFileSync(`${REPO}/examples/shop/schema.sql`, "utf8");
const SHOP_TABLES =
  "companies, customers, addresses, products, orders, order_items, tags, customer_tags";

const dirs: string[] = [];
const dbs: TestDatabase[] = [];

/** A flusso.toml for `db` with the given schema files (manage_publication off). */
function configFor(db: TestDatabase, schemas: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "flusso-check-"));
  dirs.push(dir);
  const indexes = Object.entries(schemas).map(([name, path]) =>
    `[[index]]\nname = "${name}"\nschema = "${path}"\n`
  ).join("\n");
  writeFileSync(
    join(dir, "flusso.toml"),
    `[source]\nconnection_url = "${db.url}?sslmode=disable"\npublication = "${db.publication}"\n` +
      `manage_publication = false\n\n[sinks.search]\nurl = "http://127.0.0.1:9200"\n\n${indexes}`,
  );
  return join(dir, "flusso.toml");
}

const SHOP_SCHEMAS = {
  customers: `${REPO}/examples/shop/schemas/customers.schema.yml`,
  products: `${REPO}/examples/shop/schemas/products.schema.yml`,
};

async function shopDatabase(label: string, changes = ""): Promise<TestDatabase> {
  const db = await testDatabase(label, SHOP_SQL);
  dbs.push(db);
  await db.sql.unsafe(`CREATE PUBLICATION "${db.publication}" FOR TABLE ${SHOP_TABLES}`);
  if (changes) await db.sql.unsafe(changes);
  return db;
}

async function check(
  file: string,
): Promise<{ code: number; findings: Finding[]; out: string }> {
  let out = "";
  const code = await runCheck({ config: file, offline: false, format: "json" }, {
    out: (t) => (out += t),
    err: (t) => (out += t),
    tty: false,
    env: {},
  });
  return { code, findings: JSON.parse(out).findings ?? [], out };
}

/** The shop schemas checked against `db`: exit code 1, and the first finding with `code`. */
async function errorFinding(
  db: TestDatabase,
  code: string,
): Promise<{ finding: Finding; all: Finding[] }> {
  const result = await check(configFor(db, SHOP_SCHEMAS));
  assert.equal(result.code, 1, result.out);
  const finding = result.findings.find((f) => f.code === code);
  assert.ok(finding, result.out);
  return { finding, all: result.findings };
}

describe("flusso check against postgres", () => {
  after(async () => {
    for (const db of dbs) await db.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("exits_0_with_no_findings_on_the_clean_shop_database", async () => {
    const db = await shopDatabase("check_clean");
    const result = await check(configFor(db, SHOP_SCHEMAS));
    assert.deepEqual(result.findings, []);
    assert.equal(result.code, 0);
  });

  it("reports_a_missing_column_with_the_nearest_name", async () => {
    const db = await shopDatabase(
      "check_column",
      "ALTER TABLE customers RENAME COLUMN plan_code TO plan_kode",
    );
    const { finding } = await errorFinding(db, "missing_column");
    assert.equal(finding.severity, "error");
    assert.equal(finding.index, "customers");
    assert.match(
      finding.message,
      /public\.customers has no column "plan_code"; did you mean "plan_kode"\?/,
    );
  });

  it("reports_a_column_whose_type_does_not_match_the_field", async () => {
    const db = await shopDatabase(
      "check_type",
      "ALTER TABLE orders ALTER COLUMN created_at TYPE text USING created_at::text",
    );
    const { finding } = await errorFinding(db, "type_mismatch");
    assert.match(
      finding.message,
      /orders\.created_at is text; a timestamp field expects date, timestamp or timestamptz/,
    );
  });

  it("reports_a_table_missing_from_the_publication_with_the_sql", async () => {
    const db = await shopDatabase("check_pub", "");
    await db.sql.unsafe(`ALTER PUBLICATION "${db.publication}" DROP TABLE tags`);
    const { finding } = await errorFinding(db, "publication");
    assert.match(finding.message, /lacks public\.tags/);
    assert.equal(finding.sql, `ALTER PUBLICATION "${db.publication}" ADD TABLE "public"."tags";`);
  });

  it("reports_a_view_read_as_a_table_and_offers_no_sql_that_cannot_run", async () => {
    const db = await shopDatabase(
      "check_view",
      "ALTER TABLE tags RENAME TO tag_rows; CREATE VIEW tags AS SELECT * FROM tag_rows",
    );
    const { finding, all } = await errorFinding(db, "not_a_table");
    assert.equal(finding.severity, "error");
    assert.equal(finding.index, "customers");
    assert.match(finding.message, /public\.tags is a view, not a table: .*logical replication/);
    // Neither ALTER PUBLICATION … ADD TABLE nor ALTER TABLE … REPLICA IDENTITY work on a view.
    assert.ok(!all.some((f) => f.sql?.includes('"tags"')), JSON.stringify(all));
  });

  it("reports_a_child_table_without_replica_identity_full_with_the_sql", async () => {
    const db = await shopDatabase("check_ident", "ALTER TABLE orders REPLICA IDENTITY DEFAULT");
    const result = await check(configFor(db, SHOP_SCHEMAS));
    const finding = result.findings.find((f) => f.code === "replica_identity");
    assert.ok(finding, result.out);
    assert.equal(finding.severity, "warning");
    assert.match(finding.message, /public\.orders: .* customer_id/);
    assert.equal(finding.sql, 'ALTER TABLE "public"."orders" REPLICA IDENTITY FULL;');
    assert.equal(result.code, 0, "a warning alone does not fail the check");
  });

  it("warns_of_each_relation_read_no_index_serves_with_the_create_index", async () => {
    // A child's foreign key (read per document), a junction's right key (read to resolve a
    // tag change) and a belongs_to column (read to resolve a company change).
    const db = await shopDatabase(
      "check_index",
      "DROP INDEX orders_customer_id_idx; DROP INDEX customer_tags_tag_id_idx; " +
        "DROP INDEX customers_company_id_idx",
    );
    const result = await check(configFor(db, SHOP_SCHEMAS));
    const found = result.findings.filter((f) => f.code === "index");
    assert.deepEqual(found.map((f) => f.sql).sort(), [
      'CREATE INDEX ON "public"."customer_tags" ("tag_id");',
      'CREATE INDEX ON "public"."customers" ("company_id");',
      'CREATE INDEX ON "public"."orders" ("customer_id");',
    ], result.out);
    for (const f of found) assert.equal(f.severity, "warning");
    const orders = found.find((f) => f.sql?.includes('"orders"'))!;
    assert.match(
      orders.message,
      /public\.orders has no index on \(customer_id\): each customers document/,
    );
    assert.equal(orders.index, "customers");
    // The junction's primary key (customer_id, tag_id) still serves reads by customer_id.
    assert.equal(result.code, 0, "warnings alone do not fail the check");
  });

  it("warns_of_a_filled_table_without_planner_statistics_until_it_is_analyzed", async () => {
    const db = await shopDatabase(
      "check_stats",
      "INSERT INTO companies (id, name, country) SELECT g, 'c' || g, 'IT' FROM generate_series(1, 50) g",
    );
    const before = await check(configFor(db, SHOP_SCHEMAS));
    const found = before.findings.filter((f) => f.code === "statistics");
    // Only the filled table: empty tables have nothing for the planner to misjudge.
    assert.deepEqual(found.map((f) => f.sql), ['ANALYZE "public"."companies";'], before.out);
    assert.equal(found[0].severity, "warning");
    assert.match(found[0].message, /public\.companies holds rows but has no planner statistics/);
    await db.sql.unsafe("ANALYZE companies");
    const after = await check(configFor(db, SHOP_SCHEMAS));
    assert.deepEqual(after.findings.filter((f) => f.code === "statistics"), [], after.out);
  });

  it("matches_arrays_enums_domains_and_citext_by_their_base_types", async () => {
    const db = await testDatabase(
      "check_types",
      `CREATE EXTENSION IF NOT EXISTS citext;
       CREATE TYPE mood AS ENUM ('happy', 'sad');
       CREATE DOMAIN positive AS bigint CHECK (VALUE > 0);
       CREATE TABLE things (
         id positive PRIMARY KEY, labels text[], feeling mood, email citext, scores int4[], flag mood
       );`,
    );
    dbs.push(db);
    await db.sql.unsafe(`CREATE PUBLICATION "${db.publication}" FOR TABLE things`);
    const dir = mkdtempSync(join(tmpdir(), "flusso-check-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "things.schema.yml"),
      "table: things\nfields:\n  - long: id\n  - keyword: labels\n  - enum: feeling\n" +
        "  - keyword: email\n  - integer: scores\n  - boolean: flag\n",
    );
    const result = await check(configFor(db, { things: join(dir, "things.schema.yml") }));
    const mismatches = result.findings.filter((f) => f.code === "type_mismatch");
    assert.equal(mismatches.length, 1, result.out);
    assert.match(mismatches[0].message, /things\.flag is mood; a boolean field expects boolean/);
    assert.equal(result.code, 1);
  });

  it("exits_2_on_an_unusable_config_before_connecting", async () => {
    const result = await runCheck(
      {
        config: `${REPO}/tests/fixtures/config/toml/on_error_typo.toml`,
        offline: false,
        format: "json",
      },
      { out: () => {}, err: () => {}, tty: false, env: {} },
    );
    assert.equal(result, 2);
  });
});
