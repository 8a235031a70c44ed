/**
 * Packed build results (src/model/build_plan.ts `packedSql`, `unpackRows`): flusso reads the
 * documents of a build or backfill page several to a result row (64, or a heap page's rows in
 * a range), keys one per line and documents separated by U+001E. Whatever the keys hold
 * (newlines, tabs, quotes, backslashes, braces, "NULL", the empty string, emoji; or bare
 * integer and uuid texts) and however a json column is laid out (raw newlines and carriage
 * returns between tokens), each document reaches its own key, on one line and otherwise
 * unchanged, across pack borders; a range's packs hold one span of an integer key or else one
 * heap page. Also the backfill's page bounds: ranges between them cover
 * every visible row exactly once. And a relation that is not a table, refused by name.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import type { DocumentModel } from "../../src/config/model.ts";
import {
  buildPlan,
  PACK_ROWS,
  PackedRowError,
  rangeParams,
  unpackRows,
} from "../../src/model/build_plan.ts";
import type { BuiltDocument, DocKey } from "../../src/engine/ports.ts";
import { RelationNotATableError } from "../../src/model/errors.ts";
import { loadColumnCatalog } from "../../src/postgres/document_catalog.ts";
import {
  createPostgresDocumentBuilder,
  type PostgresDocumentBuilder,
} from "../../src/postgres/document_builder.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";
import { indexOf, scalar } from "../support/shop_model.ts";

const ODD_KEYS = [
  "line\nbreak",
  "tab\there",
  'quote"d',
  "back\\slash",
  "NULL",
  "",
  "🎉 party",
  "comma,brace{}[]",
  "\r\n",
];
// Enough rows for several packs per statement, plus the odd keys in between.
const KEYS = [...ODD_KEYS, ...Array.from({ length: 3 * PACK_ROWS + 5 }, (_, i) => `k${i}`)];

const SETUP = `
CREATE TABLE notes (id text PRIMARY KEY, body json, n integer, hidden boolean NOT NULL);
INSERT INTO notes
  SELECT k, format(E'{\\n  "k": %s,\\r\\n  "list": [1,\\n 2]\\n}', to_json(k))::json, i, i % 11 = 3
  FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i);
`;

/** The model of an index over public.`table` keyed by `id`, without the hidden rows when asked. */
function rootModel(table: string, fields: DocumentModel["fields"], hideRows = true): DocumentModel {
  return {
    file: `${table}.schema.yml`,
    table: { schema: "public", name: table },
    primaryKey: ["id"],
    filters: hideRows ? [{ column: "hidden", op: "eq", value: false }] : [],
    fields,
  };
}

const notesModel = rootModel("notes", [
  scalar("keyword", "id"),
  scalar("json", "body"),
  scalar("integer", "n"),
]);

/**
 * Every document after `after`, read the backfill's way: ranges between page bounds (bounds count
 * every row, hidden ones too; a range holds the visible rows within), then the open last page.
 */
async function readByRanges(
  builder: PostgresDocumentBuilder,
  index: string,
  after: DocKey,
  limit: number,
  pages: number,
): Promise<BuiltDocument[]> {
  const documents: BuiltDocument[] = [];
  for (;;) {
    const bounds = await builder.pageBounds(index, { after, limit, pages });
    for (const through of bounds) {
      documents.push(...(await builder.buildPage(index, { after, limit, through })).documents);
      after = through;
    }
    if (bounds.length < pages) break;
  }
  const tail = await builder.buildPage(index, { after, limit });
  assert.ok(tail.keys.length < limit);
  return [...documents, ...tail.documents];
}

describe("packed build results", () => {
  let db: TestDatabase;
  let builder: PostgresDocumentBuilder;
  const expected = new Map<string, Record<string, unknown> | null>();

  before(async () => {
    db = await testDatabase("docs_packed");
    const [create, insert] = SETUP.split(";\n").map((s) => s.trim()).filter((s) => s);
    await db.sql.unsafe(create);
    await db.sql.unsafe(insert, [KEYS]);
    KEYS.forEach((k, i) => {
      const n = i + 1;
      expected.set(
        k,
        n % 11 === 3 ? null : { id: k, body: { k, list: [1, 2] }, n },
      );
    });
    builder = await createPostgresDocumentBuilder({
      sql: db.sql,
      indexes: [indexOf("notes", notesModel)],
      chunkSize: 2 * PACK_ROWS + 7,
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("pairs_every_document_with_its_own_key_across_packs_whatever_the_key_holds", async () => {
    const missing = ["absent\nkey", "absent"];
    const keys: DocKey[] = [...KEYS, ...missing].map((k) => [k]);
    const built = await builder.build("notes", keys);
    assert.equal(built.length, keys.length);
    for (const doc of built) {
      const key = doc.key[0] as string;
      assert.deepEqual(doc.document, expected.get(key) ?? null, JSON.stringify(key));
    }
    // Filtered and missing rows are deletes, not lost keys.
    assert.ok(built.some((d) => d.document === null && d.key[0] === "absent\nkey"));
  });

  it("pages_in_key_order_with_every_visible_row_once_across_pack_borders", async () => {
    // The backfill's first page is a key scan; range pages follow it.
    const [first] = await builder.scanKeys("notes", { limit: 1 });
    const seen: string[] = [first[0] as string];
    let after: DocKey = first;
    const limit = PACK_ROWS + 9;
    for (;;) {
      const page = await builder.buildPage("notes", { after, limit });
      for (const doc of page.documents) {
        const key = doc.key[0] as string;
        assert.deepEqual(doc.document, expected.get(key), JSON.stringify(key));
        seen.push(key);
      }
      if (page.keys.length < limit) break;
      after = page.keys.at(-1)!;
    }
    const rows = await db.sql.unsafe<{ id: string }[]>("SELECT id FROM notes ORDER BY id");
    // scanKeys lists every key (filters apply when building); range pages skip hidden rows.
    const visible = rows.map((r) => r.id).filter((k, i) => i === 0 || expected.get(k) !== null);
    assert.deepEqual(seen, visible);
  });

  it("covers_every_visible_row_once_with_ranges_between_page_bounds", async () => {
    const [first] = await builder.scanKeys("notes", { limit: 1 });
    const seen: string[] = [first[0] as string];
    for (const doc of await readByRanges(builder, "notes", first, 10, 4)) {
      assert.deepEqual(doc.document, expected.get(doc.key[0] as string));
      seen.push(doc.key[0] as string);
    }
    const rows = await db.sql.unsafe<{ id: string }[]>("SELECT id FROM notes ORDER BY id");
    const visible = rows.map((r) => r.id).filter((k, i) => i === 0 || expected.get(k) !== null);
    // A range's rows come in no particular order; together they are every visible row once.
    assert.deepEqual([...seen].sort(), [...visible].sort());
  });

  it("bounds_every_limit_th_key_counting_hidden_rows_and_stops_at_the_table_end", async () => {
    const rows = await db.sql.unsafe<{ id: string }[]>("SELECT id FROM notes ORDER BY id");
    const all = rows.map((r) => r.id);
    const from = 4;
    const limit = 7;
    const want = (pages: number) =>
      Array.from({ length: pages }, (_, p) => all[from + (p + 1) * limit])
        .filter((k) => k !== undefined).map((k) => [k]);
    // Hidden rows are counted: a range between bounds never holds more than `limit` rows.
    assert.deepEqual(
      await builder.pageBounds("notes", { after: [all[from]], limit, pages: 3 }),
      want(3),
    );
    // Near the end, fewer bounds than pages: the last rows are left to the open page.
    const pages = Math.ceil(all.length / limit);
    const tail = await builder.pageBounds("notes", { after: [all[from]], limit, pages });
    assert.deepEqual(tail, want(pages));
    assert.ok(tail.length < pages);
    assert.deepEqual(await builder.pageBounds("notes", { after: [all.at(-1)!], limit, pages }), []);
  });

  it("decodes_packs_and_refuses_one_whose_key_and_document_counts_differ", () => {
    assert.deepEqual(
      unpackRows("x", [[
        '"a"\n["t\\n1","2"]\n-17\n0f6e5a52-8e1c-4d5e-9a3b-2c1d0e9f8a7b',
        [
          '{"v":1}',
          "",
          '{\n"w":\r\n[1,\n2]}',
          "{}",
        ].join("\u001e"),
      ]]),
      [
        { key: ["a"], document: '{"v":1}' },
        { key: ["t\n1", "2"], document: null },
        // A raw newline can only be whitespace: it becomes a space (one line per document).
        { key: ["-17"], document: '{ "w":\r [1, 2]}' },
        { key: ["0f6e5a52-8e1c-4d5e-9a3b-2c1d0e9f8a7b"], document: "{}" },
      ],
    );
    assert.throws(
      () => unpackRows("x", [['"a"\n"b"', '{"v":1}']]),
      (e: unknown) => e instanceof PackedRowError && /2 keys but 1 documents/.test(e.message),
    );
    // Newlines do not separate documents.
    assert.throws(
      () => unpackRows("x", [['"a"\n"b"', '{"v":1}\n{"v":2}']]),
      (e: unknown) => e instanceof PackedRowError && /2 keys but 1 documents/.test(e.message),
    );
  });

  it("decodes_raw_packs_into_one_line_document_bytes", () => {
    const utf8 = new TextEncoder();
    // Buffers, as the `postgres` client hands raw columns over.
    const keys = Buffer.from(utf8.encode('"é"\n"b"\n"c"\n42'));
    const docs = Buffer.from(utf8.encode('{"n":"Zoë"}\u001e\u001e{"v":2}\u001e{"l":\n[1,\n2]}'));
    const unpacked = unpackRows("x", [[keys, docs]]);
    const text = unpacked.map((r) =>
      r.document === null ? null : new TextDecoder().decode(r.document as Uint8Array)
    );
    assert.deepEqual(unpacked.map((r) => r.key), [["é"], ["b"], ["c"], ["42"]]);
    assert.deepEqual(text, ['{"n":"Zoë"}', null, '{"v":2}', '{"l": [1, 2]}']);
  });

  it("keeps_raw_documents_intact_while_their_connection_reads_on", async () => {
    // Raw documents are views into the bytes the client received (unpackRows copies nothing):
    // this holds only while the client never reuses a receive buffer. One connection, so every
    // later read goes through the same socket and parser as the first page's.
    const one = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const single = await createPostgresDocumentBuilder({
        sql: one,
        indexes: [indexOf("notes", notesModel)],
      });
      const [start] = await single.scanKeys("notes", { limit: 1 });
      const first = await single.buildPage("notes", { after: start, limit: 2 * PACK_ROWS });
      const raw = first.documents.map((d) => d.json);
      assert.ok(raw.every((json) => json instanceof Uint8Array), "documents arrive as bytes");
      const before = raw.map((json) => new TextDecoder().decode(json as Uint8Array));
      let after = first.keys.at(-1)!;
      for (let i = 0; i < 20; i++) {
        const next = await single.buildPage("notes", { after, limit: PACK_ROWS });
        after = next.keys.at(-1) ?? [""];
        await single.build("notes", KEYS.map((k) => [k]));
      }
      assert.deepEqual(raw.map((json) => new TextDecoder().decode(json as Uint8Array)), before);
    } finally {
      await one.end({ timeout: 1 });
    }
  });
});

describe("packed build results with bare keys, a key span or a heap page per range pack", () => {
  let db: TestDatabase;
  let builder: PostgresDocumentBuilder;
  const ROWS = 1500;
  const visible = (n: number) => n % 7 !== 0;

  const readingsModel = rootModel("readings", [
    scalar("long", "id"),
    scalar("json", "body"),
    scalar("keyword", "pad"),
  ]);
  const tagsModel = rootModel("tags", [scalar("keyword", "id"), scalar("keyword", "name")], false);
  const expected = (n: number) => ({
    id: n,
    body: { n, list: [1, 2] },
    pad: "p".repeat(150),
  });

  before(async () => {
    db = await testDatabase("docs_packed_bare");
    // Rows of ≈ 200 bytes: a few dozen per heap page, so a range spans many packs.
    await db.sql.unsafe(`
      CREATE TABLE readings (id bigint PRIMARY KEY, body json, pad text, hidden boolean NOT NULL)`);
    await db.sql.unsafe(`
      INSERT INTO readings
        SELECT n, format(E'{\\n  "n": %s,\\n  "list": [1,\\n 2]\\n}', n)::json, repeat('p', 150),
               n % 7 = 0
        FROM generate_series(1, ${ROWS}) AS n`);
    await db.sql.unsafe(`CREATE TABLE tags (id uuid PRIMARY KEY, name text)`);
    await db.sql.unsafe(`
      INSERT INTO tags SELECT md5(n::text)::uuid, 'tag ' || n FROM generate_series(1, 100) n`);
    builder = await createPostgresDocumentBuilder({
      sql: db.sql,
      indexes: [indexOf("readings", readingsModel), indexOf("tags", tagsModel)],
      chunkSize: 2 * PACK_ROWS + 7,
    });
  });

  after(async () => {
    await db?.drop();
  });

  it("covers_every_visible_row_once_with_one_line_documents_in_heap_page_packs", async () => {
    const seen: string[] = [];
    for (const doc of await readByRanges(builder, "readings", ["0"], 400, 2)) {
      const key = doc.key[0] as string;
      const text = new TextDecoder().decode(doc.json as Uint8Array);
      assert.ok(!text.includes("\n"), `document ${key} is on one line`);
      assert.deepEqual(doc.document, expected(Number(key)));
      seen.push(key);
    }
    const want = Array.from({ length: ROWS }, (_, i) => i + 1).filter(visible).map(String);
    assert.deepEqual([...seen].sort(), [...want].sort());
  });

  it("packs_an_integer_keyed_range_by_key_span_so_no_pack_outgrows_its_span", async () => {
    const plan = buildPlan(
      indexOf("readings", readingsModel),
      await loadColumnCatalog(db.sql, [readingsModel.table]),
    );
    assert.equal(plan.rangePacksByKeySpan, true);
    const params = rangeParams(plan, ["0"], [String(ROWS)], 500);
    const width = Number(params.at(-1));
    assert.equal(width, (ROWS * PACK_ROWS) / 500);
    const packs = await db.sql.unsafe(plan.packedRangeSql, params as never[]).values();
    let keys = 0;
    for (const [keyLines] of packs as string[][]) {
      // Bare keys, one per line, every one of them in the same span of `width` key values.
      const ids = keyLines.split("\n").map(Number);
      assert.equal(new Set(ids.map((id) => Math.floor(id / width))).size, 1, keyLines);
      keys += ids.length;
    }
    assert.equal(keys, Array.from({ length: ROWS }, (_, i) => i + 1).filter(visible).length);
    assert.equal(packs.length, Math.ceil((ROWS + 1) / width));
  });

  it("packs_a_range_of_other_keys_by_heap_page_so_no_pack_outgrows_one_page", async () => {
    await db.sql.unsafe(`CREATE TABLE labels (id uuid PRIMARY KEY, pad text)`);
    await db.sql.unsafe(`
      INSERT INTO labels SELECT md5(n::text)::uuid, repeat('p', 200) FROM generate_series(1, ${ROWS}) n`);
    const labelsModel = rootModel("labels", [scalar("keyword", "pad")], false);
    const plan = buildPlan(
      indexOf("labels", labelsModel),
      await loadColumnCatalog(db.sql, [labelsModel.table]),
    );
    assert.equal(plan.rangePacksByKeySpan, false);
    const lowest = "00000000-0000-0000-0000-000000000000";
    const highest = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    const packs = await db.sql.unsafe(
      plan.packedRangeSql,
      rangeParams(plan, [lowest], [highest], 500) as never[],
    ).values();
    const pageOf = new Map(
      (await db.sql.unsafe<{ id: string; page: number }[]>(
        `SELECT id::text, (ctid::text::point)[0]::int AS page FROM labels`,
      )).map((r) => [r.id, r.page]),
    );
    let keys = 0;
    for (const [keyLines] of packs as string[][]) {
      // Bare uuids, one per line, every one of them on the same heap page.
      const ids = keyLines.split("\n");
      assert.equal(new Set(ids.map((id) => pageOf.get(id))).size, 1, keyLines);
      keys += ids.length;
    }
    assert.equal(keys, ROWS);
    assert.ok(packs.length > 10, `${packs.length} packs, one per heap page`);
  });

  it("refuses_a_root_that_is_not_a_table_naming_the_index_and_the_fix", async () => {
    await db.sql.unsafe(`CREATE VIEW reading_view AS SELECT * FROM readings`);
    await assert.rejects(
      createPostgresDocumentBuilder({
        sql: db.sql,
        indexes: [
          indexOf("readings", readingsModel),
          indexOf("viewed", rootModel("reading_view", [scalar("long", "id")])),
        ],
      }),
      (e: unknown) =>
        e instanceof RelationNotATableError && e.index === "viewed" && e.root &&
        /public\.reading_view is a view, not a table; .*point the schema's `table` at a table/
          .test(e.message),
    );
  });

  it("refuses_a_related_relation_that_is_not_a_table_whose_changes_could_never_arrive", async () => {
    await db.sql.unsafe(
      `CREATE TABLE reading_notes_src (id bigint PRIMARY KEY, reading_id bigint)`,
    );
    await db.sql.unsafe(`CREATE VIEW reading_notes AS SELECT * FROM reading_notes_src`);
    const annotated: DocumentModel = {
      ...rootModel("readings", [scalar("long", "id")], false),
      fields: [scalar("long", "id"), {
        kind: "aggregate",
        name: "notes",
        fn: "count",
        table: { schema: "public", name: "reading_notes" },
        primaryKey: ["id"],
        foreignKey: ["reading_id"],
        filters: [],
      }],
    };
    await assert.rejects(
      createPostgresDocumentBuilder({
        sql: db.sql,
        indexes: [indexOf("readings", readingsModel), indexOf("annotated", annotated)],
      }),
      (e: unknown) =>
        e instanceof RelationNotATableError && e.index === "annotated" && !e.root &&
        e.kind === "view" &&
        /reads public\.reading_notes, a view, not a table; .*read the table\(s\) behind it/
          .test(e.message),
    );
  });

  it("reads_bare_keys_of_every_plain_type_as_the_text_pgoutput_sends", async () => {
    // Range, page and bounds statements cast plain key types to text instead of calling
    // format('%s'); a cast that wrote another text than the type's output would lose rows to
    // ranges that no longer meet, or give keys that match no change.
    const columns: [string, string, string][] = [
      ["smallint", "n::smallint - 300", "-32768"],
      ["integer", "n * 1000003 - 400000000", "-2147483648"],
      ["bigint", "n::bigint * 90000000000000 - 1", "-9223372036854775808"],
      // Trailing zeros included: a text without them would be another key.
      [
        "numeric",
        "((n - 300)::numeric / 8 * power(10::numeric, n % 30 - 10))::numeric(60, 20)",
        "-1e400",
      ],
      ["uuid", "md5(n::text)::uuid", "00000000-0000-0000-0000-000000000000"],
      ["big_id", "n::bigint * 3 - 500", "-9223372036854775808"],
    ];
    await db.sql.unsafe(`CREATE DOMAIN big_id AS bigint`);
    const indexes = [];
    for (const [type, value] of columns) {
      const table = `plain_${type}`;
      await db.sql.unsafe(`CREATE TABLE ${table} (id ${type} PRIMARY KEY, pad text)`);
      await db.sql.unsafe(
        `INSERT INTO ${table} SELECT ${value}, repeat('p', 300) FROM generate_series(1, 600) n
         ON CONFLICT DO NOTHING`,
      );
      indexes.push(indexOf(table, rootModel(table, [scalar("keyword", "pad")], false)));
    }
    const plainBuilder = await createPostgresDocumentBuilder({ sql: db.sql, indexes });
    for (const [type, , below] of columns) {
      const table = `plain_${type}`;
      const want =
        (await db.sql.unsafe<{ k: string }[]>(`SELECT format('%s', id) AS k FROM ${table}`))
          .map((r) => r.k);
      const got = (await readByRanges(plainBuilder, table, [below], 50, 3)).map((d) =>
        d.key[0] as string
      );
      assert.deepEqual([...got].sort(), [...want].sort(), `keys of ${type}`);
    }
  });

  it("builds_by_bare_integer_and_uuid_keys_with_missing_ones_as_deletes", async () => {
    const keys: DocKey[] = [["5"], ["7"], ["999999"], ["1200"]];
    const built = await builder.build("readings", keys);
    assert.deepEqual(
      built.map((d) => [d.key[0], d.document]),
      [["5", expected(5)], ["7", null], ["999999", null], ["1200", expected(1200)]],
    );
    const [{ id }] = await db.sql.unsafe<{ id: string }[]>(
      `SELECT id::text FROM tags WHERE name = 'tag 3'`,
    );
    const tags = await builder.build("tags", [[id], ["00000000-0000-0000-0000-000000000000"]]);
    assert.deepEqual(tags.map((d) => [d.key[0], d.document]), [
      [id, { id, name: "tag 3" }],
      ["00000000-0000-0000-0000-000000000000", null],
    ]);
  });
});
