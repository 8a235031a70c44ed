import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DocumentModel } from "../../src/config/model.ts";
import { schemaHash } from "../../src/model/schema_hash.ts";
import { customersModel, shopSink } from "../support/shop_model.ts";

/** Rebuilds every object with its keys in reverse order, as a reordered YAML file would load. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]),
    ) as T;
  }
  return value;
}

describe("schema hash", () => {
  it("is_a_hex_sha256_that_does_not_depend_on_key_order_or_the_file_name", () => {
    const hash = schemaHash(customersModel, shopSink);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.equal(schemaHash(reversedKeys(customersModel), shopSink), hash);
    assert.equal(schemaHash({ ...customersModel, file: "elsewhere.yml" }, shopSink), hash);
  });

  it("does_not_depend_on_field_order_or_filter_order", () => {
    const reordered: DocumentModel = {
      ...customersModel,
      fields: [...customersModel.fields].reverse(),
    };
    assert.equal(schemaHash(reordered, shopSink), schemaHash(customersModel, shopSink));
  });

  it("changes_when_the_documents_change_or_the_shard_count_changes", () => {
    const base = schemaHash(customersModel, shopSink);
    const fewer = { ...customersModel, fields: customersModel.fields.slice(1) };
    assert.notEqual(schemaHash(fewer, shopSink), base);
    assert.notEqual(schemaHash(customersModel, { ...shopSink, numberOfShards: 3 }), base);
    // Replicas and refresh interval change in place: no new generation.
    const tuned = { ...shopSink, numberOfReplicas: 2, refreshInterval: "30s" };
    assert.equal(schemaHash(customersModel, tuned), base);
  });

  it("is_pinned_so_an_upgrade_does_not_rotate_indexes", () => {
    // If this fails, every deployed index would be rebuilt after an upgrade: only change the
    // canonical form on purpose.
    assert.equal(
      schemaHash({
        file: "x.yml",
        table: { schema: "public", name: "t" },
        primaryKey: ["id"],
        filters: [],
        fields: [{
          kind: "scalar",
          name: "id",
          type: "long",
          column: "id",
          required: false,
          transforms: [],
        }],
      }),
      PINNED,
    );
  });
});

const PINNED = "60eb9c9421f5d00865fe5f13eab30606c6b8908e34a2de7566de55530a142b0b";
