/**
 * Fault injection of the OpenSearch emulator, observed through the real
 * `@opensearch-project/opensearch` client: whole-request 429/500/503, seeded fractions, per-item
 * 429 and mapping errors, latency, stalls, connection resets, restart, the request log and the
 * HTTP control endpoint. These need the emulator: against OPENSEARCH_URL they skip, saying why.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Client } from "@opensearch-project/opensearch";
import {
  type OpenSearchTarget,
  opensearchTarget,
  REAL_CLUSTER_SKIP,
} from "../support/opensearch/target.ts";
import type { Emulator } from "../support/opensearch/emulator.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

let target: OpenSearchTarget;
let emulator: Emulator;
let client: Client;

async function failure(
  p: Promise<unknown>,
): Promise<{ status?: number; body?: Json; name: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; meta?: { statusCode?: number; body?: Json } };
    return { status: err.meta?.statusCode, body: err.meta?.body, name: err.name };
  }
  throw new assert.AssertionError({ message: "expected the call to fail" });
}

describe("opensearch emulator faults", {
  skip: process.env.OPENSEARCH_URL ? REAL_CLUSTER_SKIP : false,
}, () => {
  before(async () => {
    target = await opensearchTarget();
    emulator = target.emulator!;
    client = new Client({ node: target.url, maxRetries: 0, requestTimeout: 2000 });
  });

  after(async () => {
    await client?.close();
    await target?.close();
  });

  beforeEach(() => {
    emulator.faults.clear();
  });

  it("fail_next_answers_the_status_then_recovers", async () => {
    emulator.faults.failNext(2, 429);
    const first = await failure(client.info());
    assert.equal(first.status, 429);
    assert.equal(first.body.error.type, "rejected_execution_exception");
    assert.equal((await failure(client.info())).status, 429);
    assert.equal((await client.info()).statusCode, 200);
    for (const status of [500, 503] as const) {
      emulator.faults.failNext(1, status);
      const f = await failure(client.cluster.health());
      assert.equal(f.status, status);
      assert.equal(f.body.status, status);
    }
  });

  it("a_seeded_fail_fraction_fails_the_same_requests_every_time", async () => {
    const pattern = async () => {
      emulator.faults.failFraction(0.5, 503, 42);
      const out: boolean[] = [];
      for (let i = 0; i < 20; i++) out.push(await client.info().then(() => true, () => false));
      emulator.faults.clear();
      return out;
    };
    const a = await pattern();
    const b = await pattern();
    assert.deepEqual(a, b);
    assert.ok(a.includes(true) && a.includes(false), "a fraction of 0.5 fails some, not all");
  });

  it("rejected_items_fail_alone_with_429_or_a_mapping_error", async () => {
    emulator.faults.rejectItems(["busy"], "429");
    emulator.faults.rejectItems(["poison"], "mapping");
    const res: Json = (await client.bulk({
      body: [
        { index: { _index: "items", _id: "ok" } },
        { v: 1 },
        { index: { _index: "items", _id: "busy" } },
        { v: 2 },
        { delete: { _index: "items", _id: "poison" } },
      ],
    })).body;
    assert.equal(res.errors, true);
    assert.equal(res.items[0].index.status, 201);
    assert.equal(res.items[1].index.status, 429);
    assert.equal(res.items[1].index.error.type, "rejected_execution_exception");
    assert.equal(res.items[2].delete.status, 400);
    assert.equal(res.items[2].delete.error.type, "mapper_parsing_exception");
    const got = await failure(client.get({ index: "items", id: "busy" }));
    assert.equal(got.status, 404, "a rejected item is not written");
  });

  it("latency_delays_every_answer", async () => {
    emulator.faults.latency(60);
    const before = emulator.requests.length;
    await client.info();
    const entry = emulator.requests[before];
    assert.ok((entry.durationMs ?? 0) >= 59, `answered after ${entry.durationMs} ms`);
  });

  it("a_stalled_request_is_never_answered_until_restart", async () => {
    emulator.faults.stallNext(1);
    const stalled = await failure(
      client.index({ index: "stall", id: "1", body: { v: 1 }, refresh: true }, {
        requestTimeout: 300,
      }),
    );
    assert.equal(stalled.name, "TimeoutError");
    const log = emulator.requests.at(-1)!;
    assert.equal(log.fault, "stall");
    assert.equal(log.status, 0);
    assert.equal((await client.info()).statusCode, 200, "the next request is answered");
  });

  it("a_reset_drops_the_connection_after_the_write_was_applied", async () => {
    emulator.faults.resetNext(1);
    const reset = await failure(client.index({ index: "reset", id: "1", body: { v: 1 } }));
    assert.equal(reset.name, "ConnectionError");
    const doc = (await client.get({ index: "reset", id: "1" })).body;
    assert.equal(doc.found, true, "the write happened; only the answer was lost");
  });

  it("restart_keeps_acknowledged_writes_and_drops_connections", async () => {
    const port = emulator.port;
    await client.indices.create({
      index: "durable",
      body: { settings: { refresh_interval: "-1" } },
    });
    await client.bulk({ body: [{ index: { _index: "durable", _id: "a" } }, { v: 1 }] });
    emulator.faults.stallNext(1);
    const from = emulator.requests.length;
    // The client may transparently resend on a fresh connection; either way it is not left hanging.
    const hanging = client.info({}, { requestTimeout: 5000 }).then(() => "answered", (e) => e.name);
    await new Promise((r) => setTimeout(r, 50));
    await emulator.restart();
    assert.ok(["answered", "ConnectionError"].includes(await hanging));
    const stalled = emulator.requests[from];
    assert.equal(stalled.fault, "stall");
    assert.equal(
      stalled.status,
      0,
      "the stalled request was never answered, its connection dropped",
    );
    assert.equal(emulator.port, port);
    assert.equal(
      (await client.count({ index: "durable" })).body.count,
      1,
      "recovery makes writes searchable",
    );
    assert.equal((await client.get({ index: "durable", id: "a" })).body._source.v, 1);
  });

  it("the_request_log_records_requests_and_bulk_bodies", async () => {
    const from = emulator.requests.length;
    await client.bulk({
      refresh: "true",
      body: [{ index: { _index: "logged", _id: "1" } }, { v: 1 }],
    });
    await failure(client.get({ index: "logged", id: "missing" }));
    const [bulk, get] = emulator.requests.slice(from);
    assert.equal(bulk.method, "POST");
    assert.equal(bulk.path, "/_bulk");
    assert.equal(bulk.query.refresh, "true");
    assert.equal(bulk.status, 200);
    assert.match(bulk.body ?? "", /"_id":"1"/);
    assert.equal(get.path, "/logged/_doc/missing");
    assert.equal(get.status, 404);
    assert.equal(get.body, undefined);
  });

  it("the_http_control_endpoint_scripts_faults_and_reads_the_log", async () => {
    const post = await fetch(`${emulator.url}/_emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ failNext: { n: 1, status: 500 } }),
    });
    assert.equal(post.status, 200);
    await post.body?.cancel();
    assert.equal((await failure(client.info())).status, 500);
    const log = await (await fetch(`${emulator.url}/_emulator/requests`)).json();
    assert.equal(log.requests.at(-1).fault, "fail");
    await fetch(`${emulator.url}/_emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ failNext: { n: 3, status: 503 } }),
    }).then((r) => r.body?.cancel());
    const cleared = await fetch(`${emulator.url}/_emulator/faults`, { method: "DELETE" });
    await cleared.body?.cancel();
    assert.equal((await client.info()).statusCode, 200);
  });
});
