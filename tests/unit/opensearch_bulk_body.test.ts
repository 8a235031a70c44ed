import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bulkBody, plainOperation, versionedOperation } from "../../src/opensearch/bulk_body.ts";
import { TextSinkWrite } from "../../src/engine/document_text.ts";

describe("bulk body", () => {
  it("writes_versions_above_2_pow_53_exactly", () => {
    const version = 2n ** 60n + 7n;
    const op = versionedOperation("users_abc_1", {
      index: "users",
      id: "1",
      version,
      document: { name: "a" },
    });
    const [action, source] = op.text.split("\n");
    assert.match(action, /"version":1152921504606846983,/);
    assert.equal(version.toString(), "1152921504606846983");
    // The request's path names the index (POST /<target>/_bulk); the operation keeps it.
    assert.equal(JSON.parse(action).index._index, undefined);
    assert.equal(op.target, "users_abc_1");
    assert.equal(JSON.parse(action).index.version_type, "external_gte");
    assert.deepEqual(JSON.parse(source), { name: "a" });
    assert.ok(op.text.endsWith("\n"));
  });

  it("writes_a_delete_as_a_single_action_line", () => {
    const op = versionedOperation("t", { index: "users", id: "9", version: 5n, document: null });
    assert.equal(
      op.text,
      '{"delete":{"_id":"9","version":5,"version_type":"external_gte"}}\n',
    );
    assert.equal(op.isDelete, true);
  });

  it("escapes_ids_and_counts_utf8_bytes", () => {
    const op = versionedOperation("t", {
      index: "users",
      id: 'a"b\nc',
      version: 1n,
      document: { s: "é" },
    });
    const action = JSON.parse(op.text.split("\n")[0]);
    assert.equal(action.index._id, 'a"b\nc');
    assert.equal(op.bytes, new TextEncoder().encode(op.text).length);
    assert.ok(op.bytes > op.text.length);
  });

  it("sizes_plain_and_escaped_ids_alike_in_utf8_bytes", () => {
    // Plain ids skip escaping and measuring; every other id goes through both. Either way the
    // action line must parse back to the id and its size must be its UTF-8 size.
    const ids = [
      "42",
      "-7",
      "3f2b1c7e-0d4a-4b8e-9c1f-2a3b4c5d6e7f",
      "a.b:c@d+e_F",
      "",
      "ü",
      "a b",
      "\t",
      "a\\b",
      "\ud800",
    ];
    for (const id of ids) {
      for (const document of [null, { n: 1 }]) {
        const op = versionedOperation("t", { index: "u", id, version: 3n, document });
        assert.equal(JSON.parse(op.text.split("\n")[0])[document ? "index" : "delete"]._id, id);
        assert.equal(
          op.bytes,
          bulkBody([op]).byteLength,
          `size of the line for id ${JSON.stringify(id)}`,
        );
      }
    }
  });

  it("refuses_versions_opensearch_cannot_store", () => {
    assert.throws(
      () => versionedOperation("t", { index: "u", id: "1", version: 2n ** 63n, document: null }),
      RangeError,
    );
  });

  it("joins_operations_in_order", () => {
    const a = plainOperation({ target: "x", id: "1", document: { a: 1 } });
    const b = plainOperation({ target: "x", id: "2", document: null });
    assert.equal(
      new TextDecoder().decode(bulkBody([a, b])),
      '{"index":{"_index":"x","_id":"1"}}\n{"a":1}\n{"delete":{"_index":"x","_id":"2"}}\n',
    );
  });

  it("sends_document_bytes_as_they_came_after_their_action_line", () => {
    const json = new TextEncoder().encode('{"name":"Zoë"}');
    const write = new TextSinkWrite("u", "é1", 7n, json);
    const op = versionedOperation("t", write);
    const expected = '{"index":{"_id":"é1","version":7,"version_type":"external_gte"}}\n' +
      '{"name":"Zoë"}\n';
    const body = bulkBody([op]);
    assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(body), expected);
    assert.equal(op.bytes, body.byteLength);
    assert.deepEqual(write.document, { name: "Zoë" }, "bytes parse on demand");
  });

  it("writes_byte_documents_with_plain_ids_from_parts_each_with_its_own_version", () => {
    // Lines written from shared bytes around the id: each operation keeps its own version
    // (a tail kept from the previous version would be wrong), whatever the neighbours are.
    const bytes = (text: string) => new TextEncoder().encode(text);
    const ops = [
      versionedOperation("t", new TextSinkWrite("u", "42", 2n ** 60n + 7n, bytes('{"a":1}'))),
      versionedOperation("t", new TextSinkWrite("u", "a.b:c@d+e_F", 5n, bytes('{"b":"é"}'))),
      versionedOperation("t", { index: "u", id: "7", version: 5n, document: null }),
      versionedOperation("t", new TextSinkWrite("u", "é", 6n, bytes("{}"))),
      versionedOperation("t", new TextSinkWrite("u", "42", 2n ** 60n + 7n, bytes("[]"))),
    ];
    assert.ok(ops[0].actionTail && ops[1].actionTail && ops[4].actionTail, "plain ids go by parts");
    assert.equal(ops[3].actionTail, undefined, "other ids keep a text line");
    const body = bulkBody(ops);
    assert.equal(
      new TextDecoder("utf-8", { fatal: true }).decode(body),
      '{"index":{"_id":"42","version":1152921504606846983,"version_type":"external_gte"}}\n' +
        '{"a":1}\n' +
        '{"index":{"_id":"a.b:c@d+e_F","version":5,"version_type":"external_gte"}}\n' +
        '{"b":"é"}\n' +
        '{"delete":{"_id":"7","version":5,"version_type":"external_gte"}}\n' +
        '{"index":{"_id":"é","version":6,"version_type":"external_gte"}}\n' +
        "{}\n" +
        '{"index":{"_id":"42","version":1152921504606846983,"version_type":"external_gte"}}\n' +
        "[]\n",
    );
    assert.equal(body.byteLength, ops.reduce((n, op) => n + op.bytes, 0));
    for (const op of ops) assert.equal(bulkBody([op]).byteLength, op.bytes);
  });

  it("encodes_the_body_as_utf8_of_exactly_the_operations_sizes", () => {
    const ops = [
      versionedOperation("t", { index: "u", id: "é", version: 5n, document: { name: "Zoë 😀" } }),
      versionedOperation("t", { index: "u", id: "2", version: 5n, document: null }),
    ];
    const body = bulkBody(ops);
    assert.equal(body.byteLength, ops[0].bytes + ops[1].bytes);
    assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(body), ops[0].text + ops[1].text);
  });
});
