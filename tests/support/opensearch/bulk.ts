/**
 * `_bulk`: NDJSON parsing with OpenSearch's messages for malformed lines, request-level
 * validation (one bad item fails the whole request, as in OpenSearch), per-item execution and
 * results (`_version`, `result`, `status`, `error`), the `errors` flag, and `refresh`.
 * Injected per-item faults (429, mapping errors for chosen ids) are applied here.
 */
import { entryRouting } from "./routing.ts";
import type { ApiReply, ApiRequest } from "./api.ts";
import {
  illegalArgument,
  mapperParsing,
  OpenSearchError,
  rejectedExecution,
  validationFailed,
} from "./errors.ts";
import { parseSourceBody, parseSourceQuery, type SourceFilter } from "./source_filter.ts";
import {
  childPatterns,
  FilterTemplate,
  filterValue,
  Hole,
  keepsWhole,
  parseFilterPath,
} from "./filter_path.ts";
import { stringifyJson } from "./raw_json.ts";
import { type IndexState, refreshShards, waitForRefresh, writeShards } from "./store.ts";
import { toVersion, type Version } from "./versioning.ts";
import {
  type BulkText,
  executeWrite,
  outcomeBody,
  validateWrite,
  type WriteOutcome,
  type WriteRequest,
  type Written,
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

/** What the fast action-line reader understands; any other key sends the line to JSON.parse. */
const enum Key {
  Index = 1,
  Id = 2,
  Routing = 4,
  Version = 8,
  VersionType = 16,
  IfSeqNo = 32,
  IfPrimaryTerm = 64,
}

/** The keys the fast reader knows, most frequent first. */
const FAST_KEYS: readonly (readonly [string, Key])[] = [
  ["_index", Key.Index],
  ["_id", Key.Id],
  ["version", Key.Version],
  ["version_type", Key.VersionType],
  ["routing", Key.Routing],
  ["if_seq_no", Key.IfSeqNo],
  ["if_primary_term", Key.IfPrimaryTerm],
];

/** The key whose name is exactly body[start, end), if the fast reader knows it. */
function fastKey(body: string, start: number, end: number): Key | undefined {
  const length = end - start;
  for (const [name, key] of FAST_KEYS) {
    if (name.length === length && body.startsWith(name, start)) return key;
  }
  return undefined;
}

/**
 * Values that repeat from line to line (the index, the version type, a batch's version) are
 * taken from the previous line when the text is the same: no new string or bigint per line,
 * and the index name keeps its computed hash for the lookups that follow.
 */
const recent = {
  index: "",
  versionType: "",
  versionText: "",
  version: 0n,
};

/** body[start, end) as a string, reusing `last` when it has the same text. */
function sameOr(body: string, start: number, end: number, last: string): string {
  return last.length === end - start && body.startsWith(last, start)
    ? last
    : body.slice(start, end);
}

/** The action names the fast reader accepts, by the text after `{"`. */
const FAST_ACTIONS = ["index", "create", "delete"] as const;

/**
 * The end of a plain JSON string whose opening quote is at `at` (the index after the closing
 * quote), or -1 when it has an escape or a control character (JSON.parse decides those).
 */
function plainStringEnd(body: string, at: number, end: number): number {
  for (let i = at + 1; i < end; i++) {
    const c = body.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32 || c === 92) return -1;
  }
  return -1;
}

/** The end of an unsigned JSON integer at `at` (no leading zeros), or -1. */
function digitsEnd(body: string, at: number, end: number): number {
  let i = at;
  const first = body.charCodeAt(i);
  if (first === 48) return i + 1 < end && isDigit(body.charCodeAt(i + 1)) ? -1 : i + 1;
  while (i < end && isDigit(body.charCodeAt(i))) i++;
  return i === at ? -1 : i;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The write request of a compact action line such as flusso and the clients write it —
 * `{"index":{"_index":"i","_id":"1","version":5,"version_type":"external_gte"}}` — read
 * without `JSON.parse`; undefined for anything else (other keys, whitespace, escapes, numbers
 * that are not plain unsigned integers, repeated keys), which the general path then reads.
 * What it returns is what the general path makes of the same line.
 */
function fastAction(
  body: string,
  start: number,
  end: number,
  defaults: BulkDefaults,
  shapes: ActionShape[],
): WriteRequest | undefined {
  if (body.charCodeAt(start) !== 123 || body.charCodeAt(start + 1) !== 34) return undefined;
  let op: WriteOp | undefined;
  let i = start + 2;
  for (const name of FAST_ACTIONS) {
    if (body.startsWith(name, i) && body.startsWith('":{', i + name.length)) {
      op = name;
      i += name.length + 3;
      break;
    }
  }
  if (op === undefined) return undefined;
  let seen = 0;
  let index: string | undefined, id: string | undefined, routing: string | undefined;
  let version: Version | undefined, versionType: string | undefined;
  let ifSeqNo: number | undefined, ifPrimaryTerm: number | undefined;
  // Where the id's text and the version's digits are, for the line's shape.
  let idAt = -1, idEnd = -1, versionAt = -1, versionEnd = -1;
  for (;;) {
    if (body.charCodeAt(i) !== 34) return undefined;
    const keyEnd = body.indexOf('"', i + 1);
    if (keyEnd < 0 || keyEnd >= end || body.charCodeAt(keyEnd + 1) !== 58) return undefined;
    const key = fastKey(body, i + 1, keyEnd);
    if (key === undefined || (seen & key) !== 0) return undefined;
    seen |= key;
    const at = keyEnd + 2;
    let next: number;
    if (key === Key.Version || key === Key.IfSeqNo || key === Key.IfPrimaryTerm) {
      next = digitsEnd(body, at, end);
      if (next < 0) return undefined;
      if (key === Key.Version) {
        const digits = sameOr(body, at, next, recent.versionText);
        if (digits !== recent.versionText) {
          recent.versionText = digits;
          recent.version = BigInt(digits);
        }
        version = recent.version;
        versionAt = at;
        versionEnd = next;
      } else if (key === Key.IfSeqNo) ifSeqNo = Number(body.slice(at, next));
      else ifPrimaryTerm = Number(body.slice(at, next));
    } else {
      if (body.charCodeAt(at) !== 34) return undefined;
      next = plainStringEnd(body, at, end);
      if (next < 0) return undefined;
      if (key === Key.Index) index = recent.index = sameOr(body, at + 1, next - 1, recent.index);
      else if (key === Key.Id) {
        id = body.slice(at + 1, next - 1);
        idAt = at;
        idEnd = next;
      } else if (key === Key.Routing) routing = body.slice(at + 1, next - 1);
      else {
        versionType = recent.versionType = sameOr(body, at + 1, next - 1, recent.versionType);
      }
    }
    const c = body.charCodeAt(next);
    if (c === 44) {
      i = next + 1;
      continue;
    }
    // `}}` and the end of the line.
    if (c !== 125 || body.charCodeAt(next + 1) !== 125 || next + 2 !== end) return undefined;
    break;
  }
  const r = request(
    op,
    index ?? defaults.index ?? "",
    id,
    routing ?? defaults.routing,
    version,
    versionType,
    ifSeqNo,
    ifPrimaryTerm,
    defaults.requireAlias,
  );
  // The version's key right after the id: lines like this one can be read by their shape.
  if (idAt >= 0 && versionAt >= 0 && versionAt > idEnd && versionAt - idEnd < 16) {
    const head = body.slice(start, idAt + 1);
    const mid = body.slice(idEnd - 1, versionAt);
    const tail = body.slice(versionEnd, end);
    shapes.unshift({ head, mid, tail, template: r, regex: actionRegex(head, mid, tail) });
    if (shapes.length > 2) shapes.pop();
  }
  return r;
}

/** A write request with every field set, in one order (one object shape for all of them). */
function request(
  op: WriteOp,
  index: string,
  id: string | undefined,
  routing: string | undefined,
  version: Version | undefined,
  versionType: string | undefined,
  ifSeqNo: number | undefined,
  ifPrimaryTerm: number | undefined,
  requireAlias: boolean | undefined,
): WriteRequest {
  return {
    op,
    index,
    id,
    routing,
    version,
    versionType,
    ifSeqNo,
    ifPrimaryTerm,
    requireAlias,
    // The payload, set once the document line is read. Spelled out rather than spread from a
    // constant: a spread copies property by property (≈ 4 % of the emulator's `_bulk` ticks).
    source: undefined,
    raw: undefined,
    rawIn: undefined,
    rawAt: undefined,
    sourceError: undefined,
    update: undefined,
    updateSource: undefined,
  };
}

/**
 * The text of an action line around its id and version, e.g.
 * `{"index":{"_index":"items","_id":"` + id + `","version":` + digits + `,"version_type":...}}`,
 * remembered from a line the fast reader read. A line with the same text around a plain id and
 * an unsigned integer is the same request with that id and version: it is read with three
 * comparisons instead of key by key.
 */
interface ActionShape {
  /** Through the id's opening quote. */
  readonly head: string;
  /** From the id's closing quote to the version's first digit. */
  readonly mid: string;
  /** After the version's digits, to the end of the line. */
  readonly tail: string;
  /** What the fast reader made of the line. */
  readonly template: WriteRequest;
  /** head, a plain id, mid, an unsigned integer, tail, as one sticky regular expression. */
  readonly regex: RegExp;
}

/** Shape regular expressions by source: every request of a client repeats the same shapes. */
const shapeRegexes = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function actionRegex(head: string, mid: string, tail: string): RegExp {
  // The id as plainStringEnd reads it, the version as digitsEnd does.
  const source = `${escapeRegExp(head)}([^"\\\\\\x00-\\x1f]*)${escapeRegExp(mid)}(0|[1-9]\\d*)${
    escapeRegExp(tail)
  }`;
  let regex = shapeRegexes.get(source);
  if (!regex) {
    if (shapeRegexes.size > 256) shapeRegexes.clear();
    shapeRegexes.set(source, regex = new RegExp(source, "y"));
  }
  return regex;
}

/** The request of the line at body[start, end) if it has `shape`, else undefined. */
function byShape(
  body: string,
  start: number,
  end: number,
  shape: ActionShape,
): WriteRequest | undefined {
  const regex = shape.regex;
  regex.lastIndex = start;
  const m = regex.exec(body);
  if (m === null || regex.lastIndex !== end) return undefined;
  const digits = m[2];
  if (digits !== recent.versionText) {
    recent.versionText = digits;
    recent.version = BigInt(digits);
  }
  const t = shape.template;
  return request(
    t.op,
    t.index,
    m[1],
    t.routing,
    recent.version,
    t.versionType,
    t.ifSeqNo,
    t.ifPrimaryTerm,
    t.requireAlias,
  );
}

/** Request-wide defaults of `_bulk` items (path index and query parameters). */
interface BulkDefaults {
  index?: string;
  routing?: string;
  requireAlias?: boolean;
  source?: SourceFilter;
}

/** Parses the NDJSON body into write requests; throws 400 for a malformed request. */
export function parseBulk(body: string, defaults: BulkDefaults): WriteRequest[] {
  if (body.length > 0 && !body.endsWith("\n")) {
    throw illegalArgument("The bulk request must be terminated by a newline [\\n]");
  }
  const items: WriteRequest[] = [];
  const text: BulkText = { text: body };
  // The current line is body[start, end); lines are read in place, sliced only when kept.
  let from = 0, line = 0, start = 0, end = 0;
  const nextLine = (): boolean => {
    while (from < body.length) {
      const nl = body.indexOf("\n", from);
      start = from;
      end = nl < 0 ? body.length : nl;
      from = end + 1;
      line++;
      // A line starting with `{` (every well-formed one) is not blank: no trim needed.
      if (body.charCodeAt(start) === 123 || body.slice(start, end).trim() !== "") return true;
    }
    return false;
  };
  // The action line's `_source` (update only: read after the update body, as OpenSearch does).
  const meta: { source?: unknown } = {};
  // Shapes of this request's lines (its defaults are part of what a shape stands for).
  const shapes: ActionShape[] = [];
  while (nextLine()) {
    meta.source = undefined;
    let r: WriteRequest | undefined;
    for (let k = 0; k < shapes.length && r === undefined; k++) {
      r = byShape(body, start, end, shapes[k]);
    }
    r ??= fastAction(body, start, end, defaults, shapes) ??
      parseAction(body.slice(start, end), line, defaults, meta);
    if (r.op !== "delete") {
      if (!nextLine()) {
        throw illegalArgument(`The bulk request must be terminated by a newline [\\n]`);
      }
      if (r.op === "update") {
        let u: unknown;
        try {
          u = JSON.parse(body.slice(start, end));
        } catch (e) {
          throw jsonError(line, e);
        }
        r.update = u as Json;
        r.updateSource = parseSourceBody(meta.source) ?? parseSourceBody((u as Json)._source) ??
          defaults.source;
      } else {
        // Parsed at execution, and only when the text scan against the target's mapping is not
        // enough (see writes.ts): most documents are never parsed at write time.
        r.raw = body.slice(start, end);
        r.rawIn = text;
        r.rawAt = start;
      }
    }
    items.push(r);
  }
  if (items.length === 0) throw validationFailed("no requests added");
  return items;
}

/** One action line read by `JSON.parse`, with OpenSearch's messages for malformed ones. */
function parseAction(
  text: string,
  line: number,
  defaults: BulkDefaults,
  meta: { source?: unknown },
): WriteRequest {
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
  const m = (parsed as Json)[action] as Json;
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    throw illegalArgument(
      `Malformed action/metadata line [${line}], expected START_OBJECT but found [${tokenName(m)}]`,
    );
  }
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
  meta.source = m._source;
  // Every field set, in one order: requests share one shape, which keeps property access fast.
  return request(
    op,
    (m._index as string | undefined) ?? defaults.index ?? "",
    m._id === undefined || m._id === null ? undefined : String(m._id),
    entryRouting(m, defaults.routing),
    metaVersion(text, line, action, m),
    (m.version_type ?? m._version_type) as string | undefined,
    num(m.if_seq_no),
    num(m.if_primary_term),
    m.require_alias !== undefined
      ? m.require_alias === true || m.require_alias === "true"
      : defaults.requireAlias,
  );
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

/**
 * How a `_bulk` reply is written under one `filter_path` (no filter: everything). The success
 * item of each action is a `FilterTemplate`, so filtering costs nothing per item; other items
 * (errors, updates) are filtered as objects.
 */
interface ReplyPlan {
  took: boolean;
  errors: boolean;
  /** The patterns each item is filtered with; undefined when no item is kept. */
  items: string[][] | undefined;
  /** True when items are kept whole. */
  itemsWhole: boolean;
  /** Success item templates by action and `forced_refresh`. */
  templates: Map<string, SuccessItem>;
}

/** How one action's success items are written. */
interface SuccessItem {
  readonly template: FilterTemplate;
  /**
   * Items whose surviving holes are only `status` and `result` (flusso's filter keeps just the
   * status): their text by status and result, written once and shared by every such item.
   */
  readonly byOutcome: Map<number, { readonly result: string; readonly text: string }> | undefined;
}

/** Holes of the success item template, in reply order. */
const enum H {
  Index,
  Id,
  Version,
  Result,
  ShardsTotal,
  ShardsSuccessful,
  ShardsFailed,
  SeqNo,
  PrimaryTerm,
  Status,
}

function replyPlan(patterns: string[][]): ReplyPlan {
  const scalarKept = (key: string) => keepsWhole(childPatterns(patterns, key));
  const whole = keepsWhole(patterns);
  const items = whole ? patterns : childPatterns(patterns, "items");
  return {
    took: whole || scalarKept("took"),
    errors: whole || scalarKept("errors"),
    items: items.length === 0 ? undefined : items,
    itemsWhole: keepsWhole(items),
    templates: new Map(),
  };
}

function successItem(plan: ReplyPlan, op: string, forced: boolean): SuccessItem {
  const key = forced ? `${op}!` : op;
  let t = plan.templates.get(key);
  if (!t) {
    // Same keys, same order as outcomeBody() + status (+ forced_refresh).
    const item: Json = {
      _index: new Hole(H.Index),
      _id: new Hole(H.Id),
      _version: new Hole(H.Version),
      result: new Hole(H.Result),
      _shards: {
        total: new Hole(H.ShardsTotal),
        successful: new Hole(H.ShardsSuccessful),
        failed: new Hole(H.ShardsFailed),
      },
      _seq_no: new Hole(H.SeqNo),
      _primary_term: new Hole(H.PrimaryTerm),
      status: new Hole(H.Status),
    };
    if (forced) item.forced_refresh = true;
    const template = new FilterTemplate({ [op]: item }, plan.items!);
    const byOutcome = template.holes.every((h) => h === H.Status || h === H.Result)
      ? new Map<number, { result: string; text: string }>()
      : undefined;
    plan.templates.set(key, t = { template, byOutcome });
  }
  return t;
}

/** Plans by `filter_path` text: a client sends the same one with every request. */
const plans = new Map<string, ReplyPlan>();
const NO_FILTER = "\u0000none";

function planFor(raw: string | null): ReplyPlan {
  const key = raw ?? NO_FILTER;
  let plan = plans.get(key);
  if (!plan) {
    if (plans.size > 64) plans.clear();
    plans.set(key, plan = replyPlan(parseFilterPath(raw) ?? [[]]));
  }
  return plan;
}

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
  // The reply is written as text item by item, already filtered by `filter_path` (the HTTP
  // layer would otherwise parse it again to filter it): no item objects for successes.
  const plan = planFor(q.get("filter_path"));
  let errors = false;
  const items: string[] = [];
  let lastIndex: IndexState | undefined;
  let indexJson = "";
  let shardsOf = { total: 0, successful: 0, failed: 0 };
  let r: WriteRequest, w: Written, res: WriteOutcome;
  const hole = (h: number): string => {
    switch (h) {
      case H.Index:
        return indexJson;
      case H.Id:
        return JSON.stringify(w.id);
      case H.Version:
        return String(w.version);
      case H.Result:
        return `"${res.result}"`;
      case H.ShardsTotal:
        return String(shardsOf.total);
      case H.ShardsSuccessful:
        return String(shardsOf.successful);
      case H.ShardsFailed:
        return String(shardsOf.failed);
      case H.SeqNo:
        return String(w.seqNo);
      case H.PrimaryTerm:
        return String(w.primaryTerm);
      default:
        return String(res.status);
    }
  };
  for (let i = 0; i < requests.length; i++) {
    r = requests[i];
    const fault = itemFault?.(r.id);
    res = fault ? injected(fault, r) : executeWrite(req.cluster, r, req.now);
    if (touched && res.index) {
      let touchedShards = touched.get(res.index);
      if (!touchedShards) touched.set(res.index, touchedShards = new Set());
      if (res.shard !== undefined) touchedShards.add(res.shard);
    }
    let item: string | undefined;
    if (res.written && !res.body) {
      w = res.written;
      if (!plan.items) continue;
      const index = res.index!;
      if (index !== lastIndex) {
        lastIndex = index;
        indexJson = JSON.stringify(index.name);
        shardsOf = writeShards(index);
      }
      const success = successItem(plan, r.op, forced);
      if (!success.template.kept) continue;
      if (success.byOutcome) {
        let known = success.byOutcome.get(res.status);
        if (known === undefined || known.result !== res.result) {
          known = { result: res.result!, text: success.template.render(hole) };
          success.byOutcome.set(res.status, known);
        }
        item = known.text;
      } else item = success.template.render(hole);
    } else {
      const body = outcomeBody(res);
      if (body.error) errors = true;
      else {
        body.status = res.status;
        if (forced) body.forced_refresh = true;
      }
      if (!plan.items) continue;
      if (plan.itemsWhole) item = `{"${r.op}":${stringifyJson(body)}}`;
      else {
        const kept = filterValue({ [r.op]: body }, plan.items);
        if (kept !== undefined) item = stringifyJson(kept);
      }
    }
    if (item !== undefined) items.push(item);
  }
  if (touched && forced) {
    for (const [index, touchedShards] of touched) refreshShards(index, touchedShards);
  } else if (touched) {
    await Promise.all([...touched.keys()].map((index) => waitForRefresh(index)));
  }
  const parts: string[] = [];
  if (plan.took) parts.push(`"took":${Date.now() - started}`);
  if (plan.errors) parts.push(`"errors":${errors}`);
  if (items.length > 0) parts.push(`"items":[${items.join(",")}]`);
  return { status: 200, text: `{${parts.join(",")}}`, filtered: true };
}
