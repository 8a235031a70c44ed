/**
 * Versioning and optimistic concurrency, as OpenSearch's engine decides them: internal
 * versions count up (across deletes, whose tombstones are kept), `external` needs a strictly
 * greater version, `external_gte` a greater or equal one, `op_type=create` needs no live
 * document, and `if_seq_no`/`if_primary_term` must name the live document's current copy.
 *
 * Versions are `bigint` end to end: OpenSearch versions are Java longs, and external versions
 * are often 64-bit positions (a Postgres LSN), which a JS number rounds above 2^53.
 */
import { versionConflict } from "./errors.ts";
import type { DocRecord, IndexState, Tombstone } from "./store.ts";

/** A document version (a Java long in OpenSearch). */
export type Version = bigint;

/** How a write asks to be versioned. */
export interface VersionRequest {
  version?: Version;
  versionType?: string;
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
  create?: boolean;
}

/** True for `external` and `external_gte`. */
export function isExternal(versionType: string | undefined): boolean {
  return versionType === "external" || versionType === "external_gte";
}

const VERSION_TYPES = new Set(["internal", "external", "external_gte", "force"]);
const INTEGER_TEXT = /^[+-]?\d+$/;

/**
 * A version from a request: a JSON number (with `source`, its exact text when the reviver saw
 * it), a string or a query parameter. Integer text converts exactly; other numeric text is
 * truncated like Java's `longValue()`. Undefined when `value` is not numeric.
 */
export function toVersion(value: unknown, source?: string): Version | undefined {
  if (typeof value === "bigint") return value;
  if (source !== undefined && INTEGER_TEXT.test(source)) return BigInt(source);
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return BigInt(value);
    return Number.isFinite(value) ? BigInt(Math.trunc(value)) : undefined;
  }
  if (typeof value === "string") {
    const text = value.trim();
    if (INTEGER_TEXT.test(text)) return BigInt(text);
    const n = text === "" ? NaN : Number(text);
    return Number.isFinite(n) ? BigInt(Math.trunc(n)) : undefined;
  }
  return undefined;
}

/** Validation messages for a write's versioning parameters (request-level, before execution). */
export function versionValidation(r: VersionRequest, op: string, hasId: boolean): string[] {
  const out: string[] = [];
  const vt = r.versionType ?? "internal";
  if (!VERSION_TYPES.has(vt)) {
    out.push(`version type [${vt}] is not supported`);
    return out;
  }
  if (vt === "force") out.push("version type [force] may no longer be used");
  if (r.create && (isExternal(vt) || r.version !== undefined)) {
    out.push("create operations only support internal versioning. use index instead");
  } else if (vt === "internal" && r.version !== undefined && op !== "get") {
    out.push(
      "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead",
    );
  }
  if (isExternal(vt) && r.version === undefined) {
    out.push(`illegal version value [-3] for version type [${vt.toUpperCase()}]`);
  }
  if (isExternal(vt) && r.version !== undefined && r.version < 0n) {
    out.push(`illegal version value [${r.version}] for version type [${vt.toUpperCase()}]`);
  }
  if (r.ifSeqNo !== undefined) {
    if (isExternal(vt)) {
      out.push("compare and write operations can not be used with external versioning");
    }
    if (r.ifSeqNo < 0) out.push(`ifSeqNo [${r.ifSeqNo}] must be non negative`);
    if (r.ifPrimaryTerm === undefined || r.ifPrimaryTerm <= 0) {
      out.push(`ifSeqNo is set, but primary term is [${r.ifPrimaryTerm ?? 0}]`);
    }
  } else if (r.ifPrimaryTerm !== undefined && r.ifPrimaryTerm !== 0) {
    out.push(`ifSeqNo is unassigned, but primary term is [${r.ifPrimaryTerm}]`);
  }
  if (!hasId && (isExternal(vt) || r.version !== undefined)) {
    out.push("an id must be provided if version type or value are set");
  }
  return out;
}

/**
 * Decides the version of a write to `id` given the live document and tombstone, or throws
 * `version_conflict_engine_exception`. Returns the new document version.
 */
export function nextVersion(
  index: IndexState,
  id: string,
  live: DocRecord | undefined,
  tomb: Tombstone | undefined,
  r: VersionRequest,
): Version {
  const conflict = (detail: string) => versionConflict(index.name, index.uuid, id, detail);
  if (r.create && live) {
    throw conflict(`document already exists (current version [${live.version}])`);
  }
  if (r.ifSeqNo !== undefined) {
    const wanted = `required seqNo [${r.ifSeqNo}], primary term [${r.ifPrimaryTerm}]`;
    if (!live) throw conflict(`${wanted}. but no document was found`);
    if (live.seqNo !== r.ifSeqNo || live.primaryTerm !== r.ifPrimaryTerm) {
      throw conflict(
        `${wanted}. current document has seqNo [${live.seqNo}] and primary term [${live.primaryTerm}]`,
      );
    }
  }
  const current = live?.version ?? tomb?.version;
  const vt = r.versionType ?? "internal";
  if (vt === "external" || vt === "external_gte") {
    const v = r.version!;
    if (current !== undefined) {
      if (vt === "external" && v <= current) {
        throw conflict(
          `current version [${current}] is higher or equal to the one provided [${v}]`,
        );
      }
      if (vt === "external_gte" && v < current) {
        throw conflict(`current version [${current}] is higher than the one provided [${v}]`);
      }
    }
    return v;
  }
  return current === undefined ? 1n : current + 1n;
}

/** Read-time version check (GET with `version`): the versions must be equal. */
export function checkReadVersion(
  index: IndexState,
  doc: DocRecord,
  version: Version | undefined,
): void {
  if (version === undefined || doc.version === version) return;
  throw versionConflict(
    index.name,
    index.uuid,
    doc.id,
    `current version [${doc.version}] is different than the one provided [${version}]`,
  );
}
