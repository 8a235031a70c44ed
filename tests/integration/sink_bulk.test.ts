/**
 * The OpenSearch sink's writes against the emulator (or a real cluster at OPENSEARCH_URL):
 * versions order writes, deletes of missing documents succeed, refusals come back as
 * rejections, injected faults lose nothing and confirm nothing early, and the targets of one
 * write are sent at once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { SinkConfig } from "../../src/config/model.ts";
import { type SinkWrite, TransientSinkError } from "../../src/engine/ports.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../../src/opensearch/sink.ts";
import { opensearchTarget } from "../support/opensearch/target.ts";
import { eventually } from "../support/memory_ports.ts";

type Target = Awaited<ReturnType<typeof opensearchTarget>>;

const DEFINITION = {
  index: "users",
  schemaHash: "0123456789abcdef",
  body: {
    mappings: {
      dynamic: "strict",
      properties: { name: { type: "keyword" }, n: { type: "long" } },
    },
  },
};

function sinkConfig(url: string, overrides: Partial<SinkConfig> = {}): SinkConfig {
  return {
    name: "search",
    type: "opensearch",
    url,
    tlsVerify: true,
    batchSize: 50,
    maxBytes: 1_000_000,
    timeoutMs: 1_000,
    maxRetries: 4,
    numberOfShards: 1,
    numberOfReplicas: 0,
    refreshInterval: "1s",
    liveRefresh: "immediate",
    ...overrides,
  };
}

const put = (id: string, version: bigint, n: number): SinkWrite => ({
  index: "users",
  id,
  version,
  document: { name: `user-${id}`, n },
});

describe("opensearch sink writes", () => {
  let target: Target;
  let sink: OpenSearchSink;
  let prefix: string;
  let alias: string;

  const newSink = (overrides: Partial<SinkConfig> = {}) =>
    createOpenSearchSink({
      config: sinkConfig(target.url, overrides),
      prefix,
      random: () => 0.5,
      sleep: () => Promise.resolve(),
    });

  const source = async (id: string) => {
    const response = await sink.client.get({ index: alias, id }, { ignore: [404] });
    const body = response.body as { found?: boolean; _source?: Record<string, unknown> };
    return body.found ? body._source : undefined;
  };

  before(async () => {
    target = await opensearchTarget();
    prefix = `t${randomUUID().slice(0, 8)}_`;
    alias = `${prefix}users`;
    sink = newSink();
    const [status] = await sink.ensure([DEFINITION]);
    assert.equal(status.seeded, false);
    await sink.markSeeded("users");
  });

  after(async () => {
    target.emulator?.faults.clear();
    await sink.client.indices.delete({ index: `${prefix}*` }, { ignore: [404] }).catch(() => {});
    await sink.close();
    await target.close();
  });

  it("leaves_the_newer_document_when_a_stale_write_arrives_later", async () => {
    assert.deepEqual(await sink.write([put("s1", 200n, 2)], { caughtUp: false }), []);
    assert.deepEqual(await sink.write([put("s1", 100n, 1)], { caughtUp: false }), []);
    assert.equal((await source("s1"))?.n, 2);
    // A stale delete does not remove the newer document either.
    await sink.write([{ index: "users", id: "s1", version: 150n, document: null }], {
      caughtUp: false,
    });
    assert.equal((await source("s1"))?.n, 2);
    // An equal version re-applies (a redelivered batch rebuilt from current rows).
    await sink.write([put("s1", 200n, 3)], { caughtUp: false });
    assert.equal((await source("s1"))?.n, 3);
  });

  it("keeps_versions_above_2_pow_53_exact", async () => {
    const big = 2n ** 60n + 1n;
    const before = target.emulator?.requests.length ?? 0;
    await sink.write([put("big", big, 1)], { caughtUp: false });
    await sink.write([put("big", big - 1n, 2)], { caughtUp: false });
    if (target.emulator !== undefined) {
      // The emulator reads versions as JS numbers (2^60 and 2^60+1 collide there), so check
      // the wire: the exact digits must leave the sink.
      const bodies = target.emulator.requests.slice(before).map((r) => r.body ?? "").join("");
      assert.match(bodies, /"version":1152921504606846977,/);
      assert.match(bodies, /"version":1152921504606846976,/);
    } else {
      // A real cluster compares longs: one below must lose.
      assert.equal((await source("big"))?.n, 1);
    }
  });

  it("makes_caught_up_writes_searchable_as_live_refresh_says_and_backlog_writes_never_refresh", async () => {
    // Each mode gets its own index: a long refresh_interval keeps scheduled refreshes out of
    // the way, except for wait_for, which would otherwise wait that long.
    const modes = [
      { mode: "immediate", interval: "60s", param: "true", searchable: true },
      { mode: "wait_for", interval: "300ms", param: "wait_for", searchable: true },
      { mode: "interval", interval: "60s", param: undefined, searchable: false },
    ] as const;
    for (const { mode, interval, param, searchable } of modes) {
      const own = `${prefix}${mode.replace("_", "")}_`;
      const modeSink = createOpenSearchSink({
        config: sinkConfig(target.url, { refreshInterval: interval, liveRefresh: mode }),
        prefix: own,
        sleep: () => Promise.resolve(),
      });
      try {
        await modeSink.ensure([DEFINITION]);
        await modeSink.markSeeded("users");
        const count = async () => {
          const response = await modeSink.client.count({ index: `${own}users` });
          return (response.body as { count: number }).count;
        };
        const before = target.emulator?.requests.length ?? 0;
        await modeSink.write([put("b1", 10n, 1)], { caughtUp: false });
        await modeSink.write([put("c1", 11n, 1)], { caughtUp: true });
        assert.equal(await count() === 2, searchable, `${mode}: searchable on return`);
        if (target.emulator !== undefined) {
          const bulks = target.emulator.requests.slice(before).filter((r) =>
            r.path.endsWith("/_bulk")
          );
          assert.equal(bulks.length, 2, mode);
          assert.equal(bulks[0].query.refresh, undefined, `${mode}: a backlog write`);
          assert.equal(bulks[1].query.refresh, param, `${mode}: a caught-up write`);
        }
      } finally {
        await modeSink.client.indices.delete({ index: `${own}*` }, { ignore: [404] })
          .catch(() => {});
        await modeSink.close();
      }
    }
  });

  it("treats_a_delete_of_a_missing_document_as_success", async () => {
    const rejections = await sink.write(
      [{ index: "users", id: "never-existed", version: 5n, document: null }],
      { caughtUp: false },
    );
    assert.deepEqual(rejections, []);
  });

  it("makes_caught_up_writes_visible_to_search_at_once", async () => {
    await sink.write([put("v1", 300n, 7)], { caughtUp: true });
    const response = await sink.client.search({
      index: alias,
      body: { query: { term: { name: "user-v1" } } },
    });
    const hits = (response.body as { hits: { hits: unknown[] } }).hits.hits;
    assert.equal(hits.length, 1);
  });

  it("returns_a_mapping_error_as_a_rejection_with_index_id_and_reason", async () => {
    const bad: SinkWrite = {
      index: "users",
      id: "bad",
      version: 9n,
      document: { unknown_field: 1 },
    };
    const rejections = await sink.write([put("good", 9n, 1), bad], { caughtUp: false });
    assert.equal(rejections.length, 1);
    assert.equal(rejections[0].write, bad);
    assert.equal(rejections[0].write.index, "users");
    assert.equal(rejections[0].type, "strict_dynamic_mapping_exception");
    assert.match(rejections[0].reason, /unknown_field/);
    assert.equal((await source("good"))?.n, 1);
  });

  it("survives_429_storms_5xx_and_resets_without_losing_a_write", async (t) => {
    const faults = target.emulator?.faults;
    if (faults === undefined) return t.skip("fault injection needs the emulator");
    faults.failNext(3, 429);
    faults.resetNext(1);
    const writes = Array.from({ length: 120 }, (_, i) => put(`f${i}`, 400n, i));
    assert.deepEqual(await sink.write(writes, { caughtUp: false }), []);
    faults.clear();
    for (const i of [0, 59, 119]) assert.equal((await source(`f${i}`))?.n, i);
  });

  it("retries_per_item_429_until_written", async (t) => {
    const faults = target.emulator?.faults;
    if (faults === undefined) return t.skip("fault injection needs the emulator");
    faults.rejectItems(["p2"], "429");
    // The emulator refuses p2 until the writer backs off for the second time.
    let backoffs = 0;
    const patient = createOpenSearchSink({
      config: sinkConfig(target.url),
      prefix,
      sleep: () => {
        if (++backoffs === 2) faults.clear();
        return Promise.resolve();
      },
    });
    try {
      await patient.ensure([DEFINITION]);
      assert.deepEqual(
        await patient.write([put("p1", 500n, 1), put("p2", 500n, 2)], { caughtUp: false }),
        [],
      );
      assert.equal(backoffs, 2);
      assert.equal((await source("p1"))?.n, 1);
      assert.equal((await source("p2"))?.n, 2);
    } finally {
      faults.clear();
      await patient.close();
    }
  });

  it("confirms_nothing_early_when_failures_outlast_the_retries", async (t) => {
    const faults = target.emulator?.faults;
    if (faults === undefined) return t.skip("fault injection needs the emulator");
    faults.failNext(100, 500);
    await assert.rejects(
      sink.write([put("late", 600n, 1)], { caughtUp: false }),
      TransientSinkError,
    );
    faults.clear();
    // The engine retries the same batch: it lands.
    assert.deepEqual(await sink.write([put("late", 600n, 1)], { caughtUp: false }), []);
    assert.equal((await source("late"))?.n, 1);
  });

  it("sends_the_requests_of_every_target_of_a_write_at_once", async (t) => {
    const emulator = target.emulator;
    if (emulator === undefined) return t.skip("the request log needs the emulator");
    const both = newSink({ timeoutMs: 1_000 });
    try {
      await both.ensure([DEFINITION, { ...DEFINITION, index: "pets" }]);
      await both.markSeeded("pets");
      const from = emulator.requests.length;
      const bulksTo = (index: string) =>
        emulator.requests.slice(from).filter((r) =>
          r.path.endsWith("/_bulk") && r.path.startsWith(`/${prefix}${index}_`)
        );
      // The first request stalls until the sink's timeout. Sent one target after another,
      // the pets request would wait for that timeout and the users request's retry.
      emulator.faults.stallNext(1);
      const written = both.write(
        [put("both", 800n, 1), { ...put("both", 800n, 1), index: "pets" }],
        {
          caughtUp: false,
        },
      );
      await eventually(
        () => bulksTo("users").length > 0 && bulksTo("pets").length > 0,
        "a bulk request to each target",
      );
      assert.equal(bulksTo("users").length + bulksTo("pets").length, 2, "no retry yet");
      assert.equal(emulator.requests.slice(from).filter((r) => r.fault === "stall").length, 1);
      emulator.faults.clear();
      assert.deepEqual(await written, []);
      assert.equal((await source("both"))?.n, 1);
    } finally {
      emulator.faults.clear();
      await both.close();
    }
  });

  it("retries_a_stalled_request_after_its_timeout", async (t) => {
    const faults = target.emulator?.faults;
    if (faults === undefined) return t.skip("fault injection needs the emulator");
    const quick = newSink({ timeoutMs: 200 });
    try {
      await quick.ensure([DEFINITION]);
      faults.stallNext(1);
      assert.deepEqual(await quick.write([put("stall", 700n, 1)], { caughtUp: false }), []);
      assert.equal((await source("stall"))?.n, 1);
    } finally {
      faults.clear();
      await quick.close();
    }
  });

  it("rejects_per_item_mapping_faults_as_rejections", async (t) => {
    const faults = target.emulator?.faults;
    if (faults === undefined) return t.skip("fault injection needs the emulator");
    faults.rejectItems(["m1"], "mapping");
    const rejections = await sink.write([put("m1", 800n, 1), put("m2", 800n, 2)], {
      caughtUp: false,
    });
    faults.clear();
    assert.deepEqual(rejections.map((r) => r.write.id), ["m1"]);
    assert.equal((await source("m2"))?.n, 2);
  });

  it("rejects_a_document_over_http_max_content_length_without_failing_the_rest", async (t) => {
    if (target.emulator === undefined) {
      return t.skip("http.max_content_length is set on the emulator only");
    }
    const { startEmulator } = await import("../support/opensearch/emulator.ts");
    const tight = await startEmulator({ maxContentLength: 4_000 });
    const tiny = createOpenSearchSink({
      config: sinkConfig(tight.url, { maxBytes: 100_000 }),
      prefix,
      sleep: () => Promise.resolve(),
    });
    try {
      await tiny.ensure([DEFINITION]);
      await tiny.markSeeded("users");
      const huge: SinkWrite = {
        ...put("huge", 1n, 0),
        document: { name: "x".repeat(10_000), n: 0 },
      };
      const writes = [put("a", 1n, 1), huge, put("b", 1n, 2)];
      const rejections = await tiny.write(writes, { caughtUp: false });
      assert.deepEqual(rejections.map((r) => [r.write.id, r.type]), [[
        "huge",
        "request_too_large",
      ]]);
      const got = await tiny.client.get({ index: alias, id: "b" });
      assert.equal((got.body as { _source: { n: number } })._source.n, 2);
    } finally {
      await tiny.close();
      await tight.close();
    }
  });

  it("sends_an_oversized_document_alone_and_writes_the_rest", async () => {
    const small = newSink({ maxBytes: 300 });
    try {
      await small.ensure([DEFINITION]);
      const writes = [put("o1", 900n, 1), {
        ...put("o2", 900n, 2),
        document: { name: "x".repeat(1000), n: 2 },
      }, put("o3", 900n, 3)];
      assert.deepEqual(await small.write(writes, { caughtUp: false }), []);
      assert.equal((await source("o2"))?.n, 2);
      assert.equal((await source("o3"))?.n, 3);
    } finally {
      await small.close();
    }
  });
});
