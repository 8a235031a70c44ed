/**
 * The deterministic OpenSearch `_id` of a document, derived from its root primary key (the
 * key columns' text output, as pgoutput sends them).
 *
 * - A single-column key is its text, unchanged: `42`, `a1b2-…`.
 * - A composite key is the JSON array of its texts: `["7","42"]`. JSON string escaping makes
 *   the encoding unambiguous (no separator can be forged by a value).
 * - OpenSearch limits `_id` to 512 bytes. A longer encoding, and any single-column key that
 *   itself starts with `#`, becomes `#` + the hex SHA-256 of the encoding. Plain ids never
 *   start with `#`, so a hashed id can never equal a plain one; two keys share an id only on
 *   a SHA-256 collision. Hashed ids cannot be turned back into keys, which flusso never needs.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { DocKey } from "../engine/ports.ts";

/** OpenSearch's maximum `_id` length in bytes. */
export const MAX_ID_BYTES = 512;

/** Marks an id that is a hash of the key rather than the key itself. */
export const HASHED_ID_PREFIX = "#";

/** The unhashed encoding of a key: its text for one column, a JSON array for several. */
export function encodeKey(key: DocKey): string {
  if (key.length === 0) throw new RangeError("a document key needs at least one column");
  return key.length === 1 ? key[0] : JSON.stringify(key);
}

/** The `_id` of the document with root key `key`. */
export function documentId(key: DocKey): string {
  const encoded = encodeKey(key);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short encodings need no measuring.
  const fits = encoded.length * 3 <= MAX_ID_BYTES ||
    Buffer.byteLength(encoded, "utf8") <= MAX_ID_BYTES;
  if (fits && !encoded.startsWith(HASHED_ID_PREFIX)) {
    return encoded;
  }
  return HASHED_ID_PREFIX + createHash("sha256").update(encoded, "utf8").digest("hex");
}
