import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  allItemsSucceeded,
  classifyBulkResponse,
  classifyItem,
} from "../../src/opensearch/bulk_response.ts";

describe("bulk response", () => {
  it("treats_created_and_updated_items_as_written", () => {
    assert.deepEqual(classifyItem({ index: { status: 201, result: "created" } }, false), {
      kind: "ok",
    });
    assert.deepEqual(classifyItem({ index: { status: 200, result: "updated" } }, false), {
      kind: "ok",
    });
  });

  it("treats_a_version_conflict_on_a_stale_write_as_success", () => {
    const item = {
      index: {
        status: 409,
        error: {
          type: "version_conflict_engine_exception",
          reason:
            "[1]: version conflict, current version [10] is higher than or equal to the one provided [5]",
        },
      },
    };
    assert.deepEqual(classifyItem(item, false), { kind: "ok" });
  });

  it("treats_a_delete_of_a_missing_document_as_success", () => {
    assert.deepEqual(classifyItem({ delete: { status: 404, result: "not_found" } }, true), {
      kind: "ok",
    });
  });

  it("rejects_a_delete_into_a_missing_index", () => {
    const item = {
      delete: {
        status: 404,
        error: { type: "index_not_found_exception", reason: "no such index [x]" },
      },
    };
    assert.equal(classifyItem(item, true).kind, "rejected");
  });

  it("retries_per_item_429_and_503", () => {
    const item = (status: number) => ({
      index: { status, error: { type: "es_rejected_execution_exception", reason: "queue full" } },
    });
    assert.equal(classifyItem(item(429), false).kind, "retry");
    assert.equal(classifyItem(item(503), false).kind, "retry");
  });

  it("rejects_a_mapping_error_with_type_and_reason", () => {
    const item = {
      index: {
        status: 400,
        error: {
          type: "mapper_parsing_exception",
          reason: "failed to parse field [age] of type [long]",
          caused_by: { type: "number_format_exception", reason: 'For input string: "x"' },
        },
      },
    };
    const outcome = classifyItem(item, false);
    assert.equal(outcome.kind, "rejected");
    assert.ok(outcome.kind === "rejected");
    assert.equal(outcome.type, "mapper_parsing_exception");
    assert.match(outcome.reason, /failed to parse field \[age\].*caused by: For input string/);
  });

  it("retries_items_missing_from_a_truncated_response", () => {
    const outcomes = classifyBulkResponse(
      { errors: false, items: [{ index: { status: 201 } }] },
      [{ isDelete: false }, { isDelete: false }],
    );
    assert.deepEqual(outcomes.map((o) => o.kind), ["ok", "retry"]);
  });

  it("skips_reading_items_only_when_no_item_failed_and_every_item_is_there", () => {
    const ok = { index: { status: 201 } };
    assert.equal(allItemsSucceeded({ errors: false, items: [ok, ok] }, 2), true);
    // A truncated answer: the missing item must be retried, not taken for written.
    assert.equal(allItemsSucceeded({ errors: false, items: [ok] }, 2), false);
    assert.equal(allItemsSucceeded({ errors: true, items: [ok, ok] }, 2), false);
    // Without the flag (filtered away, or another shape) every item is read.
    assert.equal(allItemsSucceeded({ items: [ok, ok] }, 2), false);
    assert.equal(allItemsSucceeded({ errors: false }, 0), false);
    assert.equal(allItemsSucceeded(null, 0), false);
  });
});
