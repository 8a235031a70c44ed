/**
 * Packed build results (src/model/build_plan.ts `packedSql`, `unpackRows`): flusso reads the
 * documents of a build or backfill page 64 to a result row, keys as a JSON array and documents
 * one per line. Whatever the keys hold (newlines, tabs, quotes, backslashes, braces, "NULL",
 * the empty string, emoji) and however a json column is laid out (raw newlines and carriage
 * returns between tokens), each document reaches its own key, unchanged, across pack borders.
 * Also the backfill's page bounds: ranges between them cover every visible row exactly once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DocumentModel } from "../../src/config/model.ts";
import { PACK_ROWS, PackedRowError, unpackRows } from "../../src/model/build_plan.ts";
import type { DocKey } from "../../src/engine/ports.ts";
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

const notesModel: DocumentModel = {
  file: "notes.schema.yml",
  table: { schema: "public", name: "notes" },
  primaryKey: ["id"],
  filters: [{ column: "hidden", op: "eq", value: false }],
  fields: [scalar("keyword", "id"), scalar("json", "body"), scalar("integer", "n")],
};

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
    let after: DocKey = first;
    const limit = 10;
    for (;;) {
      // Bounds count every row (hidden ones too); a range holds the visible rows within.
      const bounds = await builder.pageBounds("notes", { after, limit, pages: 4 });
      for (const through of bounds) {
        const page = await builder.buildPage("notes", { after, limit, through });
        for (const doc of page.documents) {
          assert.deepEqual(doc.document, expected.get(doc.key[0] as string));
          seen.push(doc.key[0] as string);
        }
        after = through;
      }
      if (bounds.length < 4) break;
    }
    const tail = await builder.buildPage("notes", { after, limit });
    assert.ok(tail.keys.length < limit);
    seen.push(...tail.keys.map((k) => k[0] as string));
    const rows = await db.sql.unsafe<{ id: string }[]>("SELECT id FROM notes ORDER BY id");
    const visible = rows.map((r) => r.id).filter((k, i) => i === 0 || expected.get(k) !== null);
    // A range's rows come in no particular order; together they are every visible row once.
    assert.deepEqual([...seen].sort(), [...visible].sort());
  });

  it("decodes_packs_and_refuses_one_whose_key_and_document_counts_differ", () => {
    assert.deepEqual(unpackRows("x", [['"a"\n["t\\n1","2"]', '{"v":1}\n']]), [
      { key: ["a"], document: '{"v":1}' },
      { key: ["t\n1", "2"], document: null },
    ]);
    assert.throws(
      () => unpackRows("x", [['"a"\n"b"', '{"v":1}']]),
      (e: unknown) => e instanceof PackedRowError && /2 keys but 1 documents/.test(e.message),
    );
  });

  it("decodes_raw_packs_into_document_bytes_that_outlive_the_row_buffer", () => {
    const utf8 = new TextEncoder();
    const keys = utf8.encode('"é"\n"b"\n"c"');
    const docs = utf8.encode('{"n":"Zoë"}\n\n{"v":2}');
    const unpacked = unpackRows("x", [[keys, docs]]);
    // The receive buffer a raw row points into may be reused: overwrite it.
    docs.fill(0x20);
    const text = unpacked.map((r) =>
      r.document === null ? null : new TextDecoder().decode(r.document as Uint8Array)
    );
    assert.deepEqual(unpacked.map((r) => r.key), [["é"], ["b"], ["c"]]);
    assert.deepEqual(text, ['{"n":"Zoë"}', null, '{"v":2}']);
  });
});
