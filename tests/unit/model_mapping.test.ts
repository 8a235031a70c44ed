import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IDENTIFIER_ANALYZER, indexMapping } from "../../src/model/mapping.ts";
import { schemaHash } from "../../src/model/schema_hash.ts";
import { VERSION } from "../../src/version.ts";
import { shopIndexes, shopSink } from "../support/shop_model.ts";

type M = Record<string, Record<string, unknown>>;

describe("index mapping", () => {
  const [customers, products] = shopIndexes;

  it("is_strict_and_carries_the_schema_hash_in_meta", () => {
    const def = indexMapping(customers, shopSink);
    const mappings = def.body.mappings as Record<string, unknown>;
    assert.equal(mappings.dynamic, "strict");
    assert.equal(def.schemaHash, schemaHash(customers.model, shopSink));
    assert.deepEqual(mappings._meta, {
      schema_hash: def.schemaHash,
      flusso_version: VERSION,
      index: "customers",
    });
  });

  it("takes_shards_replicas_refresh_and_the_identifier_analyzer_from_config", () => {
    const settings = indexMapping(products, shopSink).body.settings as Record<string, unknown>;
    assert.equal(settings.number_of_shards, 1);
    assert.equal(settings.number_of_replicas, 0);
    assert.equal(settings.refresh_interval, "1s");
    const analysis = settings.analysis as { analyzer: Record<string, unknown> };
    assert.ok(analysis.analyzer[IDENTIFIER_ANALYZER]);
  });

  it("maps_every_field_kind_of_the_shop_to_its_opensearch_type", () => {
    const p = (indexMapping(customers, shopSink).body.mappings as { properties: M }).properties;
    assert.deepEqual(p.id, { type: "long" });
    assert.equal(p.name.type, "text");
    assert.deepEqual(p.email, { type: "keyword" });
    assert.deepEqual(p.created_at, { type: "date" });
    assert.equal(p.company.type, "object");
    assert.deepEqual((p.address.properties as M).location, { type: "geo_point" });
    assert.equal(p.orders.type, "nested");
    const items = (p.orders.properties as M).items;
    assert.equal(items.type, "nested");
    assert.equal(((items.properties as M).product.properties as M).sku.type, "keyword");
    assert.equal(p.tags.type, "nested");
    assert.deepEqual(p.order_count, { type: "long" });
    assert.deepEqual(p.lifetime_value, { type: "double" });

    const q = (indexMapping(products, shopSink).body.mappings as { properties: M }).properties;
    assert.deepEqual(q.price, { type: "scaled_float", scaling_factor: 100 });
    assert.equal(q.sku.analyzer, IDENTIFIER_ANALYZER);
    assert.deepEqual(q.attributes, { type: "object", dynamic: true });
  });

  it("gives_map_fields_a_dynamic_template_of_their_value_type_and_merges_options_last", () => {
    const index = {
      ...customers,
      model: {
        ...customers.model,
        fields: [
          { kind: "map" as const, name: "labels", column: "labels", valueType: "keyword" as const },
          {
            kind: "scalar" as const,
            name: "code",
            type: "keyword" as const,
            column: "code",
            required: false,
            transforms: [],
            options: { ignore_above: 64 },
          },
        ],
      },
    };
    const mappings = indexMapping(index, shopSink).body.mappings as Record<string, unknown>;
    assert.deepEqual(mappings.dynamic_templates, [
      { flusso_map_labels: { path_match: "labels.*", mapping: { type: "keyword" } } },
    ]);
    assert.deepEqual((mappings.properties as M).code, { type: "keyword", ignore_above: 64 });
  });
});
