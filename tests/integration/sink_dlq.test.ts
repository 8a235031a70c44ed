/**
 * Dead letters against the emulator (or a real cluster at OPENSEARCH_URL): quarantined
 * rejections are stored with index, id, reason, LSN and time, listed newest first, replaced
 * when quarantined again, and purged per index or all.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { SinkConfig } from "../../src/config/model.ts";
import type { Rejection } from "../../src/engine/ports.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../../src/opensearch/sink.ts";
import { opensearchTarget } from "../support/opensearch/target.ts";

type Target = Awaited<ReturnType<typeof opensearchTarget>>;

const rejection = (index: string, id: string, version: bigint, reason = "bad"): Rejection => ({
  write: { index, id, version, document: { unknown_field: id } },
  type: "strict_dynamic_mapping_exception",
  reason,
});

describe("opensearch dead letters", () => {
  let target: Target;
  let sink: OpenSearchSink;
  let config: SinkConfig;
  const prefix = `d${randomUUID().slice(0, 8)}_`;

  before(async () => {
    target = await opensearchTarget();
    config = {
      name: "search",
      type: "opensearch",
      url: target.url,
      tlsVerify: true,
      batchSize: 100,
      maxBytes: 1_000_000,
      timeoutMs: 5_000,
      maxRetries: 2,
      numberOfShards: 1,
      numberOfReplicas: 0,
      refreshInterval: "1s",
      liveRefresh: "immediate",
    };
    sink = createOpenSearchSink({
      config,
      prefix,
      sleep: () => Promise.resolve(),
    });
    await sink.ensure([]);
  });

  after(async () => {
    await sink.client.indices.delete({ index: `${prefix}*` }, { ignore: [404] }).catch(() => {});
    await sink.close();
    await target.close();
  });

  it("stores_quarantined_writes_with_index_id_reason_and_lsn", async () => {
    await sink.quarantine([rejection("users", "1", 0x1_0000_0010n), rejection("orders", "7", 5n)]);
    const users = await sink.dlq.list({ index: "users" });
    assert.equal(users.length, 1);
    assert.equal(users[0].id, "1");
    assert.equal(users[0].reason, "bad");
    assert.equal(users[0].type, "strict_dynamic_mapping_exception");
    assert.equal(users[0].lsn, "1/10");
    assert.ok(!Number.isNaN(Date.parse(users[0].time)));
    assert.deepEqual(users[0].document, { unknown_field: "1" });
    assert.equal((await sink.dlq.list()).length, 2);
  });

  it("shows_an_entry_at_once_whatever_live_refresh_says", async () => {
    // `interval` asks for no refresh on live writes; a dead letter is still listed right away.
    const intervalSink = createOpenSearchSink({
      config: { ...config, liveRefresh: "interval", refreshInterval: "30s" },
      prefix,
      sleep: () => Promise.resolve(),
    });
    try {
      await intervalSink.ensure([]);
      await intervalSink.quarantine([rejection("late", "9", 11n)]);
      assert.deepEqual((await intervalSink.dlq.list({ index: "late" })).map((e) => e.id), ["9"]);
      await intervalSink.dlq.purge({ index: "late" });
    } finally {
      await intervalSink.close();
    }
  });

  it("replaces_an_entry_quarantined_again", async () => {
    await sink.quarantine([rejection("users", "1", 0x1_0000_0020n, "worse")]);
    const users = await sink.dlq.list({ index: "users" });
    assert.deepEqual(users.map((e) => [e.id, e.reason, e.lsn]), [["1", "worse", "1/20"]]);
  });

  it("purges_one_index_then_everything", async () => {
    assert.equal(await sink.dlq.purge({ index: "users" }), 1);
    assert.deepEqual((await sink.dlq.list()).map((e) => e.index), ["orders"]);
    assert.equal(await sink.dlq.purge(), 1);
    assert.deepEqual(await sink.dlq.list(), []);
  });
});
