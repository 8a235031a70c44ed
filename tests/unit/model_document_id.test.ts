import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { documentId, MAX_ID_BYTES } from "../../src/model/document_id.ts";

describe("document ids", () => {
  it("uses_a_single_key_text_unchanged", () => {
    assert.equal(documentId(["42"]), "42");
    assert.equal(documentId(["日本"]), "日本");
  });

  it("encodes_composite_keys_unambiguously", () => {
    assert.equal(documentId(["7", "42"]), '["7","42"]');
    // A separator inside a value cannot forge another key.
    assert.notEqual(documentId(["a,b", "c"]), documentId(["a", "b,c"]));
    assert.notEqual(documentId(['a"', "b"]), documentId(["a", '"b']));
  });

  it("hashes_ids_longer_than_512_bytes_and_keys_starting_with_the_hash_marker", () => {
    const long = "é".repeat(MAX_ID_BYTES / 2 + 1); // 514 bytes, 257 characters
    const id = documentId([long]);
    assert.match(id, /^#[0-9a-f]{64}$/);
    assert.equal(documentId([long]), id);
    assert.equal(documentId(["é".repeat(MAX_ID_BYTES / 2)]).length, MAX_ID_BYTES / 2);
    // A key that looks like a hash is hashed too, so it cannot collide with one.
    assert.notEqual(documentId([id]), id);
    assert.match(documentId([id]), /^#[0-9a-f]{64}$/);
  });

  it("rejects_an_empty_key", () => {
    assert.throws(() => documentId([]), RangeError);
  });
});
