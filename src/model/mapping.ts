/**
 * The OpenSearch create-index body of one index, derived entirely from its document model:
 * settings (shards, replicas, refresh interval, the `identifier` analyzer) and `dynamic:
 * strict` mappings carrying the schema hash in `_meta`.
 */
import type {
  AggregateField,
  Field,
  IndexConfig,
  ScalarField,
  ScalarType,
  SinkConfig,
} from "../config/model.ts";
import type { IndexDefinition } from "../engine/ports.ts";
import { VERSION } from "../version.ts";
import { schemaHash } from "./schema_hash.ts";

/** Name of the analyzer `identifier` fields use (codes, SKUs: split on punctuation and case). */
export const IDENTIFIER_ANALYZER = "flusso_identifier";

type Mapping = Record<string, unknown>;

/** The create-index definition of `index` on `sink`. */
export function indexMapping(index: IndexConfig, sink: SinkConfig): IndexDefinition {
  const hash = schemaHash(index.model, sink);
  const templates: Mapping[] = [];
  const properties = propertiesOf(index.model.fields, "", templates);
  const mappings: Mapping = {
    dynamic: "strict",
    // flusso_version is informational only: it is not part of the hash.
    _meta: { schema_hash: hash, flusso_version: VERSION, index: index.name },
    properties,
  };
  if (templates.length > 0) mappings.dynamic_templates = templates;
  return {
    index: index.name,
    schemaHash: hash,
    body: {
      settings: {
        number_of_shards: sink.numberOfShards,
        number_of_replicas: sink.numberOfReplicas,
        refresh_interval: sink.refreshInterval,
        analysis: analysisSettings(),
      },
      mappings,
    },
  };
}

/** Analysis settings: `identifier` text is split on punctuation and case changes, keeping the whole code too. */
export function analysisSettings(): Mapping {
  return {
    filter: {
      flusso_identifier_parts: {
        type: "word_delimiter_graph",
        preserve_original: true,
        catenate_all: true,
        split_on_numerics: true,
      },
    },
    analyzer: {
      [IDENTIFIER_ANALYZER]: {
        type: "custom",
        tokenizer: "whitespace",
        filter: ["flusso_identifier_parts", "lowercase"],
      },
    },
  };
}

/** The mapping properties of a list of fields. `path` is the dotted path of their parent. */
export function propertiesOf(
  fields: readonly Field[],
  path: string,
  templates: Mapping[],
): Mapping {
  const out: Mapping = {};
  for (const field of fields) {
    out[field.name] = fieldMapping(field, `${path}${field.name}`, templates);
  }
  return out;
}

function fieldMapping(field: Field, path: string, templates: Mapping[]): Mapping {
  switch (field.kind) {
    case "scalar":
      return scalarFieldMapping(field);
    case "object":
      return { type: "object", properties: propertiesOf(field.fields, `${path}.`, templates) };
    case "belongs_to":
    case "has_one":
      return { type: "object", properties: propertiesOf(field.fields, `${path}.`, templates) };
    case "has_many":
    case "many_to_many":
      return { type: "nested", properties: propertiesOf(field.fields, `${path}.`, templates) };
    case "map":
      // Keys are dynamic below this one object only; their values all get one type.
      templates.push({
        [`flusso_map_${path}`]: {
          path_match: `${path}.*`,
          mapping: scalarMapping(field.valueType),
        },
      });
      return { type: "object", dynamic: true };
    case "geo":
      return { type: "geo_point" };
    case "constant":
      return typeof field.value === "string"
        ? { type: "keyword" }
        : typeof field.value === "boolean"
        ? { type: "boolean" }
        : Number.isInteger(field.value)
        ? { type: "long" }
        : { type: "double" };
    case "aggregate":
      return aggregateMapping(field);
  }
}

function aggregateMapping(field: AggregateField): Mapping {
  switch (field.fn) {
    case "count":
      return { type: "long" };
    case "avg":
      return { type: "double" };
    case "ids":
      // Related keys are emitted as their text (composite keys as JSON arrays).
      return { type: "keyword" };
    default:
      return scalarMapping(field.valueType ?? "double");
  }
}

function scalarFieldMapping(field: ScalarField): Mapping {
  const base = field.type === "custom"
    ? { ...(field.opensearch ?? { type: "keyword" }) }
    : field.type === "decimal" && field.scale !== undefined
    ? { type: "scaled_float", scaling_factor: field.scale }
    : scalarMapping(field.type);
  return { ...base, ...(field.options ?? {}) };
}

/** The mapping of one scalar type. */
export function scalarMapping(type: ScalarType): Mapping {
  switch (type) {
    case "text":
      return { type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } };
    case "identifier":
      return {
        type: "text",
        analyzer: IDENTIFIER_ANALYZER,
        fields: { keyword: { type: "keyword", ignore_above: 256 } },
      };
    case "keyword":
    case "enum":
    case "uuid":
      return { type: "keyword" };
    case "boolean":
    case "short":
    case "integer":
    case "long":
    case "float":
    case "double":
    case "date":
    case "binary":
      return { type: type };
    case "decimal":
      return { type: "double" };
    case "timestamp":
      return { type: "date" };
    case "json":
      return { type: "object", dynamic: true };
    case "custom":
      return { type: "keyword" };
  }
}
