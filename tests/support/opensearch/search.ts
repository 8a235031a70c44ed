/**
 * `_search`, `_count` and `_delete_by_query` over the searchable (refreshed) documents: query,
 * alias filters, `from`/`size`, `sort`, `search_after`, `_source` filtering, `docvalue_fields`,
 * `stored_fields`, `track_total_hits` and `rest_total_hits_as_int`.
 */
import { type ApiReply, type ApiRequest, flag, intParam, jsonBody } from "./api.ts";
import { illegalArgument, OpenSearchError, parsingError, versionConflict } from "./errors.ts";
import { type FieldInfo, isNumericType } from "./mapping.ts";
import {
  compareHits,
  type Compiled,
  compileQuery,
  isAfter,
  normalise,
  parseSort,
  type QueryContext,
  type SortedHit,
  sortKeys,
  type SortSpec,
  sortValueOut,
  valuesAt,
} from "./query.ts";
import { RawSlots, versionJson } from "./raw_json.ts";
import { type ReadTarget, resolveOptions, resolveRead } from "./resolve.ts";
import {
  filterSource,
  isIdentity,
  parseSourceBody,
  parseSourceQuery,
  pickFilter,
} from "./source_filter.ts";
import {
  type DocRecord,
  dropDoc,
  fields,
  markWritten,
  refreshNow,
  searchView,
  shardCount,
  shardFor,
} from "./store.ts";

type Json = Record<string, unknown>;

const SEARCH_KEYS = new Set([
  "query",
  "size",
  "from",
  "sort",
  "_source",
  "track_total_hits",
  "search_after",
  "stored_fields",
  "docvalue_fields",
  "version",
  "seq_no_primary_term",
  "timeout",
  "track_scores",
  "min_score",
  "post_filter",
  "terminate_after",
  "explain",
]);
const UNSUPPORTED = new Set([
  "aggs",
  "aggregations",
  "highlight",
  "collapse",
  "script_fields",
  "suggest",
  "pit",
  "rescore",
  "fields",
  "runtime_mappings",
  "indices_boost",
  "profile",
  "slice",
  "ext",
]);

function tokenFor(v: unknown): string {
  if (Array.isArray(v)) return "START_ARRAY";
  if (typeof v === "object" && v !== null) return "START_OBJECT";
  if (typeof v === "string") return "VALUE_STRING";
  if (typeof v === "number") return "VALUE_NUMBER";
  if (typeof v === "boolean") return "VALUE_BOOLEAN";
  return "VALUE_NULL";
}

interface Matcher {
  target: ReadTarget;
  ctx: QueryContext;
  query: Compiled;
  filters?: Compiled[];
  postFilter?: Compiled;
}

function matchers(req: ApiRequest, query: unknown, postFilter?: unknown): Matcher[] {
  const targets = resolveRead(req.cluster, req.params.index, resolveOptions(req.query));
  return targets.map((target) => {
    const ctx: QueryContext = {
      indexName: target.index.name,
      fields: fields(target.index),
      now: req.now,
    };
    return {
      target,
      ctx,
      query: compileQuery(ctx, query),
      filters: target.filters?.map((f) => compileQuery(ctx, f)),
      postFilter: postFilter === undefined ? undefined : compileQuery(ctx, postFilter),
    };
  });
}

function* matching(m: Matcher, now: number): Generator<DocRecord> {
  for (const doc of searchView(m.target.index, now).values()) {
    if (m.filters && !m.filters.some((f) => f.matches(doc))) continue;
    if (m.query.matches(doc)) yield doc;
  }
}

function shardsOf(ms: Matcher[]): Json {
  const total = ms.reduce((n, m) => n + shardCount(m.target.index), 0);
  return { total, successful: total, skipped: 0, failed: 0 };
}

function nonNegative(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw illegalArgument(`[${name}] must be a number, found [${String(v)}]`);
  }
  if (n < 0) throw illegalArgument(`[${name}] parameter cannot be negative, found [${n}]`);
  return n;
}

function parseTrackTotalHits(v: unknown): number | boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  const n = Number(v);
  if (!Number.isInteger(n)) {
    throw illegalArgument(`Failed to parse [track_total_hits] value [${String(v)}]`);
  }
  if (n === -1) return true;
  if (n < 0) {
    throw illegalArgument(
      `[track_total_hits] parameter must be positive or equals to -1, got ${n}`,
    );
  }
  return n;
}

function decimalFormat(pattern: string, v: number): string {
  const [intPart, fracPart = ""] = pattern.split(".");
  const minInt = (intPart.match(/0/g) ?? []).length;
  const minFrac = (fracPart.match(/0/g) ?? []).length;
  const maxFrac = minFrac + (fracPart.match(/#/g) ?? []).length;
  let s = v.toFixed(maxFrac);
  if (maxFrac > minFrac) {
    const [i, f] = s.split(".");
    let frac = f.replace(/0+$/, "");
    while (frac.length < minFrac) frac += "0";
    s = frac ? `${i}.${frac}` : i;
  }
  if (minInt === 0 && /^-?0\./.test(s)) s = s.replace(/^(-?)0\./, "$1.");
  return s;
}

function docValue(field: FieldInfo, v: unknown, format: string | undefined): unknown {
  const t = field.type;
  if (t === "date" || t === "date_nanos") {
    const ms = v as number;
    if (format === "epoch_millis") return String(ms);
    return new Date(ms).toISOString();
  }
  if (isNumericType(t) && format && format !== "use_field_mapping") {
    return decimalFormat(format, v as number);
  }
  return v;
}

function docValueFields(
  m: Matcher,
  doc: DocRecord,
  specs: Array<{ field: string; format?: string }>,
): Json | undefined {
  const out: Json = {};
  for (const { field: name, format } of specs) {
    const f = m.ctx.fields.get(name);
    if (!f) continue;
    if ((f.type === "text" || f.type === "match_only_text") && f.def.fielddata !== true) {
      throw illegalArgument(
        `Text fields are not optimised for operations that require per-document field data like aggregations ` +
          `and sorting, so these operations are disabled by default. Please use a keyword field instead. ` +
          `Alternatively, set fielddata=true on [${name}] in order to load field data by uninverting the ` +
          `inverted index. Note that this can use significant memory.`,
      );
    }
    const vals = valuesAt(doc.source, f.sourcePath)
      .map((v) => normalise(f, v))
      .filter((v) => v !== undefined)
      .sort((a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0))
      .map((v) => docValue(f, v, format));
    if (vals.length) out[name] = vals;
  }
  return Object.keys(out).length ? out : undefined;
}

function parseDocValueSpecs(v: unknown): Array<{ field: string; format?: string }> {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : String(v).split(",");
  return list.map((x) =>
    typeof x === "object" && x !== null
      ? { field: String((x as Json).field), format: (x as Json).format as string | undefined }
      : { field: String(x) }
  );
}

function searchFailure(cause: OpenSearchError): OpenSearchError {
  return new OpenSearchError(
    cause.status,
    "search_phase_execution_exception",
    "all shards failed",
    {
      phase: "query",
      grouped: true,
      failed_shards: [],
    },
    cause,
  );
}

/** GET/POST /_search, /{index}/_search */
export function handleSearch(req: ApiRequest): ApiReply {
  const q = req.query;
  const body = jsonBody(req);
  for (const [k, v] of Object.entries(body)) {
    if (UNSUPPORTED.has(k)) {
      throw illegalArgument(`the emulator does not support [${k}] in search requests`);
    }
    if (!SEARCH_KEYS.has(k)) throw parsingError(`Unknown key for a ${tokenFor(v)} in [${k}].`);
  }
  if (q.get("q") !== null) {
    throw illegalArgument("the emulator does not support the [q] query string parameter");
  }
  if (q.get("scroll") !== null) throw illegalArgument("the emulator does not support scroll");
  const from = nonNegative("from", q.get("from") ?? body.from) ?? 0;
  const size = nonNegative("size", q.get("size") ?? body.size) ?? 10;
  const restInt = flag(q, "rest_total_hits_as_int");
  let tth = parseTrackTotalHits(q.get("track_total_hits") ?? body.track_total_hits);
  if (restInt) {
    if (typeof tth === "number") {
      throw illegalArgument(
        `[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got ${tth}`,
      );
    }
    tth ??= true;
  }
  tth ??= 10_000;
  const sort: SortSpec[] = parseSort(
    q.get("sort") !== null ? q.get("sort")!.split(",") : body.sort,
  );
  const sourceFilter = pickFilter(parseSourceQuery(q), parseSourceBody(body._source));
  const storedParam = q.get("stored_fields");
  const stored = storedParam !== null
    ? storedParam.split(",")
    : body.stored_fields === undefined
    ? undefined
    : [body.stored_fields].flat().map(String);
  const dvSpecs = parseDocValueSpecs(q.get("docvalue_fields") ?? body.docvalue_fields);
  const withSeqNo = flag(q, "seq_no_primary_term") || body.seq_no_primary_term === true;
  const withVersion = flag(q, "version") || body.version === true;
  const searchAfter = body.search_after;
  if (
    searchAfter !== undefined && (!Array.isArray(searchAfter) || searchAfter.length !== sort.length)
  ) {
    throw illegalArgument(
      `search_after has ${
        Array.isArray(searchAfter) ? searchAfter.length : 0
      } value(s) but sort has ${sort.length}.`,
    );
  }
  let ms: Matcher[];
  try {
    ms = matchers(req, body.query, body.post_filter);
  } catch (e) {
    if (
      e instanceof OpenSearchError && e.type !== "index_not_found_exception" && e.status === 400 &&
      e.type !== "parsing_exception"
    ) {
      throw searchFailure(e);
    }
    throw e;
  }
  for (const m of ms) {
    const limit = Number(m.target.index.settings["index.max_result_window"] ?? 10_000);
    if (from + size > limit) {
      throw searchFailure(illegalArgument(
        `Result window is too large, from + size must be less than or equal to: [${limit}] but was [${
          from + size
        }]. ` +
          `See the scroll api for a more efficient way to request large data sets. This limit can be set by ` +
          `changing the [index.max_result_window] index level setting.`,
      ));
    }
  }
  const scoring = ms.some((m) => m.query.scoring);
  const hits: Array<SortedHit & { m: Matcher }> = [];
  let seq = 0;
  let total = 0;
  try {
    for (const m of ms) {
      for (const doc of matching(m, req.now)) {
        total++;
        if (m.postFilter && !m.postFilter.matches(doc)) continue;
        const hit = {
          doc,
          index: m.target.index.name,
          score: m.query.scoring ? 1 : 0,
          seq: seq++,
          keys: [] as unknown[],
          m,
        };
        if (sort.length) hit.keys = sortKeys(m.ctx, sort, hit);
        if (searchAfter && !isAfter(sort, hit, searchAfter as unknown[])) continue;
        hits.push(hit);
      }
    }
  } catch (e) {
    if (e instanceof OpenSearchError) throw searchFailure(e);
    throw e;
  }
  if (sort.length) hits.sort((a, b) => compareHits(sort, a, b));
  const page = hits.slice(from, from + size);
  const sortedByScore = sort.length === 0 || sort[0].field === "_score";
  const raw = new RawSlots();
  const hitBodies = page.map((h) => {
    const out: Json = { _index: h.index, _id: h.doc.id };
    if (withVersion) out._version = versionJson(h.doc.version);
    if (withSeqNo) {
      out._seq_no = h.doc.seqNo;
      out._primary_term = h.doc.primaryTerm;
    }
    out._score = sortedByScore || body.track_scores === true ? h.score : null;
    if (h.doc.routing !== undefined) out._routing = h.doc.routing;
    const wantSource = stored ? stored.includes("_source") : true;
    if (wantSource) {
      if (isIdentity(sourceFilter)) out._source = raw.slot(h.doc.raw);
      else {
        const filtered = filterSource(h.doc.source, sourceFilter);
        if (filtered !== undefined) out._source = filtered;
      }
    }
    const dv = dvSpecs.length ? docValueFields(h.m, h.doc, dvSpecs) : undefined;
    if (dv) out.fields = dv;
    if (sort.length) out.sort = h.keys.map((k, i) => sortValueOut(k, sort[i]));
    return out;
  });
  const hitsOut: Json = {};
  if (tth !== false) {
    if (restInt) hitsOut.total = total;
    else if (tth === true || total <= (tth as number)) {
      hitsOut.total = { value: total, relation: "eq" };
    } else hitsOut.total = { value: tth, relation: "gte" };
  } else if (restInt) hitsOut.total = -1;
  hitsOut.max_score = page.length && sortedByScore ? (scoring ? 1 : 0) : null;
  hitsOut.hits = hitBodies;
  return {
    status: 200,
    text: raw.render({ took: 1, timed_out: false, _shards: shardsOf(ms), hits: hitsOut }),
  };
}

/** GET/POST /_count, /{index}/_count */
export function handleCount(req: ApiRequest): ApiReply {
  const body = jsonBody(req);
  for (const k of Object.keys(body)) {
    if (k !== "query") throw parsingError(`request does not support [${k}]`);
  }
  if (req.query.get("q") !== null) {
    throw illegalArgument("the emulator does not support the [q] query string parameter");
  }
  const ms = matchers(req, body.query);
  let count = 0;
  for (const m of ms) for (const _ of matching(m, req.now)) count++;
  return { status: 200, body: { count, _shards: shardsOf(ms) } };
}

/** POST /{index}/_delete_by_query — deletes what a search sees; changed documents conflict. */
export function handleDeleteByQuery(req: ApiRequest): ApiReply {
  const started = Date.now();
  const q = req.query;
  const body = jsonBody(req);
  for (const k of Object.keys(body)) {
    if (k !== "query" && k !== "max_docs" && k !== "size") {
      throw parsingError(`Unknown key for a START_OBJECT in [${k}].`);
    }
  }
  const proceed = q.get("conflicts") === "proceed";
  const maxDocs = intParam(q, "max_docs") ?? (body.max_docs as number | undefined) ?? Infinity;
  const ms = matchers(req, body.query);
  let total = 0, deleted = 0, conflicts = 0;
  const failures: Json[] = [];
  outer: for (const m of ms) {
    const index = m.target.index;
    const snapshot = [...matching(m, req.now)];
    for (const seen of snapshot) {
      if (total >= maxDocs) break outer;
      total++;
      const live = index.docs.get(seen.id);
      if (!live || live.seqNo !== seen.seqNo) {
        conflicts++;
        if (!proceed) {
          const detail = live
            ? `required seqNo [${seen.seqNo}], primary term [1]. current document has seqNo [${live.seqNo}] and primary term [1]`
            : `required seqNo [${seen.seqNo}], primary term [1]. but no document was found`;
          const e = versionConflict(index.name, index.uuid, seen.id, detail);
          failures.push({ index: index.name, id: seen.id, cause: e.toItemError(), status: 409 });
          break outer;
        }
        continue;
      }
      const seqNo = index.nextSeqNo++;
      dropDoc(index, seen.id);
      index.tombstones.set(seen.id, { version: live.version + 1n, seqNo, primaryTerm: 1 });
      markWritten(index, seen.id, req.now, shardFor(index, seen.id, live.routing));
      deleted++;
    }
  }
  if (flag(q, "refresh")) { for (const m of ms) refreshNow(m.target.index); }
  const result = {
    took: Date.now() - started,
    timed_out: false,
    total,
    deleted,
    batches: total > 0 ? Math.ceil(total / 1000) : 0,
    version_conflicts: conflicts,
    noops: 0,
    retries: { bulk: 0, search: 0 },
    throttled_millis: 0,
    requests_per_second: -1.0,
    throttled_until_millis: 0,
    failures,
  };
  if (q.get("wait_for_completion") === "false") {
    return { status: 200, body: { task: `emulator:${started}` } };
  }
  return { status: failures.length ? 409 : 200, body: result };
}
