/**
 * The content hash `flusso verify` compares: a document built from Postgres and the `_source`
 * stored in OpenSearch are equal when their canonical JSON is. Canonical means object keys
 * sorted at every depth, absent (undefined) members dropped, and numbers printed by
 * `JSON.stringify` — so `12.50` from Postgres and `12.5` from `_source`, which both parse to the
 * same double, hash alike. Array order is kept: it is meaningful (has_many `order_by`).
 */
import { createHash } from "node:crypto";

/** The canonical JSON text of a JSON-like value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    // Non-finite numbers cannot come from JSON; print them like JSON.stringify would (null).
    return JSON.stringify(value ?? null) ?? "null";
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).filter((k) => record[k] !== undefined).sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${members.join(",")}}`;
}

/** SHA-256 (hex) of the canonical JSON of `document`. */
export function contentHash(document: unknown): string {
  return createHash("sha256").update(canonicalJson(document), "utf8").digest("hex");
}
