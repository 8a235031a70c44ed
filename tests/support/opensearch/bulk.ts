/**
 * `_bulk`: NDJSON parsing with OpenSearch's messages for malformed lines, request-level
 * validation (one bad item fails the whole request, as in OpenSearch), per-item execution and
 * results (`_version`, `result`, `status`, `error`), the `errors` flag, and `refresh`.
 * Injected per-item faults (429, mapping errors for chosen ids) are applied here.
 */
import { type ApiReply, type ApiRequest, reply } from "./api.ts";
import {
  illegalArgument,
  mapperParsing,
  OpenSearchError,
  rejectedExecution,
  validationFailed,
} from "./errors.ts";
import { parseSourceBody, parseSourceQuery, type SourceFilter } from "./source_filter.ts";
import { type IndexState, refreshShards, waitForRefresh } from "./store.ts";
import { executeWrite, validateWrite, type WriteOutcome, type WriteRequest } from "./writes.ts";

type Json = Record<string, unknown>;

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

interface Item {
  action: string;
  request: WriteRequest;
}

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

/** Parses the NDJSON body into write requests; throws 400 for a malformed request. */
export function parseBulk(body: string, defaults: {
  index?: string;
  routing?: string;
  requireAlias?: boolean;
  source?: SourceFilter;
}): Item[] {
  if (body.length > 0 && !body.endsWith("\n")) {
    throw illegalArgument("The bulk request must be terminated by a newline [\\n]");
  }
  const items: Item[] = [];
  let from = 0, line = 0;
  const nextLine = (): string | undefined => {
    while (from < body.length) {
      const nl = body.indexOf("\n", from);
      const end = nl < 0 ? body.length : nl;
      const text = body.slice(from, end);
      from = end + 1;
      line++;
      if (text.trim() !== "") return text;
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
    const keys = Object.keys(parsed);
    if (keys.length === 0) {
      throw illegalArgument(
        `Malformed action/metadata line [${line}], expected FIELD_NAME but found [END_OBJECT]`,
      );
    }
    const action = keys[0];
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
    for (const k of Object.keys(m)) {
      if (!META.has(k)) {
        throw illegalArgument(
          `Action/metadata line [${line}] contains an unknown parameter [${k}]`,
        );
      }
    }
    if (m.pipeline !== undefined && m.pipeline !== "_none") {
      throw illegalArgument(`pipeline with id [${String(m.pipeline)}] does not exist`);
    }
    const opType = m.op_type === "create" ? "create" : undefined;
    const r: WriteRequest = {
      op: (action === "index" && opType ? "create" : action) as WriteRequest["op"],
      index: (m._index as string | undefined) ?? defaults.index ?? "",
      id: m._id === undefined || m._id === null ? undefined : String(m._id),
      routing: m.routing !== undefined
        ? String(m.routing)
        : m._routing !== undefined
        ? String(m._routing)
        : defaults.routing,
      version: num(m.version ?? m._version),
      versionType: (m.version_type ?? m._version_type) as string | undefined,
      ifSeqNo: num(m.if_seq_no),
      ifPrimaryTerm: num(m.if_primary_term),
      requireAlias: m.require_alias !== undefined
        ? m.require_alias === true || m.require_alias === "true"
        : defaults.requireAlias,
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
        r.raw = src;
        try {
          const s = JSON.parse(src);
          if (typeof s !== "object" || s === null || Array.isArray(s)) {
            throw new Error("not an object");
          }
          r.source = s;
        } catch (e) {
          r.sourceError = mapperParsing(
            "failed to parse",
            new OpenSearchError(400, "json_parse_exception", (e as Error).message),
          );
        }
      }
    }
    items.push({ action: action === "index" && opType ? "create" : action, request: r });
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

/** POST /_bulk, /{index}/_bulk */
export async function handleBulk(req: ApiRequest, itemFault?: ItemFault): Promise<ApiReply> {
  const started = Date.now();
  const q = req.query;
  const items = parseBulk(req.body, {
    index: req.params.index,
    routing: q.get("routing") ?? undefined,
    requireAlias: q.get("require_alias") === "true" || q.get("require_alias") === "",
    source: parseSourceQuery(q),
  });
  const problems = items.flatMap((i) => validateWrite(i.request));
  if (problems.length) throw validationFailed(...problems);
  const pipeline = q.get("pipeline");
  if (pipeline !== null && pipeline !== "_none") {
    throw illegalArgument(`pipeline with id [${pipeline}] does not exist`);
  }
  const refresh = q.get("refresh");
  const out: Json[] = new Array(items.length);
  const touched = new Map<IndexState, Set<number>>();
  let errors = false;
  for (let i = 0; i < items.length; i++) {
    const { action, request } = items[i];
    const fault = itemFault?.(request.id);
    const res = fault ? injected(fault, request) : executeWrite(req.cluster, request, req.now);
    if (res.index) {
      let shards = touched.get(res.index);
      if (!shards) touched.set(res.index, shards = new Set());
      if (res.shard !== undefined) shards.add(res.shard);
    }
    const body = res.body;
    if (body.error) errors = true;
    else body.status = res.status;
    out[i] = { [action]: body };
  }
  if (refresh === "true" || refresh === "") {
    for (const [index, shards] of touched) refreshShards(index, shards);
    for (const item of out) {
      const body = Object.values(item)[0] as Json;
      if (!body.error) body.forced_refresh = true;
    }
  } else if (refresh === "wait_for") {
    await Promise.all([...touched.keys()].map((index) => waitForRefresh(index)));
  }
  return reply(200, { took: Date.now() - started, errors, items: out });
}
