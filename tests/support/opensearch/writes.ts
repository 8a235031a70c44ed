/**
 * One document write (index, create, update, delete) as a shard executes it: resolve the target
 * (alias write index, auto-create), check the document against the mapping, decide the version,
 * then apply it. Shared by `_bulk` and the single-document endpoints, so both behave alike.
 */
import { randomBytes } from "node:crypto";
import { illegalArgument, indexNotFound, mapperParsing, OpenSearchError } from "./errors.ts";
import { createIndex } from "./indices.ts";
import { checkDocument } from "./mapping.ts";
import { idTooLong } from "./names.ts";
import { versionJson } from "./raw_json.ts";
import { resolveWrite } from "./resolve.ts";
import { filterSource, type SourceFilter } from "./source_filter.ts";
import { type PlainSource, scanAccepts } from "./source_scan.ts";
import {
  type Cluster,
  DocRecord,
  dropDoc,
  type IndexState,
  markWritten,
  putDoc,
  sameShard,
  setMapping,
  shardFor,
  writeShards,
} from "./store.ts";
import { nextVersion, type Version, versionValidation } from "./versioning.ts";

type Json = Record<string, unknown>;

/** A parsed write request. */
export interface WriteRequest {
  op: "index" | "create" | "update" | "delete";
  index: string;
  id?: string;
  routing?: string;
  version?: Version;
  versionType?: string;
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
  /**
   * index/create: the source text, and the parsed source — or, when `source` is undefined, it is
   * parsed at execution unless the text scan shows the mapping accepts it unchanged.
   */
  source?: Json;
  raw?: string;
  /** `_bulk`: the body `raw` was cut from, read in place by the scan (see `BulkText`). */
  rawIn?: BulkText;
  /** `_bulk`: where `raw` starts in `rawIn.text`. */
  rawAt?: number;
  /** index/create: why the source could not be parsed. */
  sourceError?: OpenSearchError;
  /** update: the request body (doc, upsert, doc_as_upsert, detect_noop, _source). */
  update?: Json;
  requireAlias?: boolean;
  /** update: what `get._source` of the reply should show. */
  updateSource?: SourceFilter;
}

/** A `_bulk` body; the scan of its documents works out once whether it is plain (`plainText`). */
export type BulkText = PlainSource;

/** The copy a successful write left: what its reply reports. */
export interface Written {
  readonly id: string;
  readonly version: Version;
  readonly seqNo: number;
  readonly primaryTerm: number;
}

/**
 * The outcome of one write, as a bulk item shows it (status included separately). Failures and
 * updates carry their reply `body`; index/create/delete successes carry `written` and `result`
 * instead, so `_bulk` can write their replies as text without building objects (`outcomeBody`
 * builds the object when a caller wants one).
 */
export interface WriteOutcome {
  status: number;
  body?: Json;
  /** index/create/delete success: the copy written (a DocRecord, or the delete's tombstone). */
  written?: Written;
  /** index/create/delete success: `created`, `updated`, `deleted` or `not_found`. */
  result?: string;
  /** The index written to, when the write reached one (for refresh handling). */
  index?: IndexState;
  /** The failure, when the write failed (single-document endpoints answer it as the reply). */
  error?: OpenSearchError;
  /** The shard written to (what `refresh=true` refreshes). */
  shard?: number;
}

/** The reply body of an outcome (built, and kept, on first use for index/create/delete). */
export function outcomeBody(o: WriteOutcome): Json {
  o.body ??= success(o.index!, o.written!, o.result!);
  return o.body;
}

/** Shared by every write without a problem; callers only read it. */
const NO_PROBLEMS: readonly string[] = Object.freeze([]);

/**
 * The shapes almost every write has — index or delete with an id and an external version, or
 * index without any versioning — which `versionValidation` would pass without a message.
 */
function plainlyValid(r: WriteRequest): boolean {
  if (r.op !== "index" && r.op !== "delete") return false;
  if (!r.index || r.ifSeqNo !== undefined || r.ifPrimaryTerm !== undefined) return false;
  if (r.id !== undefined && r.id.length > 170) return false;
  const vt = r.versionType;
  if (vt === "external_gte" || vt === "external") {
    return r.id !== undefined && r.version !== undefined && r.version >= 0n;
  }
  return vt === undefined && r.version === undefined && (r.op === "index" || r.id !== undefined);
}

/** Request-level validation messages (OpenSearch fails the whole request on any of them). */
export function validateWrite(r: WriteRequest): readonly string[] {
  if (plainlyValid(r)) return NO_PROBLEMS;
  const out: string[] = [];
  if (!r.index) out.push("index is missing");
  if ((r.op === "update" || r.op === "delete") && (r.id === undefined || r.id === null)) {
    out.push("id is missing");
  }
  // At most 3 UTF-8 bytes per UTF-16 unit: short ids cannot exceed 512 bytes.
  if (r.id !== undefined && r.id.length > 170) {
    const long = idTooLong(r.id);
    if (long) out.push(long);
  }
  if (r.op === "update") {
    if (r.versionType !== undefined && r.versionType !== "internal") {
      out.push("only internal versioning is supported");
    } else if (r.version !== undefined) {
      out.push(
        "can't provide version in update request, please use `if_seq_no` and `if_primary_term` instead",
      );
    }
    if (
      !r.update ||
      (r.update.doc === undefined && r.update.script === undefined && r.update.upsert === undefined)
    ) {
      out.push("script or doc is missing");
    }
    return out;
  }
  out.push(
    ...versionValidation(
      {
        version: r.version,
        versionType: r.versionType,
        ifSeqNo: r.ifSeqNo,
        ifPrimaryTerm: r.ifPrimaryTerm,
        create: r.op === "create",
      },
      r.op,
      r.id !== undefined,
    ),
  );
  return out;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A 20-character auto-generated id, like OpenSearch's time-based ids. */
export function autoId(): string {
  const bytes = randomBytes(20);
  let s = "";
  for (const b of bytes) s += ID_ALPHABET[b & 63];
  return s;
}

function errorOutcome(
  indexName: string,
  id: string | undefined,
  e: OpenSearchError,
  index?: IndexState,
): WriteOutcome {
  const body: Json = {
    _index: indexName,
    _id: id ?? null,
    status: e.status,
    error: e.toItemError(),
  };
  return { status: e.status, body, index, error: e };
}

/** The routing `resolveTarget` chose (set with each call: a write allocates no result object). */
let targetRouting: string | undefined;

function resolveTarget(cluster: Cluster, r: WriteRequest): IndexState {
  // An existing index is the common case; its name passed the name rules, so it holds no
  // `*` or `,` and an alias lookup would find nothing more.
  const direct = cluster.indices.get(r.index);
  if (direct) {
    targetRouting = r.routing;
    return direct;
  }
  if (r.index.includes("*") || r.index.includes(",")) {
    throw new OpenSearchError(
      400,
      "invalid_index_name_exception",
      `Invalid index name [${r.index}], must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]`,
      { index_uuid: "_na_", index: r.index },
    );
  }
  const target = resolveWrite(cluster, r.index);
  if (target.index) {
    targetRouting = r.routing ?? target.routing;
    return target.index;
  }
  if (r.requireAlias) {
    throw indexNotFound(
      r.index,
      ` and [require_alias] request flag is [true] and [${r.index}] is not an alias`,
    );
  }
  // OpenSearch auto-creates for update and delete too, then answers "not found".
  targetRouting = r.routing;
  return createIndex(cluster, r.index);
}

function success(index: IndexState, doc: Written, result: string): Json {
  return {
    _index: index.name,
    _id: doc.id,
    _version: versionJson(doc.version),
    result,
    _shards: writeShards(index),
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
  };
}

function liveDoc(
  index: IndexState,
  id: string,
  routing: string | undefined,
): DocRecord | undefined {
  const doc = index.docs.get(id);
  return doc && sameShard(index, doc, routing) ? doc : undefined;
}

function store(
  index: IndexState,
  id: string,
  raw: string,
  version: Version,
  routing: string | undefined,
  now: number,
  shard = shardFor(index, id, routing),
): DocRecord {
  const doc = new DocRecord(id, raw, version, index.nextSeqNo++, 1, routing);
  putDoc(index, doc);
  if (index.tombstones.size > 0) index.tombstones.delete(id);
  markWritten(index, id, now, shard);
  return doc;
}

/**
 * The parsed source of an index/create whose text was not parsed yet, or undefined when the
 * scan shows the mapping accepts the text unchanged (then nothing needs the parsed form).
 * A text that is not a JSON object sets `r.sourceError`, as OpenSearch fails such an item.
 */
function parseUnlessAccepted(index: IndexState, r: WriteRequest): Json | undefined {
  const raw = r.raw!;
  const accepted = r.rawIn
    ? scanAccepts(index.mapping, r.rawIn.text, r.rawAt!, r.rawAt! + raw.length, r.rawIn)
    : scanAccepts(index.mapping, raw);
  if (accepted) return undefined;
  try {
    const s = JSON.parse(raw);
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
      throw new Error("not an object");
    }
    return r.source = s;
  } catch (e) {
    r.sourceError = mapperParsing(
      "failed to parse",
      new OpenSearchError(400, "json_parse_exception", (e as Error).message),
    );
    return undefined;
  }
}

function applyMapping(index: IndexState, source: Json, id: string): void {
  const updated = checkDocument(index.mapping, source, id);
  if (updated) setMapping(index, updated);
}

function isPlain(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Partial-document merge as `update` with `doc` does it: objects merge, everything else replaces. */
export function mergeDoc(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? mergeDoc(out[k] as Json, v) : v;
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as Json), kb = Object.keys(b as Json);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Json)[k], (b as Json)[k]));
}

/** Executes one validated write. Never throws for per-document failures: they become outcomes. */
export function executeWrite(cluster: Cluster, r: WriteRequest, now: number): WriteOutcome {
  let index: IndexState | undefined;
  try {
    index = resolveTarget(cluster, r);
    const routing = targetRouting;
    if (r.id === "") throw illegalArgument("if _id is specified it must not be empty");
    switch (r.op) {
      case "index":
      case "create": {
        const source = r.source ?? (r.sourceError ? undefined : parseUnlessAccepted(index, r));
        if (r.sourceError) throw r.sourceError;
        const create = r.op === "create" || r.id === undefined;
        const id = r.id ?? autoId();
        if (source) applyMapping(index, source, id);
        const live = liveDoc(index, id, routing);
        const version = nextVersion(index, id, live, index.tombstones.get(id), {
          version: r.version,
          versionType: r.versionType,
          ifSeqNo: r.ifSeqNo,
          ifPrimaryTerm: r.ifPrimaryTerm,
          create,
        });
        const shard = shardFor(index, id, routing);
        const doc = store(index, id, r.raw!, version, routing, now, shard);
        return {
          status: live ? 200 : 201,
          written: doc,
          result: live ? "updated" : "created",
          index,
          shard,
        };
      }
      case "delete": {
        const id = r.id!;
        const live = liveDoc(index, id, routing);
        const version = nextVersion(index, id, live, live ? undefined : index.tombstones.get(id), {
          version: r.version,
          versionType: r.versionType,
          ifSeqNo: r.ifSeqNo,
          ifPrimaryTerm: r.ifPrimaryTerm,
        });
        const seqNo = index.nextSeqNo++;
        const shard = shardFor(index, id, live?.routing ?? routing);
        if (live) {
          dropDoc(index, id);
          markWritten(index, id, now, shard);
        }
        index.tombstones.set(id, { version, seqNo, primaryTerm: 1 });
        return {
          status: live ? 200 : 404,
          written: { id, version, seqNo, primaryTerm: 1 },
          result: live ? "deleted" : "not_found",
          index,
          shard,
        };
      }
      case "update":
        return executeUpdate(index, r, routing, now);
    }
  } catch (e) {
    if (!(e instanceof OpenSearchError)) throw e;
    return errorOutcome(index?.name ?? r.index, r.id, e, index);
  }
}

function executeUpdate(
  index: IndexState,
  r: WriteRequest,
  routing: string | undefined,
  now: number,
): WriteOutcome {
  const id = r.id!;
  const u = r.update ?? {};
  if (u.script !== undefined) {
    throw illegalArgument("the emulator does not run scripts: use a partial `doc` update instead");
  }
  const live = liveDoc(index, id, routing);
  const patch = isPlain(u.doc) ? u.doc : undefined;
  if (!live) {
    const upsert = u.doc_as_upsert === true ? patch : isPlain(u.upsert) ? u.upsert : undefined;
    if (!upsert) {
      throw new OpenSearchError(404, "document_missing_exception", `[${id}]: document missing`, {
        index: index.name,
        shard: "0",
        index_uuid: index.uuid,
      });
    }
    applyMapping(index, upsert, id);
    const version = nextVersion(index, id, undefined, index.tombstones.get(id), {
      ifSeqNo: r.ifSeqNo,
      ifPrimaryTerm: r.ifPrimaryTerm,
    });
    const doc = store(index, id, JSON.stringify(upsert), version, routing, now);
    return {
      status: 201,
      body: withGet(success(index, doc, "created"), doc, r),
      index,
      shard: shardFor(index, id, routing),
    };
  }
  nextVersion(index, id, live, undefined, { ifSeqNo: r.ifSeqNo, ifPrimaryTerm: r.ifPrimaryTerm });
  const merged = patch ? mergeDoc(live.source, patch) : live.source;
  if (u.detect_noop !== false && deepEqual(merged, live.source)) {
    const body = success(index, live, "noop");
    body._shards = { total: 0, successful: 0, failed: 0 };
    return { status: 200, body: withGet(body, live, r), index };
  }
  applyMapping(index, merged, id);
  const doc = store(
    index,
    id,
    JSON.stringify(merged),
    live.version + 1n,
    routing ?? live.routing,
    now,
  );
  return {
    status: 200,
    body: withGet(success(index, doc, "updated"), doc, r),
    index,
    shard: shardFor(index, id, doc.routing),
  };
}

function withGet(body: Json, doc: DocRecord, r: WriteRequest): Json {
  if (!r.updateSource || !r.updateSource.fetch) return body;
  body.get = {
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
    found: true,
    _source: filterSource(doc.source, r.updateSource),
  };
  return body;
}
