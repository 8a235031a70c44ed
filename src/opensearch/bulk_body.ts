/**
 * The NDJSON text of `_bulk` operations. The body is written here, not by the client, because
 * versions are commit LSNs (unsigned 64-bit) that a JS number cannot hold exactly: the version
 * is printed from the bigint as a bare JSON integer.
 */
import { Buffer } from "node:buffer";
import type { SinkWrite } from "../engine/ports.ts";
import { documentJson, isDeleteDocument } from "../engine/document_text.ts";
import type { BodyPool } from "./body_pool.ts";

/** Anything the bulk writer can send: NDJSON lines (each ending in `\n`) and their size. */
export interface BulkItem {
  /**
   * Action line plus source line for an index, action line only for a delete — or only the
   * action line when the source is `source` bytes; empty when `actionTail` is set.
   */
  readonly text: string;
  /**
   * Set for most writes of documents as bytes: the action line is then shared bytes around
   * `plainId` (ASCII, see PLAIN_ID), `{"index":{"_id":"` + `plainId` + `actionTail`, with
   * `actionTail` the version's `","version":…,"version_type":"external_gte"}}\n`.
   */
  readonly actionTail?: Uint8Array;
  readonly plainId?: string;
  /** The source line's JSON as UTF-8 bytes (one line; its `\n` is added when written). */
  readonly source?: Uint8Array;
  /** UTF-8 size of everything the item writes (its lines, `source` included), for chunking. */
  readonly bytes: number;
  /** A delete of a missing document counts as success. */
  readonly isDelete: boolean;
}

/**
 * One versioned operation of a sink write against one concrete index. Its action line names no
 * index: a request of such operations is sent to `POST /<target>/_bulk`.
 */
export interface BulkOperation extends BulkItem {
  /** The concrete index the operation targets (the path of the request that carries it). */
  readonly target: string;
  /** The write it carries out (several operations may share one write: dual writes). */
  readonly write: SinkWrite;
}

/** A plain write without versioning (dead letters, meta records). */
export interface PlainWrite {
  readonly target: string;
  readonly id: string;
  readonly document: Readonly<Record<string, unknown>> | null;
}

/** The largest external version OpenSearch accepts (a Java long). */
const MAX_VERSION = (1n << 63n) - 1n;

/**
 * The operation that writes `write` into `target` with `version_type=external_gte` and the
 * commit LSN as version: an older write never overwrites a newer one, an equal one re-applies.
 * The action line leaves `_index` to the request's path: a third less action text for
 * OpenSearch to read with every document.
 */
export function versionedOperation(target: string, write: SinkWrite): BulkOperation {
  if (write.version < 0n || write.version > MAX_VERSION) {
    throw new RangeError(
      `version ${write.version} of ${write.index}/${write.id} is outside OpenSearch's range 0..2^63-1`,
    );
  }
  const isDelete = isDeleteDocument(write);
  // Serialised once: an object document's JSON is built here, and only here.
  const json = isDelete ? undefined : documentJson(write);
  // The version is spliced in as digits of the bigint. Most ids (integers, uuids) are plain
  // ASCII: then the line needs no escaping and its length is its size in bytes, which spares
  // a JSON.stringify and a UTF-8 measurement per document.
  const plain = PLAIN_ID.test(write.id);
  if (plain && json !== undefined && typeof json !== "string") {
    // A document from Postgres, as bytes: its action line is written from shared bytes around
    // the id, with no string built per document (half the cost of a line).
    const actionTail = indexTail(write.version);
    const plainId = write.id;
    const bytes = INDEX_HEAD.length + plainId.length + actionTail.length + json.length + 1;
    return { target, write, text: "", actionTail, plainId, source: json, bytes, isDelete };
  }
  const kind = isDelete ? "delete" : "index";
  const action = `{"${kind}":{"_id":${
    plain ? `"${write.id}"` : JSON.stringify(write.id)
  },"version":${versionText(write.version)},"version_type":"external_gte"}}\n`;
  const actionBytes = plain ? action.length : utf8Bytes(action);
  if (json === undefined) return { target, write, text: action, bytes: actionBytes, isDelete };
  if (typeof json !== "string") {
    // Bytes from Postgres go out as they came: the builder's decoder (`unpackRows`) already
    // turned any raw newline into a space, so each document is one line.
    return {
      target,
      write,
      text: action,
      source: json,
      bytes: actionBytes + json.length + 1,
      isDelete,
    };
  }
  const source = oneLine(json);
  // Sized by parts: measuring the joined text would first copy it into one flat string.
  const bytes = actionBytes + utf8Bytes(source) + 1;
  return { target, write, text: `${action}${source}\n`, bytes, isDelete };
}

/** An unversioned index or delete (internal records: dead letters). */
export function plainOperation(write: PlainWrite): BulkItem & { readonly id: string } {
  const kind = write.document === null ? "delete" : "index";
  const action = `{"${kind}":{"_index":${JSON.stringify(write.target)},"_id":${
    JSON.stringify(write.id)
  }}}\n`;
  const text = write.document === null ? action : `${action}${JSON.stringify(write.document)}\n`;
  return {
    id: write.id,
    text,
    bytes: Buffer.byteLength(text, "utf8"),
    isDelete: write.document === null,
  };
}

/** Ids JSON writes as they are, in as many bytes as characters: no escape, no non-ASCII. */
const PLAIN_ID = /^[\w.:@+-]*$/;

/** UTF-8 size of `text`. */
function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

// Consecutive writes mostly share a version (a transaction's commit LSN, a backfill's start
// LSN): the last one's digits are kept rather than formatting the bigint each time.
let lastVersion = -1n;
let lastVersionText = "";

function versionText(version: bigint): string {
  if (version !== lastVersion) {
    lastVersion = version;
    lastVersionText = version.toString(10);
  }
  return lastVersionText;
}

/** The start of every index action line written in parts. */
const INDEX_HEAD = Buffer.from('{"index":{"_id":"');

let lastTailVersion = -1n;
let lastTail: Uint8Array = new Uint8Array(0);

/** The end of an index action line in parts after its id, for `version` (kept for the next). */
function indexTail(version: bigint): Uint8Array {
  if (version !== lastTailVersion) {
    lastTail = Buffer.from(`","version":${versionText(version)},"version_type":"external_gte"}}\n`);
    lastTailVersion = version;
  }
  return lastTail;
}

/**
 * Joins operations into one `_bulk` body, encoded to UTF-8 once, straight into a buffer of
 * the size the operations already know: handed a string, the client would measure it and
 * the HTTP layer encode it again. With `pool`, the buffer is one of the pool's (see body_pool.ts).
 */
export function bulkBody(operations: readonly BulkItem[], pool?: BodyPool): Buffer {
  let size = 0;
  for (const op of operations) size += op.bytes;
  const body = pool ? pool.take(size) : Buffer.allocUnsafe(size);
  let at = 0;
  for (const op of operations) {
    const tail = op.actionTail;
    if (tail === undefined) at += body.write(op.text, at, "utf8");
    else {
      body.set(INDEX_HEAD, at);
      at += INDEX_HEAD.length;
      at += body.write(op.plainId!, at, "latin1");
      body.set(tail, at);
      at += tail.length;
    }
    if (op.source !== undefined) {
      body.set(op.source, at);
      at += op.source.length;
      body[at++] = 0x0a;
    }
  }
  return at === size ? body : body.subarray(0, at);
}

/** NDJSON needs one line per document; JSON text may only hold raw newlines as whitespace. */
function oneLine(json: string): string {
  return json.includes("\n") ? json.replace(/\r?\n/g, " ") : json;
}
