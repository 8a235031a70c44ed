/**
 * Single-document endpoints: index / create / update / delete (`/_doc`, `/_create`, `/_update`),
 * realtime GET / HEAD / `_source`, and `_mget`, with routing, versions, stored fields and
 * `_source` filtering.
 */
import { entryRouting } from "./routing.ts";
import { type ApiReply, type ApiRequest, flag, intParam, jsonBody } from "./api.ts";
import { illegalArgument, indexNotFound, OpenSearchError, validationFailed } from "./errors.ts";
import { RawSlots, versionJson } from "./raw_json.ts";
import { resolveRead } from "./resolve.ts";
import {
  filterSource,
  isIdentity,
  parseSourceBody,
  parseSourceQuery,
  pickFilter,
  type SourceFilter,
} from "./source_filter.ts";
import { valuesAt } from "./query.ts";
import {
  type Cluster,
  type DocRecord,
  fields,
  type IndexState,
  refreshNow,
  refreshShards,
  sameShard,
  searchView,
  waitForRefresh,
} from "./store.ts";
import { checkReadVersion, toVersion, type Version, versionValidation } from "./versioning.ts";
import { executeWrite, outcomeBody, validateWrite, type WriteRequest } from "./writes.ts";

type Json = Record<string, unknown>;

function numParam(q: URLSearchParams, name: string): number | undefined {
  return intParam(q, name);
}

/** The `version` query parameter, exact beyond 2^53. */
function versionParam(q: URLSearchParams): Version | undefined {
  const v = q.get("version");
  if (v === null || v === "") return undefined;
  // Not numeric: intParam throws OpenSearch's message (or reads blank text as 0).
  return toVersion(v) ?? BigInt(Math.trunc(intParam(q, "version") ?? 0));
}

async function finishWrite(req: ApiRequest, r: WriteRequest): Promise<ApiReply> {
  const problems = validateWrite(r);
  if (problems.length) throw validationFailed(...problems);
  const out = executeWrite(req.cluster, r, req.now);
  if (out.error) throw out.error;
  const body = outcomeBody(out);
  const refresh = req.query.get("refresh");
  if (out.index && (refresh === "true" || refresh === "")) {
    refreshShards(out.index, new Set([out.shard ?? 0]));
    body.forced_refresh = true;
  } else if (out.index && refresh === "wait_for") {
    await waitForRefresh(out.index);
  }
  return { status: out.status, body };
}

function writeBase(req: ApiRequest, op: WriteRequest["op"]): WriteRequest {
  const q = req.query;
  return {
    op,
    index: req.params.index,
    id: req.params.id,
    routing: q.get("routing") ?? undefined,
    version: versionParam(q),
    versionType: q.get("version_type") ?? undefined,
    ifSeqNo: numParam(q, "if_seq_no"),
    ifPrimaryTerm: numParam(q, "if_primary_term"),
    requireAlias: flag(q, "require_alias"),
  };
}

function checkPipeline(q: URLSearchParams): void {
  const p = q.get("pipeline");
  if (p !== null && p !== "_none") throw illegalArgument(`pipeline with id [${p}] does not exist`);
}

/** PUT/POST /{index}/_doc/{id}, POST /{index}/_doc, PUT/POST /{index}/_create/{id} */
export function handleIndexDoc(req: ApiRequest, create: boolean): Promise<ApiReply> {
  checkPipeline(req.query);
  const opType = req.query.get("op_type");
  if (opType !== null && opType !== "index" && opType !== "create") {
    throw illegalArgument(`opType must be 'create' or 'index', found: [${opType}]`);
  }
  const r = writeBase(req, create || opType === "create" ? "create" : "index");
  const source = jsonBody(req);
  r.source = source;
  r.raw = req.body.trim() === "" ? "{}" : req.body;
  return finishWrite(req, r);
}

/** DELETE /{index}/_doc/{id} */
export function handleDeleteDoc(req: ApiRequest): Promise<ApiReply> {
  return finishWrite(req, writeBase(req, "delete"));
}

/** POST /{index}/_update/{id} */
export function handleUpdateDoc(req: ApiRequest): Promise<ApiReply> {
  const r = writeBase(req, "update");
  r.update = jsonBody(req);
  r.updateSource = parseSourceQuery(req.query) ?? parseSourceBody(r.update._source);
  return finishWrite(req, r);
}

// ------------------------------------------------------------------------------------- reads

/** Options of one document read. */
interface ReadOptions {
  routing?: string;
  realtime: boolean;
  refresh: boolean;
  storedFields?: string[];
  source?: SourceFilter;
  version?: Version;
  versionType?: string;
}

/** The single concrete index a document read addresses (an alias must point to one index). */
function singleIndex(cluster: Cluster, name: string): IndexState {
  const targets = resolveRead(cluster, name, {});
  if (targets.length === 0) throw indexNotFound(name);
  if (targets.length > 1) {
    throw illegalArgument(
      `alias [${name}] has more than one index associated with it [${
        targets.map((t) => t.index.name).join(", ")
      }], can't execute a single index op`,
    );
  }
  return targets[0].index;
}

function lookup(index: IndexState, id: string, o: ReadOptions): DocRecord | undefined {
  if (o.refresh) refreshNow(index);
  const doc = o.realtime ? index.docs.get(id) : searchView(index).get(id);
  return doc && sameShard(index, doc, o.routing) ? doc : undefined;
}

function storedFieldValues(index: IndexState, doc: DocRecord, names: string[]): Json | undefined {
  const table = fields(index);
  const out: Json = {};
  for (const name of names) {
    const f = table.get(name);
    if (!f || f.def.store !== true) continue;
    const vals = valuesAt(doc.source, f.sourcePath);
    if (vals.length) out[name] = vals;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The body of a found document (without `_index`/`_id`, which the caller sets). */
function docBody(index: IndexState, doc: DocRecord, o: ReadOptions, raw: RawSlots): Json {
  const body: Json = {
    _index: index.name,
    _id: doc.id,
    _version: versionJson(doc.version),
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
    found: true,
  };
  if (doc.routing !== undefined) body._routing = doc.routing;
  const stored = o.storedFields;
  const wantSource = stored ? stored.includes("_source") || (o.source?.fetch ?? false) : true;
  if (wantSource) {
    if (isIdentity(o.source)) body._source = raw.slot(doc.raw);
    else {
      const filtered = filterSource(doc.source, o.source);
      if (filtered !== undefined) body._source = filtered;
    }
  }
  if (stored) {
    const f = storedFieldValues(index, doc, stored.filter((s) => !s.startsWith("_")));
    if (f) body.fields = f;
  }
  return body;
}

function listParam(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v)
    ? v.map(String)
    : String(v).split(",").map((s) => s.trim()).filter((s) => s);
}

function readOptions(q: URLSearchParams): ReadOptions {
  return {
    routing: q.get("routing") ?? undefined,
    realtime: q.get("realtime") !== "false",
    refresh: flag(q, "refresh"),
    storedFields: listParam(q.get("stored_fields") ?? undefined),
    source: parseSourceQuery(q),
    version: versionParam(q),
    versionType: q.get("version_type") ?? undefined,
  };
}

function checkReadParams(o: ReadOptions): void {
  const problems = versionValidation(
    { version: o.version, versionType: o.versionType },
    "get",
    true,
  );
  if (problems.length) throw validationFailed(...problems);
}

/** GET /{index}/_doc/{id}; HEAD with `head` (status only); `_source` endpoint with `sourceOnly`. */
export function handleGetDoc(req: ApiRequest, mode: "get" | "head" | "source"): ApiReply {
  const o = readOptions(req.query);
  checkReadParams(o);
  let index: IndexState;
  try {
    index = singleIndex(req.cluster, req.params.index);
  } catch (e) {
    if (mode === "head" && e instanceof OpenSearchError && e.status === 404) return { status: 404 };
    throw e;
  }
  const id = req.params.id;
  const doc = lookup(index, id, o);
  if (!doc) {
    if (mode === "head") return { status: 404 };
    if (mode === "source") {
      throw new OpenSearchError(
        404,
        "resource_not_found_exception",
        `Document not found [${index.name}]/[${id}]`,
      );
    }
    return { status: 404, body: { _index: index.name, _id: id, found: false } };
  }
  checkReadVersion(index, doc, o.version);
  if (mode === "head") return { status: 200 };
  const raw = new RawSlots();
  if (mode === "source") {
    if (isIdentity(o.source)) return { status: 200, text: doc.raw };
    return { status: 200, body: filterSource(doc.source, o.source) ?? {} };
  }
  return { status: 200, text: raw.render(docBody(index, doc, o, raw)) };
}

/** GET/POST /_mget, /{index}/_mget */
export function handleMget(req: ApiRequest): ApiReply {
  const body = jsonBody(req);
  const base = readOptions(req.query);
  const defaultIndex = req.params.index;
  type Spec = {
    index?: string;
    id?: string;
    routing?: string;
    source?: SourceFilter;
    stored?: string[];
  };
  let specs: Spec[];
  if (Array.isArray(body.docs)) {
    specs = body.docs.map((d: Json) => ({
      index: (d._index as string | undefined) ?? defaultIndex,
      id: d._id === undefined || d._id === null ? undefined : String(d._id),
      routing: entryRouting(d, base.routing),
      source: pickFilter(parseSourceBody(d._source), base.source),
      stored: listParam(d.stored_fields) ?? base.storedFields,
    }));
  } else if (Array.isArray(body.ids)) {
    specs = body.ids.map((id: unknown) => ({
      index: defaultIndex,
      id: String(id),
      routing: base.routing,
      source: base.source,
      stored: base.storedFields,
    }));
  } else specs = [];
  const problems: string[] = [];
  if (specs.length === 0) problems.push("no documents to get");
  specs.forEach((s, i) => {
    if (!s.index) problems.push(`index is missing for doc ${i}`);
    if (s.id === undefined) problems.push(`id is missing for doc ${i}`);
  });
  if (problems.length) throw validationFailed(...problems);
  const raw = new RawSlots();
  const docs = specs.map((s) => {
    let index: IndexState;
    try {
      index = singleIndex(req.cluster, s.index!);
    } catch (e) {
      if (!(e instanceof OpenSearchError)) throw e;
      return { _index: s.index, _id: s.id, error: (e.toBody() as Json).error };
    }
    const o: ReadOptions = {
      ...base,
      routing: s.routing,
      source: s.source,
      storedFields: s.stored,
    };
    const doc = lookup(index, s.id!, o);
    if (!doc) return { _index: index.name, _id: s.id, found: false };
    return docBody(index, doc, o, raw);
  });
  return { status: 200, text: raw.render({ docs }) };
}
