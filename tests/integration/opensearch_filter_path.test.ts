/**
 * `?filter_path=` as flusso's sink uses it on `_bulk` (emulator or OPENSEARCH_URL): items keep
 * their order and status, a failed item keeps its error, and a request-level error keeps its
 * `error` object, so a filtered answer is still classified exactly like a full one.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@opensearch-project/opensearch";
import { type OpenSearchTarget, opensearchTarget } from "../support/opensearch/target.ts";
import { classifyBulkResponse } from "../../src/opensearch/bulk_response.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const FILTER = "errors,error,status,items.*.status,items.*.error";
const INDEX = "filter_path_items";

let target: OpenSearchTarget;
let client: Client;

describe("opensearch filter_path", () => {
  before(async () => {
    target = await opensearchTarget();
    client = new Client({ node: target.url, maxRetries: 0, requestTimeout: 5000 });
    await client.indices.delete({ index: INDEX }).catch(() => {});
    await client.indices.create({
      index: INDEX,
      body: { mappings: { dynamic: "strict", properties: { n: { type: "integer" } } } },
    });
  });

  after(async () => {
    await client?.indices.delete({ index: INDEX }).catch(() => {});
    await client?.close();
    await target?.close();
  });

  it("bulk_items_keep_order_status_and_errors_only", async () => {
    const body = [
      `{"index":{"_index":"${INDEX}","_id":"1","version":5,"version_type":"external_gte"}}`,
      `{"n":1}`,
      `{"index":{"_index":"${INDEX}","_id":"2","version":5,"version_type":"external_gte"}}`,
      `{"unknown_field":1}`,
      `{"delete":{"_index":"${INDEX}","_id":"missing","version":5,"version_type":"external_gte"}}`,
      `{"index":{"_index":"${INDEX}","_id":"1","version":4,"version_type":"external_gte"}}`,
      `{"n":0}`,
      "",
    ].join("\n");
    const response = await client.bulk({ body, filter_path: FILTER } as never);
    const answer = response.body as Json;
    assert.equal(answer.errors, true);
    assert.equal(answer.took, undefined);
    assert.equal(answer.items.length, 4);
    assert.deepEqual(answer.items[0], { index: { status: 201 } });
    assert.equal(answer.items[1].index.status, 400);
    assert.equal(answer.items[1].index.error.type, "strict_dynamic_mapping_exception");
    assert.equal(answer.items[1].index._id, undefined);
    assert.equal(answer.items[2].delete.status, 404);
    assert.equal(answer.items[3].index.status, 409);
    const outcomes = classifyBulkResponse(answer, [
      { isDelete: false },
      { isDelete: false },
      { isDelete: true },
      { isDelete: false },
    ]).map((o) => o.kind);
    assert.deepEqual(outcomes, ["ok", "rejected", "ok", "ok"]);
  });

  it("request_errors_keep_their_error_object", async () => {
    try {
      await client.bulk({ body: "not json\n", filter_path: FILTER } as never);
      assert.fail("expected the bulk to fail");
    } catch (e) {
      const meta = (e as { meta?: { statusCode?: number; body?: Json } }).meta;
      assert.equal(meta?.statusCode, 400);
      assert.equal(typeof meta?.body?.error?.type, "string");
      assert.equal(meta?.body?.status, 400);
    }
  });
});
