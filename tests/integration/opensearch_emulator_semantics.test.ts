/**
 * The OpenSearch behaviours flusso relies on, checked through the real
 * `@opensearch-project/opensearch` client over HTTP — against the emulator, or against the real
 * cluster at OPENSEARCH_URL when set (then every index name is unique to this run).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@opensearch-project/opensearch";
import { type OpenSearchTarget, opensearchTarget } from "../support/opensearch/target.ts";
import { startEmulator } from "../support/opensearch/emulator.ts";
import { parseDate, quickIsoDate } from "../support/opensearch/dates.ts";
import { checkDocument, parseMapping } from "../support/opensearch/mapping.ts";
import { scanAccepts } from "../support/opensearch/source_scan.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const run = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const name = (s: string) => `emu-${run}-${s}`;

let target: OpenSearchTarget;
let client: Client;

/** The error a failed call throws, with its status and body. */
async function failure(p: Promise<unknown>): Promise<{ status: number; body: Json }> {
  try {
    await p;
  } catch (e) {
    const err = e as { meta?: { statusCode?: number; body?: Json } };
    if (err.meta?.statusCode) return { status: err.meta.statusCode, body: err.meta.body };
    throw e;
  }
  throw new assert.AssertionError({ message: "expected the call to fail" });
}

async function bulk(lines: unknown[], refresh?: "true" | "wait_for"): Promise<Json> {
  const r = await client.bulk({ body: lines as Json[], refresh });
  return r.body;
}

before(async () => {
  target = await opensearchTarget();
  client = new Client({ node: target.url, maxRetries: 0 });
});

after(async () => {
  await client.indices.delete({ index: `emu-${run}-*` }).catch(() => {});
  await client.close();
  await target.close();
});

describe("opensearch emulator semantics", () => {
  it("writes_through_an_alias_reach_its_write_index", async () => {
    const [a, b, alias] = [name("alias-a"), name("alias-b"), name("alias")];
    await client.indices.create({ index: a });
    await client.indices.create({ index: b });
    await client.indices.updateAliases({
      body: {
        actions: [
          { add: { index: a, alias, is_write_index: false } },
          { add: { index: b, alias, is_write_index: true } },
        ],
      },
    });
    const res = await bulk([{ index: { _index: alias, _id: "1" } }, { v: 1 }], "true");
    assert.equal(res.errors, false);
    assert.equal(res.items[0].index._index, b);
    assert.equal((await client.count({ index: b })).body.count, 1);
    assert.equal((await client.count({ index: a })).body.count, 0);
  });

  it("writes_through_an_alias_without_a_write_index_fail_per_item", async () => {
    const [a, b, alias] = [name("amb-a"), name("amb-b"), name("amb")];
    await client.indices.create({ index: a, body: { aliases: { [alias]: {} } } });
    await client.indices.create({ index: b, body: { aliases: { [alias]: {} } } });
    const res = await bulk([{ index: { _index: alias, _id: "1" } }, { v: 1 }]);
    assert.equal(res.errors, true);
    assert.equal(res.items[0].index.status, 400);
    assert.equal(res.items[0].index.error.type, "illegal_argument_exception");
    assert.match(res.items[0].index.error.reason, /no write index is defined for alias/);
  });

  it("alias_actions_apply_atomically_or_not_at_all", async () => {
    const [old, next, alias] = [name("swap-old"), name("swap-new"), name("swap")];
    await client.indices.create({ index: old, body: { aliases: { [alias]: {} } } });
    await client.indices.create({ index: next });
    const bad = await failure(client.indices.updateAliases({
      body: {
        actions: [
          { remove: { index: old, alias } },
          { add: { index: name("missing"), alias } },
        ],
      },
    }));
    assert.equal(bad.status, 404);
    assert.ok(
      (await client.indices.existsAlias({ index: old, name: alias })).body,
      "failed swap left the alias",
    );
    await client.indices.updateAliases({
      body: { actions: [{ remove: { index: old, alias } }, { add: { index: next, alias } }] },
    });
    const got = (await client.indices.getAlias({ name: alias })).body;
    assert.deepEqual(Object.keys(got), [next]);
  });

  it("invalid_index_names_are_rejected_like_opensearch", async () => {
    for (const bad of ["UPPER", "with space", "a*b", "_under", `${"x".repeat(256)}`]) {
      const f = await failure(client.indices.create({ index: bad }));
      assert.equal(f.status, 400, bad);
      assert.equal(f.body.error.type, "invalid_index_name_exception", bad);
    }
  });

  it("an_id_longer_than_512_bytes_fails_the_whole_bulk", async () => {
    const f = await failure(client.bulk({
      body: [{ index: { _index: name("ids"), _id: "é".repeat(257) } }, { v: 1 }, {
        index: { _index: name("ids"), _id: "ok" },
      }, { v: 2 }],
    }));
    assert.equal(f.status, 400);
    assert.equal(f.body.error.type, "action_request_validation_exception");
    assert.match(f.body.error.reason, /is too long, must be no longer than 512 bytes but was: 514/);
  });

  it("strict_mappings_reject_unknown_fields_and_keep_meta", async () => {
    const index = name("strict");
    await client.indices.create({
      index,
      body: {
        mappings: {
          dynamic: "strict",
          _meta: { flusso: { schema: "abc" } },
          properties: {
            known: { type: "keyword" },
            obj: { properties: { inner: { type: "long" } } },
          },
        },
      },
    });
    const mapping = (await client.indices.getMapping({ index })).body[index].mappings;
    assert.deepEqual(mapping._meta, { flusso: { schema: "abc" } });
    const res = await bulk([
      { index: { _index: index, _id: "1" } },
      { known: "a", extra: 1 },
      { index: { _index: index, _id: "2" } },
      { known: "b", obj: { other: 1 } },
      { index: { _index: index, _id: "3" } },
      { known: "c", obj: { inner: 5 } },
    ]);
    assert.equal(res.items[0].index.error.type, "strict_dynamic_mapping_exception");
    assert.match(
      res.items[0].index.error.reason,
      /dynamic introduction of \[extra\] within \[_doc\]/,
    );
    assert.equal(res.items[1].index.error.type, "strict_dynamic_mapping_exception");
    assert.match(res.items[1].index.error.reason, /\[other\] within \[obj\]/);
    assert.equal(res.items[2].index.status, 201);
  });

  it("values_are_checked_against_their_mapped_types", async () => {
    const index = name("types");
    await client.indices.create({
      index,
      body: {
        mappings: {
          dynamic: "strict",
          properties: {
            k: { type: "keyword" },
            t: { type: "text" },
            l: { type: "long" },
            i: { type: "integer" },
            s: { type: "short" },
            d: { type: "double" },
            f: { type: "float" },
            sf: { type: "scaled_float", scaling_factor: 100 },
            b: { type: "boolean" },
            dt: { type: "date" },
            o: { properties: { x: { type: "keyword" } } },
            n: { type: "nested", properties: { y: { type: "long" } } },
            g: { type: "geo_point" },
            bin: { type: "binary" },
          },
        },
      },
    });
    const good: Json = {
      k: ["a", 1, true],
      t: "some text",
      l: "42",
      i: 2147483647,
      s: -32768,
      d: 1.5,
      f: "2.5",
      sf: 12.345,
      b: "false",
      dt: "2024-02-29T10:11:12.123+02:00",
      o: { x: "y" },
      n: [{ y: 1 }, { y: 2 }],
      g: { lat: 45.1, lon: 7.6 },
      bin: "aGVsbG8=",
    };
    const bad: Array<[string, unknown]> = [
      ["k", { nested: 1 }],
      ["l", "abc"],
      ["i", 2147483648],
      ["s", 40000],
      ["d", "x1"],
      ["b", "yes"],
      ["dt", "not a date"],
      ["dt", "2023-02-30"],
      ["o", "scalar"],
      ["n", 5],
      ["g", { lat: 100, lon: 0 }],
      ["bin", "not base64!"],
    ];
    const lines: unknown[] = [{ index: { _index: index, _id: "good" } }, good];
    bad.forEach(([field, value], i) =>
      lines.push({ index: { _index: index, _id: `bad${i}` } }, { [field]: value })
    );
    const res = await bulk(lines);
    assert.equal(res.items[0].index.status, 201, JSON.stringify(res.items[0]));
    res.items.slice(1).forEach((item: Json, i: number) => {
      assert.equal(item.index.status, 400, `${bad[i][0]}=${JSON.stringify(bad[i][1])}`);
      assert.equal(
        item.index.error.type,
        "mapper_parsing_exception",
        JSON.stringify(item.index.error),
      );
    });
  });

  it("dates_accept_the_default_formats", async () => {
    const index = name("dates");
    await client.indices.create({
      index,
      body: { mappings: { properties: { at: { type: "date" } } } },
    });
    const values = [
      "2024",
      "2024-05",
      "2024-05-01",
      "2024-05-01T10:00",
      "2024-05-01T10:00:00Z",
      "2024-05-01T10:00:00.123456Z",
      1714557600000,
      "1714557600000",
    ];
    const res = await bulk(
      values.flatMap((at, i) => [{ index: { _index: index, _id: String(i) } }, { at }]),
      "true",
    );
    assert.equal(res.errors, false, JSON.stringify(res.items.find((i: Json) => i.index.error)));
    const hits: Json = (await client.search({
      index,
      body: { query: { range: { at: { gte: "2024-05-01T00:00:00Z", lt: "2024-05-02" } } } },
    })).body.hits;
    assert.equal(hits.total.value, 7); // all but "2024" (January)
  });

  it("external_versions_conflict_unless_newer", async () => {
    const index = name("ext");
    const put = (id: string, version: number, version_type: "external" | "external_gte") =>
      bulk([{ index: { _index: index, _id: id, version, version_type } }, { v: version }]);
    assert.equal((await put("a", 5, "external")).items[0].index.status, 201);
    const same = (await put("a", 5, "external")).items[0].index;
    assert.equal(same.status, 409);
    assert.equal(same.error.type, "version_conflict_engine_exception");
    assert.equal((await put("a", 6, "external")).items[0].index._version, 6);
    assert.equal((await put("b", 5, "external_gte")).items[0].index.status, 201);
    assert.equal((await put("b", 5, "external_gte")).items[0].index.status, 200);
    assert.equal((await put("b", 4, "external_gte")).items[0].index.status, 409);
  });

  it("external_versions_beyond_2_pow_53_compare_exactly", async () => {
    // LSNs are 64-bit: 2^60 and 2^60 + 1 are the same JS number, but different versions.
    const index = name("bigver");
    const v60 = "1152921504606846976";
    const v60p1 = "1152921504606846977";
    const raw = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${target.url}${path}`, {
        method,
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    const put = (id: string, version: string, type: string) =>
      raw(
        "POST",
        "/_bulk",
        `{"index":{"_index":"${index}","_id":"${id}","version":${version},"version_type":"${type}"}}\n{"v":1}\n`,
      );
    const first = await put("a", v60, "external");
    assert.match(first.text, new RegExp(`"_version":${v60},`));
    const newer = await put("a", v60p1, "external");
    assert.match(newer.text, /"errors":false/);
    assert.match(newer.text, new RegExp(`"_version":${v60p1},`));
    const older = await put("a", v60, "external_gte");
    assert.match(older.text, /"errors":true/);
    assert.match(
      older.text,
      new RegExp(`current version \\[${v60p1}\\] is higher than the one provided \\[${v60}\\]`),
    );
    const got = await raw("GET", `/${index}/_doc/a`);
    assert.match(got.text, new RegExp(`"_version":${v60p1},`));
    assert.equal((await raw("GET", `/${index}/_doc/a?version=${v60p1}`)).status, 200);
    assert.equal((await raw("GET", `/${index}/_doc/a?version=${v60}`)).status, 409);
    const del = await raw(
      "POST",
      "/_bulk",
      `{"delete":{"_index":"${index}","_id":"a","version":${v60p1},"version_type":"external_gte"}}\n`,
    );
    assert.match(del.text, new RegExp(`"_version":${v60p1},"result":"deleted"`));
    const afterDelete = await put("a", v60, "external_gte");
    assert.match(afterDelete.text, /version_conflict_engine_exception/);
  });

  it("deletes_keep_their_version_so_older_writes_still_conflict", async () => {
    const index = name("tomb");
    await bulk([{ index: { _index: index, _id: "x", version: 10, version_type: "external_gte" } }, {
      v: 1,
    }]);
    const del = (await bulk([{
      delete: { _index: index, _id: "x", version: 12, version_type: "external_gte" },
    }])).items[0].delete;
    assert.equal(del.result, "deleted");
    assert.equal(del._version, 12);
    const older = (await bulk([{
      index: { _index: index, _id: "x", version: 11, version_type: "external_gte" },
    }, { v: 2 }])).items[0].index;
    assert.equal(older.status, 409);
    // A delete of a never-seen id records its version too.
    const ghost = (await bulk([{
      delete: { _index: index, _id: "ghost", version: 7, version_type: "external_gte" },
    }])).items[0].delete;
    assert.equal(ghost.status, 404);
    assert.equal(ghost.result, "not_found");
    const ghostWrite = (await bulk([{
      index: { _index: index, _id: "ghost", version: 6, version_type: "external_gte" },
    }, {}])).items[0].index;
    assert.equal(ghostWrite.status, 409);
  });

  it("if_seq_no_and_if_primary_term_guard_writes", async () => {
    const index = name("cas");
    const first = (await client.index({ index, id: "1", body: { v: 1 } })).body;
    const conflict = await failure(
      client.index({
        index,
        id: "1",
        body: { v: 2 },
        if_seq_no: first._seq_no + 5,
        if_primary_term: 1,
      }),
    );
    assert.equal(conflict.status, 409);
    const ok = (await client.index({
      index,
      id: "1",
      body: { v: 3 },
      if_seq_no: first._seq_no,
      if_primary_term: first._primary_term,
    })).body;
    assert.equal(ok._version, 2);
  });

  it("search_sees_writes_only_after_a_refresh", async () => {
    const index = name("refresh");
    await client.indices.create({ index, body: { settings: { refresh_interval: "-1" } } });
    await bulk([{ index: { _index: index, _id: "1" } }, { v: 1 }]);
    assert.equal((await client.count({ index })).body.count, 0);
    assert.equal((await client.get({ index, id: "1" })).body.found, true, "realtime get sees it");
    await client.indices.refresh({ index });
    assert.equal((await client.count({ index })).body.count, 1);
    await bulk([{ index: { _index: index, _id: "2" } }, { v: 2 }], "true");
    assert.equal((await client.count({ index })).body.count, 2);
    await client.indices.putSettings({ index, body: { index: { refresh_interval: "50ms" } } });
    await bulk([{ index: { _index: index, _id: "3" } }, { v: 3 }], "wait_for");
    assert.equal((await client.count({ index })).body.count, 3);
  });

  it("a_refresh_after_a_bulk_load_leaves_later_writes_unsearchable_until_the_next", async () => {
    // The emulator publishes a bulk-loaded index by sharing its map of live documents with
    // searches; the next write must copy it first, whether a bulk or a delete by query.
    const index = name("load");
    await client.indices.create({ index, body: { settings: { refresh_interval: "-1" } } });
    const load = [];
    for (let i = 1; i <= 10; i++) load.push({ index: { _index: index, _id: String(i) } }, { v: i });
    await bulk(load);
    await client.indices.refresh({ index });
    const searchable = async () => {
      const r = await client.search({ index, body: { query: { match_all: {} }, size: 100 } });
      return (r.body.hits.hits as Json[])
        .map((h) => `${h._id}:${h._source.v}`)
        .sort((a, b) => parseInt(a) - parseInt(b));
    };
    const loaded = Array.from({ length: 10 }, (_, i) => `${i + 1}:${i + 1}`);
    assert.deepEqual(await searchable(), loaded);
    await bulk([
      { index: { _index: index, _id: "1" } },
      { v: 100 },
      { delete: { _index: index, _id: "2" } },
      { index: { _index: index, _id: "11" } },
      { v: 11 },
    ]);
    assert.deepEqual(await searchable(), loaded, "nothing changes before the next refresh");
    await client.indices.refresh({ index });
    const refreshed = ["1:100", ...loaded.slice(2), "11:11"];
    assert.deepEqual(await searchable(), refreshed);
    // A second load of more than half the index, published the same way; then a delete by query.
    const more = [];
    for (let i = 12; i <= 23; i++) {
      more.push({ index: { _index: index, _id: String(i) } }, { v: i });
    }
    await bulk(more);
    await client.indices.refresh({ index });
    const reloaded = [...refreshed, ...Array.from({ length: 12 }, (_, i) => `${i + 12}:${i + 12}`)];
    assert.deepEqual(await searchable(), reloaded);
    await client.deleteByQuery({ index, body: { query: { term: { v: 12 } } } });
    assert.deepEqual(await searchable(), reloaded, "a delete by query shows before a refresh");
    await client.indices.refresh({ index });
    assert.deepEqual(await searchable(), reloaded.filter((d) => d !== "12:12"));
  });

  it("search_supports_the_query_subset_flusso_uses", async () => {
    const index = name("search");
    await client.indices.create({
      index,
      body: {
        mappings: {
          properties: {
            tag: { type: "keyword" },
            n: { type: "long" },
            at: { type: "date" },
            title: { type: "text" },
          },
        },
      },
    });
    const docs = Array.from({ length: 12 }, (_, i) => ({
      tag: i % 3 === 0 ? "three" : "other",
      n: i,
      at: `2024-01-${String(i + 1).padStart(2, "0")}`,
      title: `Hello World ${i}`,
      ...(i % 2 === 0 ? { even: true } : {}),
    }));
    await bulk(docs.flatMap((d, i) => [{ index: { _index: index, _id: String(i) } }, d]), "true");
    const ids = async (body: Json) =>
      (await client.search({ index, body: { size: 100, sort: [{ n: "asc" }], ...body } })).body.hits
        .hits.map((h: Json) => h._id);
    assert.deepEqual(await ids({ query: { term: { tag: "three" } } }), ["0", "3", "6", "9"]);
    assert.deepEqual(await ids({ query: { terms: { n: [1, 2, 99] } } }), ["1", "2"]);
    assert.deepEqual(await ids({ query: { ids: { values: ["4", "5"] } } }), ["4", "5"]);
    assert.deepEqual(await ids({ query: { range: { n: { gte: 3, lt: 6 } } } }), ["3", "4", "5"]);
    assert.deepEqual(await ids({ query: { range: { at: { gt: "2024-01-10" } } } }), ["10", "11"]);
    assert.deepEqual(await ids({ query: { exists: { field: "even" } }, size: 3 }), ["0", "2", "4"]);
    assert.deepEqual(
      await ids({
        query: {
          bool: { filter: [{ term: { tag: "other" } }], must_not: [{ range: { n: { gte: 3 } } }] },
        },
      }),
      ["1", "2"],
    );
    assert.deepEqual(await ids({ query: { match: { title: "world" } }, from: 10 }), ["10", "11"]);
    const page = (await client.search({
      index,
      body: {
        query: { match_all: {} },
        sort: [{ n: "desc" }],
        size: 2,
        _source: ["n"],
        track_total_hits: true,
      },
    })).body;
    assert.deepEqual(page.hits.hits.map((h: Json) => h._source), [{ n: 11 }, { n: 10 }]);
    assert.deepEqual(page.hits.total, { value: 12, relation: "eq" });
    const text = await failure(client.search({ index, body: { sort: [{ title: "asc" }] } }));
    assert.equal(text.status, 400);
  });

  it("delete_by_query_removes_matching_documents", async () => {
    const index = name("dbq");
    await bulk(
      Array.from({ length: 6 }, (_, i) => [{ index: { _index: index, _id: String(i) } }, { n: i }])
        .flat(),
      "true",
    );
    const res: Json = (await client.deleteByQuery({
      index,
      refresh: true,
      body: { query: { range: { n: { lt: 4 } } } },
    })).body;
    assert.equal(res.deleted, 4);
    assert.equal((await client.count({ index })).body.count, 2);
  });

  it("mget_and_get_return_sources_and_not_found", async () => {
    const index = name("mget");
    await client.index({ index, id: "1", body: { big: 72057594037927936, s: "x" } });
    const docs: Json[] = (await client.mget({ index, body: { ids: ["1", "2"] } })).body.docs;
    assert.equal(docs[0].found, true);
    assert.equal(docs[1].found, false);
    const missing = await failure(client.get({ index, id: "nope" }));
    assert.equal(missing.status, 404);
    const exists = await client.exists({ index, id: "1" });
    assert.equal(exists.body, true);
  });

  it("requests_over_http_max_content_length_get_413", async (t) => {
    if (!target.emulator) {
      return t.skip("needs the emulator: the limit of a real cluster is its own");
    }
    const small = await startEmulator({ maxContentLength: 1024 });
    const c = new Client({ node: small.url, maxRetries: 0 });
    try {
      const f = await failure(c.index({ index: "big", id: "1", body: { s: "x".repeat(2000) } }));
      assert.equal(f.status, 413);
      assert.equal(
        (await c.index({ index: "big", id: "2", body: { s: "small" } })).statusCode,
        201,
      );
    } finally {
      await c.close();
      await small.close();
    }
  });
});

describe("opensearch emulator source scan", () => {
  // The bulk path accepts most documents from their text (source_scan.ts) instead of parsing
  // them; whatever it accepts, JSON.parse + the full mapping check must accept unchanged.
  const mapping = parseMapping({
    dynamic: "strict",
    properties: {
      k: { type: "keyword" },
      t: { type: "text" },
      l: { type: "long" },
      i: { type: "integer" },
      s: { type: "short" },
      b: { type: "byte" },
      d: { type: "double" },
      sf: { type: "scaled_float", scaling_factor: 100 },
      f: { type: "float" },
      bo: { type: "boolean" },
      dt: { type: "date" },
      dy: { type: "date", format: "yyyy-MM-dd" },
      o: { properties: { x: { type: "long" }, y: { type: "keyword" } } },
      n: { type: "nested", properties: { x: { type: "long" } } },
      off: { type: "object", enabled: false },
      g: { type: "geo_point" },
    },
  });
  const values = [
    `"abc"`,
    `"a\\"b"`,
    `"\\u00e9"`,
    `"\\x"`,
    `"tab\there"`,
    `""`,
    `"true"`,
    `"12"`,
    `0`,
    `-0`,
    `01`,
    `1.5`,
    `-1.25`,
    `1e3`,
    `1E400`,
    `-`,
    `2.`,
    `.5`,
    `2147483647`,
    `2147483648`,
    `-129`,
    `127`,
    `-128`,
    `32768`,
    `9007199254740993`,
    `123456789012345678`,
    `12345678901234567890`,
    `true`,
    `false`,
    `null`,
    `nul`,
    `truex`,
    `"2024-05-01T12:00:00Z"`,
    `"2024-02-30T00:00:00Z"`,
    `"2024-02-29T00:00:00Z"`,
    `"2023-02-29T00:00:00Z"`,
    `"2024-05-01T12:00:00.123+02:00"`,
    `"2024-05-01T24:00:00Z"`,
    `"2024-05-01T12:60:00Z"`,
    `"2024-05-01"`,
    `"2024-05-01T12:00:00+0200"`,
    `"2024-05-01T12:00:00+02"`,
    `"2024-05-01T12:00:00.1234567890Z"`,
    `"2024-05-01T12:00:00."`,
    `"2024-05-01T12:00:00Zz"`,
    `"2024-5-01T12:00:00Z"`,
    `"1714564800000"`,
    `1714564800000`,
    `"2024-05-01T12:00:00\\u005a"`,
    `[]`,
    `[1,2]`,
    `[1,"a"]`,
    `[[1]]`,
    `[ 1 , 2 ]`,
    `[1,]`,
    `{}`,
    `{"x":1}`,
    `{"x":"a","y":2}`,
    `{"z":1}`,
    `[{"x":1}]`,
    `{"x":1,}`,
    `{"x" 1}`,
    `{"lat":1,"lon":2}`,
  ];
  const keys = [
    "k",
    "t",
    "l",
    "i",
    "s",
    "b",
    "d",
    "sf",
    "f",
    "bo",
    "dt",
    "dy",
    "o",
    "n",
    "off",
    "g",
    "zz",
    "o.x",
    "",
    " ",
    "k\\u0065",
  ];
  const spaces = ["", " ", "\t", "\r"];

  function seeded(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function fullCheckAccepts(text: string): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return false;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return false;
    try {
      return checkDocument(mapping, parsed, "1") === undefined;
    } catch {
      return false;
    }
  }

  it("accepts_only_documents_the_full_mapping_check_accepts", () => {
    const random = seeded(7);
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      const pairs: string[] = [];
      const count = Math.floor(random() * 4);
      for (let p = 0; p < count; p++) {
        const ws = () => pick(spaces);
        pairs.push(`${ws()}"${pick(keys)}"${ws()}:${ws()}${pick(values)}${ws()}`);
      }
      let text = `{${pairs.join(",")}}`;
      const r = random();
      if (r < 0.03) text = `${text}x`;
      else if (r < 0.06) text = text.slice(0, -1);
      else if (r < 0.09) text = ` ${text} `;
      else if (r < 0.1) text = `[${text}]`;
      const scan = scanAccepts(mapping, text);
      if (scan) accepted++;
      assert.ok(
        !scan || fullCheckAccepts(text),
        `scan accepted what the full check does not: ${text}`,
      );
    }
    assert.ok(accepted > 1_000, `the scan should accept common documents (accepted ${accepted})`);
  });

  it("accepts_a_typical_document_without_parsing", () => {
    const doc =
      `{"k":"SKU-1","t":"item 1","l":1,"i":-5,"d":1.5,"sf":9.99,"bo":true,"dt":"2024-05-01T12:00:00Z",` +
      `"o":{"x":2,"y":"a"},"n":[{"x":1},{"x":2}],"g":null}`;
    assert.ok(fullCheckAccepts(doc));
    assert.ok(scanAccepts(mapping, doc));
  });

  it("quick_iso_dates_agree_with_the_date_parser", () => {
    for (const v of values.filter((v) => v.startsWith('"20'))) {
      const text = JSON.parse(v) as string;
      if (quickIsoDate(text)) assert.notEqual(parseDate(text), undefined, text);
    }
    assert.ok(quickIsoDate("2024-05-01T12:00:00.123456Z"));
  });
});
