/**
 * The schema hash: a stable digest of what an index's documents and mapping depend on. A new
 * hash means a new generation index (and a backfill), so it must change only when the user's
 * schema changes meaningfully:
 *
 * - it hashes the resolved *model* (not the YAML text, not the derived mapping), so comments,
 *   key order and formatting do not count, and a flusso upgrade that derives mappings
 *   differently does not rotate every index;
 * - object keys are sorted, absent/undefined values dropped, and lists whose order carries no
 *   meaning (fields — their names are unique per level —, filters, enum-free option maps)
 *   are sorted; `order_by` and transforms keep their order;
 * - the only sink setting included is `number_of_shards`, which cannot change in place;
 * - the flusso version is deliberately not part of it.
 */
import { createHash } from "node:crypto";
import type { DocumentModel, Field, Filter, SinkConfig } from "../config/model.ts";

/** Version of the canonical form itself; bump only if the form must change (it rotates indexes). */
const CANONICAL_FORM = 1;

/** The canonical JSON text the hash is taken over. */
export function canonicalSchema(
  model: DocumentModel,
  sink?: Pick<SinkConfig, "numberOfShards">,
): string {
  return canonicalJson({
    form: CANONICAL_FORM,
    table: model.table,
    primary_key: model.primaryKey,
    soft_delete: model.softDelete,
    filters: sortedFilters(model.filters),
    fields: canonicalFields(model.fields),
    shards: sink?.numberOfShards,
  });
}

/** The schema hash: lowercase hex SHA-256 of the canonical form. */
export function schemaHash(
  model: DocumentModel,
  sink?: Pick<SinkConfig, "numberOfShards">,
): string {
  return createHash("sha256").update(canonicalSchema(model, sink), "utf8").digest("hex");
}

function canonicalFields(fields: readonly Field[]): unknown[] {
  return [...fields]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((field) => {
      switch (field.kind) {
        case "object":
          return { ...field, fields: canonicalFields(field.fields) };
        case "belongs_to":
        case "has_one":
        case "has_many":
        case "many_to_many":
          return {
            ...field,
            filters: sortedFilters(field.filters),
            fields: canonicalFields(field.fields),
          };
        case "aggregate":
          return { ...field, filters: sortedFilters(field.filters) };
        default:
          return field;
      }
    });
}

function sortedFilters(filters: readonly Filter[]): string[] {
  // Filters are ANDed: their order is irrelevant.
  return filters.map((f) => canonicalJson(f)).sort();
}

/** JSON with object keys sorted and undefined members dropped, at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normalise(v)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = normalise(v);
    }
    return out;
  }
  return value;
}
