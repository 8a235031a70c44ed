/**
 * Type round trips: every scalar type of SCHEMA.md with edge values (int8 max, numeric(38,10),
 * NaN/Infinity, time zones, empty and multi-dimensional arrays, unicode) comes out of the
 * build statement exactly as the oracle computes it, and as written down here by hand.
 * Also: composite keys, objects of 60+ fields, field names JSON must escape, every filter
 * operator and every aggregate.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DocumentModel, Field, Filter, IndexConfig } from "../../src/config/model.ts";
import { documentId } from "../../src/model/document_id.ts";
import {
  createPostgresDocumentBuilder,
  type PostgresDocumentBuilder,
} from "../../src/postgres/document_builder.ts";
import { expectedDocuments, snapshot, tablesOfModel } from "../support/oracle.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { indexOf, scalar } from "../support/shop_model.ts";

const SETUP = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE "Odd ""Table""" (
  id bigint PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, n numeric, n38 numeric(38,10),
  f4 real, f8 double precision,
  b boolean, tz timestamptz, ts timestamp, d date, by bytea,
  j json, jb jsonb, t text, vc varchar(20), m mood, p positive, u uuid,
  t_arr text[], i8_arr bigint[], i_2d integer[], m_arr mood[],
  pt point, lat double precision, lon double precision,
  "Mixed Case" text
);
INSERT INTO "Odd ""Table""" VALUES
 (1, -32768, 2147483647, 9223372036854775807, 'NaN', 1234567890123456789012345678.1234567890,
  0.1, 'Infinity', true, '2024-06-01 12:34:56.789+02', '2024-06-01 12:34:56.789', '2024-06-01',
  '\\x00ff10', '{"a": [1, "x"], "big": 1.5}', '{"k": {"z": null}}', '日本語 🎉 "quoted"', 'vc', 'happy', 5,
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{}', '{9223372036854775807,1,NULL}', '{{1,2},{3,4}}', '{sad,ok}',
  '(9.19,45.46)', 45.46, 9.19, 'mixed'),
 (2, 0, 0, 9007199254740991, 12.50, 0.0000000001,
  'NaN', '-Infinity', false, 'infinity', '-infinity', 'infinity',
  '\\x', 'null', '[]', '', NULL, 'sad', 1, NULL,
  NULL, '{}', '{}', '{}',
  NULL, NULL, 9.0, NULL),
 (3, NULL, NULL, -9007199254740992, 123456789012345.6, -99.5,
  NULL, 1e-300, NULL, '1999-12-31 23:59:59.999999-08', '1999-12-31 23:59:59.999999', '1999-12-31',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '{"x,y","a\\\\b","NULL",""}', NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);

CREATE TABLE pairs (tenant text, id int, label text, PRIMARY KEY (tenant, id));
INSERT INTO pairs VALUES ('acme', 1, 'one'), ('a"c,me', 2, 'two'), ('日本', 3, 'three');
CREATE TABLE pair_notes (id bigint PRIMARY KEY, tenant text, pair_id int, body text, score numeric(10,2), at timestamptz);
INSERT INTO pair_notes VALUES
 (1, 'acme', 1, 'alpha', 1.25, '2024-01-01 00:00:00+00'), (2, 'acme', 1, 'beta', 2.50, '2024-01-02 00:00:00+00'),
 (3, 'acme', 1, 'gamma', NULL, NULL), (4, 'a"c,me', 2, 'delta', 10, '2024-01-03 00:00:00+00');
`;

const oddTable = { schema: "public", name: 'Odd "Table"' };
const scalarNames = [
  "i2",
  "i4",
  "i8",
  "n",
  "n38",
  "f4",
  "f8",
  "b",
  "tz",
  "ts",
  "d",
  "by",
  "j",
  "jb",
  "t",
  "vc",
  "m",
  "p",
  "u",
  "t_arr",
  "i8_arr",
  "i_2d",
  "m_arr",
] as const;

const typesModel: DocumentModel = {
  file: "types.schema.yml",
  table: oddTable,
  primaryKey: ["id"],
  filters: [],
  fields: [
    scalar("long", "id"),
    ...scalarNames.map((n) => scalar(n === "j" || n === "jb" ? "json" : "keyword", n)),
    scalar("keyword", "mixed", { column: "Mixed Case", default: "fallback" }),
    scalar("keyword", "upper_arr", { column: "t_arr", transforms: ["trim", "lowercase"] }),
    { kind: "geo", name: "from_point", column: "pt" },
    { kind: "geo", name: "from_columns", lat: "lat", lon: "lon" },
    { kind: "map", name: "map", column: "jb", valueType: "keyword" },
    { kind: "constant", name: "source", value: "db" },
    {
      kind: "object",
      name: "nested",
      fields: [scalar("integer", "i4"), { kind: "constant", name: "k", value: 3 }],
    },
    // 60 more fields: wide objects (json_build_object would take only 50 pairs).
    ...Array.from({ length: 60 }, (_, i): Field => ({ kind: "constant", name: `c${i}`, value: i })),
    // Objects are concatenated JSON text: a name with quotes and a backslash stays one key.
    { kind: "constant", name: `odd "name" \\ 'x'`, value: "kept" },
  ],
};

const pairsModel: DocumentModel = {
  file: "pairs.schema.yml",
  table: { schema: "public", name: "pairs" },
  primaryKey: ["tenant", "id"],
  filters: [],
  fields: [
    scalar("keyword", "tenant"),
    scalar("integer", "id"),
    scalar("text", "label"),
    {
      kind: "has_many",
      name: "notes",
      table: { schema: "public", name: "pair_notes" },
      primaryKey: ["id"],
      foreignKey: ["tenant", "pair_id"],
      filters: [],
      orderBy: [{ column: "score", direction: "desc" }],
      fields: [scalar("text", "body"), scalar("decimal", "score")],
    },
    ...(["count", "sum", "avg", "min", "max", "ids"] as const).map((fn): Field => ({
      kind: "aggregate",
      name: `notes_${fn}`,
      fn,
      table: { schema: "public", name: "pair_notes" },
      primaryKey: ["id"],
      column: fn === "count" || fn === "ids" ? undefined : "score",
      foreignKey: ["tenant", "pair_id"],
      filters: [],
    })),
    {
      kind: "aggregate",
      name: "last_note_at",
      fn: "max",
      table: { schema: "public", name: "pair_notes" },
      primaryKey: ["id"],
      column: "at",
      valueType: "timestamp",
      foreignKey: ["tenant", "pair_id"],
      filters: [{ column: "body", op: "neq", value: "beta" }],
    },
  ],
};

const filterCases: Record<string, Filter[]> = {
  eq: [{ column: "b", op: "eq", value: true }],
  neq: [{ column: "m", op: "neq", value: "sad" }],
  lt: [{ column: "i8", op: "lt", value: "0" }],
  gte: [{ column: "n38", op: "gte", value: 0 }],
  like: [{ column: "t", op: "like", value: "日本%" }],
  ilike: [{ column: "vc", op: "ilike", value: "V_" }],
  in: [{ column: "id", op: "in", value: [1, 3] }],
  not_in: [{ column: "m", op: "not_in", value: ["happy"] }],
  between: [{ column: "d", op: "between", value: ["1999-01-01", "2024-12-31"] }],
  is_null: [{ column: "j", op: "is_null" }],
  is_not_null: [{ column: "u", op: "is_not_null" }],
};

describe("type round trips", () => {
  let db: TestDatabase;
  let builder: PostgresDocumentBuilder;
  const filterIndexes: IndexConfig[] = Object.entries(filterCases).map(([name, filters]) =>
    indexOf(`filter_${name}`, { ...typesModel, filters, fields: [scalar("long", "id")] })
  );

  before(async () => {
    db = await testDatabase("docs_types", SETUP);
    builder = await createPostgresDocumentBuilder({
      sql: db.sql,
      indexes: [indexOf("types", typesModel), indexOf("pairs", pairsModel), ...filterIndexes],
    });
  });

  after(async () => {
    await db?.drop();
  });

  async function built(index: string, model: DocumentModel) {
    const expected = expectedDocuments(model, await snapshot(db.sql, tablesOfModel(model)));
    const docs = await builder.build(index, [...expected.values()].map((e) => e.key));
    for (const doc of docs) {
      assert.deepEqual(
        doc.document,
        expected.get(JSON.stringify(doc.key))!.document,
        `${index} ${doc.id}`,
      );
    }
    return new Map(docs.map((d) => [d.id, d]));
  }

  it("emits_every_scalar_type_exactly_as_the_oracle_and_the_documented_rules", async () => {
    const docs = await built("types", typesModel);
    const one = docs.get("1")!.document!;
    assert.equal(one.i2, -32768);
    assert.equal(one.i4, 2147483647);
    assert.equal(one.i8, "9223372036854775807");
    assert.equal(one.n, null);
    assert.equal(one.n38, "1234567890123456789012345678.1234567890");
    assert.equal(one.f4, 0.1);
    assert.equal(one.f8, null);
    assert.equal(one.b, true);
    assert.equal(one.tz, "2024-06-01T10:34:56.789Z");
    assert.equal(one.ts, "2024-06-01T12:34:56.789");
    assert.equal(one.d, "2024-06-01");
    assert.equal(one.by, "AP8Q");
    assert.deepEqual(one.j, { a: [1, "x"], big: 1.5 });
    assert.deepEqual(one.jb, { k: { z: null } });
    assert.equal(one.t, '日本語 🎉 "quoted"');
    assert.equal(one.m, "happy");
    assert.equal(one.p, 5);
    assert.equal(one.u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert.deepEqual(one.t_arr, []);
    assert.deepEqual(one.i8_arr, ["9223372036854775807", 1, null]);
    assert.deepEqual(one.i_2d, [1, 2, 3, 4]);
    assert.deepEqual(one.m_arr, ["sad", "ok"]);
    assert.equal(one.mixed, "mixed");
    assert.deepEqual(one.from_point, { lat: 45.46, lon: 9.19 });
    assert.deepEqual(one.from_columns, { lat: 45.46, lon: 9.19 });
    assert.deepEqual(one.nested, { i4: 2147483647, k: 3 });
    assert.equal(one.c59, 59);
    assert.equal(one[`odd "name" \\ 'x'`], "kept");
    assert.equal(one.source, "db");

    const two = docs.get("2")!.document!;
    assert.equal(two.i8, 9007199254740991);
    assert.equal(two.n, 12.5);
    assert.equal(two.n38, 1e-10);
    assert.equal(two.f4, null);
    assert.equal(two.tz, null);
    assert.equal(two.ts, null);
    assert.equal(two.d, null);
    assert.equal(two.by, "");
    assert.equal(two.j, null); // JSON null
    assert.deepEqual(two.jb, []);
    assert.equal(two.mixed, "fallback");
    assert.equal(two.from_columns, null);

    const three = docs.get("3")!.document!;
    assert.equal(three.i8, "-9007199254740992");
    assert.equal(three.n, "123456789012345.6");
    assert.equal(three.f8, 1e-300);
    assert.equal(three.tz, "2000-01-01T07:59:59.999999Z");
    assert.deepEqual(three.t_arr, ["x,y", "a\\b", "NULL", ""]);
    assert.deepEqual(three.upper_arr, ["x,y", "a\\b", "null", ""]);
  });

  it("builds_composite_key_documents_with_unambiguous_ids_and_every_aggregate", async () => {
    const docs = await built("pairs", pairsModel);
    const acme = docs.get(documentId(["acme", "1"]))!;
    assert.equal(acme.id, '["acme","1"]');
    assert.deepEqual(acme.document, {
      tenant: "acme",
      id: 1,
      label: "one",
      notes: [{ body: "gamma", score: null }, { body: "beta", score: 2.5 }, {
        body: "alpha",
        score: 1.25,
      }],
      notes_count: 3,
      notes_sum: 3.75,
      notes_avg: 1.875,
      notes_min: 1.25,
      notes_max: 2.5,
      notes_ids: ["1", "2", "3"],
      last_note_at: "2024-01-01T00:00:00Z",
    });
    assert.ok(docs.has('["a\\"c,me","2"]'));
    const empty = docs.get('["日本","3"]')!.document!;
    assert.equal(empty.notes_sum, 0);
    assert.equal(empty.notes_avg, null);
    assert.deepEqual(empty.notes_ids, []);
  });

  it("pages_composite_keys_between_page_bounds_in_key_order", async () => {
    const expected = expectedDocuments(
      pairsModel,
      await snapshot(db.sql, tablesOfModel(pairsModel)),
    );
    const [first] = await builder.scanKeys("pairs", { limit: 1 });
    // One row per page: every later key is a bound, in the key columns' order.
    const bounds = await builder.pageBounds("pairs", { after: first, limit: 1, pages: 8 });
    const rows = await db.sql.unsafe<{ tenant: string; id: string }[]>(
      "SELECT tenant, id::text FROM pairs ORDER BY tenant, id",
    );
    assert.deepEqual([first, ...bounds], rows.map((r) => [r.tenant, r.id]));
    let after = first;
    for (const through of bounds) {
      const page = await builder.buildPage("pairs", { after, limit: 1, through });
      assert.deepEqual(page.keys, [through]);
      assert.deepEqual(page.documents[0].document, expected.get(JSON.stringify(through))!.document);
      after = through;
    }
  });

  it("applies_every_filter_operator_like_the_oracle", async () => {
    for (const index of filterIndexes) {
      const docs = await built(index.name, index.model);
      assert.ok([...docs.values()].some((d) => d.document !== null), `${index.name} keeps a row`);
      assert.ok([...docs.values()].some((d) => d.document === null), `${index.name} drops a row`);
    }
  });
});
