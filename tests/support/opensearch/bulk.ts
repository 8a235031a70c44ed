/**
 * `_bulk`: NDJSON parsing with OpenSearch's messages for malformed lines, request-level
 * validation (one bad item fails the whole request, as in OpenSearch), per-item execution and
 * results (`_version`, `result`, `status`, `error`), the `errors` flag, and `refresh`.
 * Injected per-item faults (429, mapping errors for chosen ids) are applied here.
 */
import type { ApiReply, ApiRequest } from "./api.ts";
import {
  illegalArgument,
  mapperParsing,
  OpenSearchError,
  rejectedExecution,
  validationFailed,
} from "./errors.ts";
import { parseSourceBody, parseSourceQuery, type SourceFilter } from "./source_filter.ts";
import { stringifyJson } from "./raw_json.ts";
import { type IndexState, refreshShards, waitForRefresh, writeShards } from "./store.ts";
import { toVersion, type Version } from "./versioning.ts";
import {
  executeWrite,
  outcomeBody,
  validateWrite,
  type WriteOutcome,
  type WriteRequest,
} from "./writes.ts";

type Json = Record<string, unknown>;
type WriteOp = WriteRequest["op"];

/** Per-item fault hook: an error to answer for this id instead of executing it. */
export type ItemFault = (id: string | undefined) => "429" | "mapping" | undefined;

const ACTIONS = new Set(["index", "create", "update", "delete"]);
const META = new Set([
  "_index",
  "_id",
  "routing",
  "_routing",
  "version",
  "_version",
  "version_type",
  "_version_type",
  "if_seq_no",
  "if_primary_term",
  "op_type",
  "require_alias",
  "retry_on_conflict",
  "_source",
  "pipeline",
  "dynamic_templates",
  "_type",
]);

function jsonError(line: number, e: unknown): OpenSearchError {
  return new OpenSearchError(
    400,
    "x_content_parse_exception",
    `[${line}:1] Unexpected character in action/metadata line: ${(e as Error).message}`,
  );
}

function tokenName(v: unknown): string {
  if (v === null) return "VALUE_NULL";
  if (Array.isArray(v)) return "START_ARRAY";
  if (typeof v === "string") return "VALUE_STRING";
  if (typeof v === "number") return "VALUE_NUMBER";
  if (typeof v === "boolean") return v ? "VALUE_TRUE" : "VALUE_FALSE";
  return "START_OBJECT";
}

function num(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : Number(v);
}

type Reviver = (this: unknown, key: string, value: unknown) => unknown;

/**
 * The exact text of the number `key` of the action line's metadata object. Only needed when
 * `JSON.parse` rounded it (beyond 2^53): parsing again with a reviver that sees each value's
 * source text, and keeping the one whose holder is the metadata object.
 */
function numberSource(text: string, action: string, key: string): string | undefined {
  const sources = new Map<unknown, string>();
  const reviver = function (
    this: unknown,
    k: string,
    v: unknown,
    context?: { source?: string },
  ): unknown {
    if (k === key && typeof v === "number" && context?.source !== undefined) {
      sources.set(this, context.source);
    }
    return v;
  };
  const parsed = JSON.parse(text, reviver as Reviver) as Json;
  return sources.get(parsed[action]);
}

/** The `version` of an action line, exact beyond 2^53; 400 when it is not a number. */
function metaVersion(text: string, line: number, action: string, m: Json): Version | undefined {
  const key = m.version !== undefined && m.version !== null ? "version" : "_version";
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  const source = typeof v === "number" && !Number.isSafeInteger(v)
    ? numberSource(text, action, key)
    : undefined;
  const version = toVersion(v, source);
  if (version === undefined) {
    throw new OpenSearchError(
      400,
      "x_content_parse_exception",
      `[${line}:1] [${action}] failed to parse field [${key}]: not a number [${String(v)}]`,
    );
  }
  return version;
}

/** Parses the NDJSON body into write requests; throws 400 for a malformed request. */
export function parseBulk(body: string, defaults: {
  index?: string;
  routing?: string;
  requireAlias?: boolean;
  source?: SourceFilter;
}): WriteRequest[] {
  if (body.length > 0 && !body.endsWith("\n")) {
    throw illegalArgument("The bulk request must be terminated by a newline [\\n]");
  }
  const items: WriteRequest[] = [];
  let from = 0, line = 0;
  const nextLine = (): string | undefined => {
    while (from < body.length) {
      const nl = body.indexOf("\n", from);
      const end = nl < 0 ? body.length : nl;
      const text = body.slice(from, end);
      from = end + 1;
      line++;
      // A line starting with `{` (every well-formed one) is not blank: no trim needed.
      if (text.charCodeAt(0) === 123 || text.trim() !== "") return text;
    }
    return undefined;
  };
  for (let text = nextLine(); text !== undefined; text = nextLine()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw jsonError(line, e);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw illegalArgument(
        `Malformed action/metadata line [${line}], expected START_OBJECT or END_OBJECT but found [${
          tokenName(parsed)
        }]`,
      );
    }
    let action: string | undefined;
    for (const k in parsed) {
      action = k;
      break;
    }
    if (action === undefined) {
      throw illegalArgument(
        `Malformed action/metadata line [${line}], expected FIELD_NAME but found [END_OBJECT]`,
      );
    }
    if (!ACTIONS.has(action)) {
      throw illegalArgument(
        `Malformed action/metadata line [${line}], expected field [create], [delete], [index] or [update] but found [${action}]`,
      );
    }
    const meta = (parsed as Json)[action];
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
      throw illegalArgument(
        `Malformed action/metadata line [${line}], expected START_OBJECT but found [${
          tokenName(meta)
        }]`,
      );
    }
    const m = meta as Json;
    for (const k in m) {
      if (!META.has(k)) {
        throw illegalArgument(
          `Action/metadata line [${line}] contains an unknown parameter [${k}]`,
        );
      }
    }
    if (m.pipeline !== undefined && m.pipeline !== "_none") {
      throw illegalArgument(`pipeline with id [${String(m.pipeline)}] does not exist`);
    }
    const op = (action === "index" && m.op_type === "create" ? "create" : action) as WriteOp;
    // Every field set, in one order: requests share one shape, which keeps property access fast.
    const r: WriteRequest = {
      op,
      index: (m._index as string | undefined) ?? defaults.index ?? "",
      id: m._id === undefined || m._id === null ? undefined : String(m._id),
      routing: m.routing !== undefined
        ? String(m.routing)
        : m._routing !== undefined
        ? String(m._routing)
        : defaults.routing,
      version: metaVersion(text, line, action, m),
      versionType: (m.version_type ?? m._version_type) as string | undefined,
      ifSeqNo: num(m.if_seq_no),
      ifPrimaryTerm: num(m.if_primary_term),
      requireAlias: m.require_alias !== undefined
        ? m.require_alias === true || m.require_alias === "true"
        : defaults.requireAlias,
      source: undefined,
      raw: undefined,
      sourceError: undefined,
      update: undefined,
      updateSource: undefined,
    };
    if (action !== "delete") {
      const src = nextLine();
      if (src === undefined) {
        throw illegalArgument(`The bulk request must be terminated by a newline [\\n]`);
      }
      if (action === "update") {
        let u: unknown;
        try {
          u = JSON.parse(src);
        } catch (e) {
          throw jsonError(line, e);
        }
        r.update = u as Json;
        r.updateSource = parseSourceBody(m._source) ?? parseSourceBody((u as Json)._source) ??
          defaults.source;
      } else {
        // Parsed at execution, and only when the text scan against the target's mapping is not
        // enough (see writes.ts): most documents are never parsed at write time.
        r.raw = src;
      }
    }
    items.push(r);
  }
  if (items.length === 0) throw validationFailed("no requests added");
  return items;
}

function injected(kind: "429" | "mapping", r: WriteRequest): WriteOutcome {
  const e = kind === "429" ? rejectedExecution() : mapperParsing(
    `failed to parse field [_emulator_injected] of type [long] in document with id '${r.id}'. ` +
      `Preview of field's value: 'injected'`,
    new OpenSearchError(
      400,
      "illegal_argument_exception",
      "injected by the emulator's fault control",
    ),
  );
  return {
    status: e.status,
    body: { _index: r.index, _id: r.id ?? null, status: e.status, error: e.toItemError() },
  };
}

const FORCED = `,"forced_refresh":true`;

/** POST /_bulk, /{index}/_bulk */
export async function handleBulk(req: ApiRequest, itemFault?: ItemFault): Promise<ApiReply> {
  const started = Date.now();
  const q = req.query;
  const requests = parseBulk(req.body, {
    index: req.params.index,
    routing: q.get("routing") ?? undefined,
    requireAlias: q.get("require_alias") === "true" || q.get("require_alias") === "",
    source: parseSourceQuery(q),
  });
  let problems: string[] | undefined;
  for (const r of requests) {
    const p = validateWrite(r);
    if (p.length) (problems ??= []).push(...p);
  }
  if (problems) throw validationFailed(...problems);
  const pipeline = q.get("pipeline");
  if (pipeline !== null && pipeline !== "_none") {
    throw illegalArgument(`pipeline with id [${pipeline}] does not exist`);
  }
  const refresh = q.get("refresh");
  const forced = refresh === "true" || refresh === "";
  const touched = forced || refresh === "wait_for" ? new Map<IndexState, Set<number>>() : undefined;
  let errors = false;
  // The reply is written as text item by item: no item objects, no JSON.stringify of the lot.
  const items: string[] = new Array(requests.length);
  let lastIndex: IndexState | undefined;
  let indexJson = "", shardsJson = "";
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i];
    const fault = itemFault?.(r.id);
    const res = fault ? injected(fault, r) : executeWrite(req.cluster, r, req.now);
    if (touched && res.index) {
      let shards = touched.get(res.index);
      if (!shards) touched.set(res.index, shards = new Set());
      if (res.shard !== undefined) shards.add(res.shard);
    }
    let item: string;
    const w = res.written;
    if (w && !res.body) {
      const index = res.index!;
      if (index !== lastIndex) {
        lastIndex = index;
        indexJson = JSON.stringify(index.name);
        shardsJson = JSON.stringify(writeShards(index));
      }
      // Same keys, same order as outcomeBody() + status (+ forced_refresh).
      item = `{"${r.op}":{"_index":${indexJson},"_id":${
        JSON.stringify(w.id)
      },"_version":${w.version},"result":"${res.result}","_shards":${shardsJson},"_seq_no":${w.seqNo},"_primary_term":${w.primaryTerm},"status":${res.status}${
        forced ? FORCED : ""
      }}}`;
    } else {
      const body = outcomeBody(res);
      if (body.error) errors = true;
      else {
        body.status = res.status;
        if (forced) body.forced_refresh = true;
      }
      item = `{"${r.op}":${stringifyJson(body)}}`;
    }
    items[i] = item;
  }
  if (touched && forced) {
    for (const [index, shards] of touched) refreshShards(index, shards);
  } else if (touched) {
    await Promise.all([...touched.keys()].map((index) => waitForRefresh(index)));
  }
  return {
    status: 200,
    // One join: a flat string, which the HTTP layer encodes without flattening a rope first.
    text: `{"took":${Date.now() - started},"errors":${errors},"items":[${items.join(",")}]}`,
  };
}
