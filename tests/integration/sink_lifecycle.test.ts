/**
 * The index lifecycle against the emulator (or a real cluster at OPENSEARCH_URL): generations
 * behind an alias, idempotent ensure, schema changes and reindexes that keep serving reads and
 * receiving live writes, atomic swaps, and resumption after a crash.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { SinkConfig } from "../../src/config/model.ts";
import type { IndexDefinition, SinkWrite } from "../../src/engine/ports.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../../src/opensearch/sink.ts";
import { opensearchTarget } from "../support/opensearch/target.ts";

type Target = Awaited<ReturnType<typeof opensearchTarget>>;

const V1: IndexDefinition = {
  index: "items",
  schemaHash: "aaaaaaaa00000000",
  body: { mappings: { dynamic: "strict", properties: { n: { type: "long" } } } },
};
const V2: IndexDefinition = {
  index: "items",
  schemaHash: "bbbbbbbb00000000",
  body: {
    mappings: { dynamic: "strict", properties: { n: { type: "long" }, tag: { type: "keyword" } } },
  },
};

const put = (id: string, version: bigint, n: number): SinkWrite => ({
  index: "items",
  id,
  version,
  document: { n },
});

describe("opensearch sink lifecycle", () => {
  let target: Target;
  const sinks: OpenSearchSink[] = [];
  let prefix: string;
  let alias: string;

  const newSink = () => {
    const config: SinkConfig = {
      name: "search",
      type: "opensearch",
      url: target.url,
      tlsVerify: true,
      batchSize: 100,
      maxBytes: 1_000_000,
      timeoutMs: 5_000,
      maxRetries: 3,
      numberOfShards: 1,
      numberOfReplicas: 0,
      refreshInterval: "200ms",
      liveRefresh: "immediate",
    };
    const sink = createOpenSearchSink({ config, prefix, sleep: () => Promise.resolve() });
    sinks.push(sink);
    return sink;
  };

  const aliasTargets = async (sink: OpenSearchSink) => {
    const response = await sink.client.indices.getAlias({ name: alias }, { ignore: [404] });
    return response.statusCode === 404 ? [] : Object.keys(response.body as object).sort();
  };
  const exists = async (sink: OpenSearchSink, index: string) =>
    (await sink.client.indices.exists({ index }, { ignore: [404] })).body === true;
  const searchAll = async (sink: OpenSearchSink, index = alias) => {
    const response = await sink.client.search({
      index,
      body: { query: { match_all: {} }, size: 1000 },
    });
    const hits = (response.body as { hits: { hits: { _id: string; _source: { n: number } }[] } })
      .hits.hits;
    return new Map(hits.map((h) => [h._id, h._source.n]));
  };
  const refreshInterval = async (sink: OpenSearchSink, index: string) => {
    const response = await sink.client.indices.getSettings({ index });
    const body = response.body as Record<
      string,
      { settings: { index: { refresh_interval?: string } } }
    >;
    return body[index].settings.index.refresh_interval;
  };

  before(async () => {
    target = await opensearchTarget();
  });

  after(async () => {
    const admin = sinks.at(-1);
    if (admin !== undefined && prefix !== undefined) {
      await admin.client.indices.delete({ index: `${prefix}*` }, { ignore: [404] }).catch(() => {});
    }
    for (const sink of sinks) await sink.close().catch(() => {});
    await target.close();
  });

  it("serves_each_generation_through_the_alias_only_once_seeded", async () => {
    prefix = `l${randomUUID().slice(0, 8)}_`;
    alias = `${prefix}items`;
    const sink = newSink();
    const [status] = await sink.ensure([V1]);
    assert.deepEqual(status, { index: "items", seeded: false, generation: 1 });
    const gen1 = `${prefix}items_aaaaaaaa_1`;
    assert.ok(await exists(sink, gen1));
    assert.equal(await refreshInterval(sink, gen1), "-1");
    assert.deepEqual(await aliasTargets(sink), []);

    await sink.write([put("1", 10n, 1), put("2", 10n, 2)], { caughtUp: false });
    await sink.saveBackfillCursor("items", ["2"]);
    // Restart before seeding: the backfill resumes after its cursor, nothing new is created.
    const again = newSink();
    assert.deepEqual(await again.ensure([V1]), [
      { index: "items", seeded: false, generation: 1, backfillCursor: ["2"] },
    ]);
    await again.markSeeded("items");
    assert.deepEqual(await aliasTargets(again), [gen1]);
    assert.equal(await refreshInterval(again, gen1), "200ms");
    assert.deepEqual(await searchAll(again), new Map([["1", 1], ["2", 2]]));
    assert.deepEqual(await again.ensure([V1]), [{ index: "items", seeded: true, generation: 1 }]);
    // The meta record says so too.
    const meta = await again.client.get({ index: `${prefix}flusso_meta`, id: "items" });
    const record = (meta.body as { _source: { active: { generation: number } } })._source;
    assert.equal(record.active.generation, 1);
  });

  it("builds_a_new_schema_generation_while_the_old_one_serves_and_receives_writes", async () => {
    const sink = newSink();
    const [status] = await sink.ensure([V2]);
    assert.deepEqual(status, { index: "items", seeded: false, generation: 2 });
    const gen1 = `${prefix}items_aaaaaaaa_1`;
    const gen2 = `${prefix}items_bbbbbbbb_2`;
    assert.deepEqual(await aliasTargets(sink), [gen1]);
    // A live write reaches both generations.
    assert.deepEqual(await sink.write([put("3", 20n, 3)], { caughtUp: true }), []);
    assert.equal((await searchAll(sink)).get("3"), 3);
    await sink.client.indices.refresh({ index: gen2 });
    assert.equal((await searchAll(sink, gen2)).get("3"), 3);
    // A document only the new schema accepts is not a rejection: the old generation retires.
    const tagged: SinkWrite = {
      index: "items",
      id: "4",
      version: 21n,
      document: { n: 4, tag: "x" },
    };
    assert.deepEqual(await sink.write([tagged], { caughtUp: true }), []);
    // Backfill the rest, then swap.
    await sink.write([put("1", 15n, 1), put("2", 15n, 2)], { caughtUp: false });
    await sink.markSeeded("items");
    assert.deepEqual(await aliasTargets(sink), [gen2]);
    assert.equal(await exists(sink, gen1), false);
    assert.deepEqual(await searchAll(sink), new Map([["1", 1], ["2", 2], ["3", 3], ["4", 4]]));
  });

  it("reindexes_with_continuous_writes_without_a_failed_search_or_a_lost_write", async () => {
    const sink = newSink();
    await sink.ensure([V2]);
    const rows = new Map<string, number>();
    let lsn = 100n;
    const seed = Array.from({ length: 30 }, (_, i) => put(`r${i}`, lsn, i));
    for (const w of seed) rows.set(w.id, (w.document as { n: number }).n);
    await sink.write(seed, { caughtUp: true });

    let searching = true;
    let searches = 0;
    let smallest = Infinity;
    const searchLoop = (async () => {
      while (searching) {
        const seen = await searchAll(sink); // throws if the alias ever points nowhere
        smallest = Math.min(smallest, [...seen.keys()].filter((id) => id.startsWith("r")).length);
        searches++;
      }
    })();

    await sink.startReindex("items");
    const gen3 = `${prefix}items_bbbbbbbb_3`;
    assert.ok(await exists(sink, gen3));
    const snapshotLsn = ++lsn;
    const snapshot = new Map(rows);
    // Live writes interleave with the backfill pages.
    const ids = [...snapshot.keys()];
    for (let page = 0; page < ids.length; page += 10) {
      lsn++;
      const live = [put(`r${page}`, lsn, 1000 + page), put(`new${page}`, lsn, 2000 + page)];
      for (const w of live) rows.set(w.id, (w.document as { n: number }).n);
      await sink.write(live, { caughtUp: true });
      const backfill = ids.slice(page, page + 10).map((id) =>
        put(id, snapshotLsn, snapshot.get(id)!)
      );
      await sink.write(backfill, { caughtUp: false });
      await sink.saveBackfillCursor("items", [ids[Math.min(page + 9, ids.length - 1)]]);
      assert.deepEqual(await aliasTargets(sink), [`${prefix}items_bbbbbbbb_2`]);
    }
    await sink.markSeeded("items");
    searching = false;
    await searchLoop;

    assert.deepEqual(await aliasTargets(sink), [gen3]);
    assert.ok(searches > 0);
    assert.equal(smallest, 30, "the alias never served an incomplete generation");
    const seen = await searchAll(sink);
    for (const [id, n] of rows) assert.equal(seen.get(id), n, `document ${id}`);
  });

  it("resumes_an_interrupted_reindex_after_a_restart", async () => {
    const first = newSink();
    await first.ensure([V2]);
    await first.startReindex("items");
    await first.saveBackfillCursor("items", ["r9"]);
    await first.close();

    const second = newSink();
    assert.deepEqual(await second.ensure([V2]), [
      { index: "items", seeded: false, generation: 4, backfillCursor: ["r9"] },
    ]);
    // Live writes still reach both generations after the restart.
    await second.write([put("after", 500n, 5)], { caughtUp: true });
    assert.equal((await searchAll(second)).get("after"), 5);
    await second.markSeeded("items");
    assert.deepEqual(await aliasTargets(second), [`${prefix}items_bbbbbbbb_4`]);
    assert.equal((await searchAll(second)).get("after"), 5);
  });
  it("reindex_during_a_build_starts_an_empty_generation_and_drops_the_unfinished_one", async () => {
    const sink = newSink();
    assert.deepEqual(await sink.ensure([V2]), [{ index: "items", seeded: true, generation: 4 }]);
    await sink.startReindex("items");
    const gen5 = `${prefix}items_bbbbbbbb_5`;
    // A live write reaches the generation being built; then a TRUNCATE removes its row
    // (no per-row delete) and asks for a rebuild while gen 5 is still unfinished.
    await sink.write([put("doomed", 900n, 1)], { caughtUp: true });
    await sink.client.indices.refresh({ index: gen5 }); // refresh is off while building
    assert.equal((await searchAll(sink, gen5)).get("doomed"), 1);
    await sink.startReindex("items");
    const gen6 = `${prefix}items_bbbbbbbb_6`;
    assert.ok(await exists(sink, gen6));
    assert.equal(await exists(sink, gen5), false, "the unfinished generation is dropped");
    // The rebuild from current rows (at an older version than the live write) finds no row.
    await sink.write([put("kept", 800n, 2)], { caughtUp: false });
    await sink.markSeeded("items");
    assert.deepEqual(await aliasTargets(sink), [gen6]);
    const seen = await searchAll(sink);
    assert.equal(seen.has("doomed"), false, "no document of a truncated row survives");
    assert.equal(seen.get("kept"), 2);
  });
});
