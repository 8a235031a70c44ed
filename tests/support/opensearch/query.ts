/**
 * Query evaluation over _source: the query DSL subset flusso and the conformance tests use
 * (match_all, match_none, ids, term, terms, match, prefix, wildcard, exists, range, bool,
 * constant_score, nested), with values compared the way the mapped field type indexes them
 * (keyword exact, text analysed, numbers and dates by value). Also sorting and search_after.
 */
import { DEFAULT_DATE_FORMAT, parseDate, resolveDateBound } from "./dates.ts";
import { illegalArgument, OpenSearchError, parsingError } from "./errors.ts";
import { type FieldInfo, isNumericType } from "./mapping.ts";
import { globMatch } from "./names.ts";
import type { DocRecord } from "./store.ts";

/** A compiled query: does a document match, and does it score (not a pure filter)? */
export interface Compiled {
  matches(doc: DocRecord): boolean;
  scoring: boolean;
}

/** What query compilation needs to know about the index. */
export interface QueryContext {
  readonly indexName: string;
  readonly fields: Map<string, FieldInfo>;
  readonly now: number;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every value at a dotted path of a source (arrays flattened; `a.b` keys also honoured). */
export function valuesAt(source: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(source, path.split("."), 0, out);
  return out;
}

function collect(node: unknown, parts: string[], i: number, out: unknown[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const n of node) collect(n, parts, i, out);
    return;
  }
  if (i === parts.length) {
    out.push(node);
    return;
  }
  if (typeof node !== "object") return;
  const obj = node as Json;
  let key = parts[i];
  for (let j = i; j < parts.length; j++) {
    if (j > i) key += `.${parts[j]}`;
    if (key in obj) collect(obj[key], parts, j + 1, out);
  }
}

/** Tokens of `text` under an analyzer (standard: lowercased letter/digit runs). */
export function analyze(text: string, analyzer = "standard"): string[] {
  if (analyzer === "keyword") return [text];
  if (analyzer === "whitespace") return text.split(/\s+/).filter((t) => t);
  return text.toLowerCase().match(/[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu) ?? [];
}

/** A source or query value as the field type indexes it; undefined when it cannot be. */
export function normalise(field: FieldInfo, v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  const t = field.type;
  if (isNumericType(t)) {
    const n = typeof v === "number"
      ? v
      : typeof v === "string" && v.trim() !== ""
      ? Number(v)
      : NaN;
    if (!Number.isFinite(n)) return undefined;
    if (t === "long" || t === "integer" || t === "short" || t === "byte" || t === "unsigned_long") {
      return Math.trunc(n);
    }
    if (t === "float" || t === "half_float") return Math.fround(n);
    if (t === "scaled_float") {
      const f = Number(field.def.scaling_factor ?? 1);
      return Math.round(n * f) / f;
    }
    return n;
  }
  if (t === "date" || t === "date_nanos") {
    return parseDate(
      v,
      typeof field.def.format === "string" ? field.def.format : DEFAULT_DATE_FORMAT,
    );
  }
  if (t === "boolean") {
    return v === true || v === "true"
      ? true
      : v === false || v === "false" || v === ""
      ? false
      : undefined;
  }
  if (typeof v === "object") return undefined;
  const s = String(v);
  if (
    t === "keyword" && typeof field.def.ignore_above === "number" &&
    s.length > field.def.ignore_above
  ) {
    return undefined;
  }
  return s;
}

/** The indexed terms of one document for a field. */
function docTerms(field: FieldInfo, doc: DocRecord): unknown[] {
  const raw = valuesAt(doc.source, field.sourcePath);
  const out: unknown[] = [];
  for (const v of raw) {
    if (field.type === "text" || field.type === "match_only_text") {
      if (v !== null && typeof v !== "object") {
        out.push(...analyze(String(v), field.def.analyzer as string));
      }
      continue;
    }
    const n = normalise(field, v);
    if (n !== undefined) out.push(n);
  }
  return out;
}

function single(q: unknown, name: string): [string, unknown] {
  if (!isObj(q)) throw parsingError(`[${name}] query malformed, no start_object after query name`);
  const entries = Object.entries(q).filter(([k]) => k !== "boost" && k !== "_name");
  if (entries.length !== 1) {
    throw parsingError(
      `[${name}] query doesn't support multiple fields, found [${
        entries.map(([k]) => k).join("] and [")
      }]`,
    );
  }
  return entries[0];
}

const never: Compiled = { matches: () => false, scoring: true };

function virtualField(name: string): FieldInfo | undefined {
  if (name === "_id" || name === "_index" || name === "_routing") {
    return { path: name, type: "keyword", sourcePath: name, def: {} };
  }
  return undefined;
}

function terms(ctx: QueryContext, field: FieldInfo, doc: DocRecord): unknown[] {
  if (field.path === "_id") return [doc.id];
  if (field.path === "_index") return [ctx.indexName];
  if (field.path === "_routing") return doc.routing === undefined ? [] : [doc.routing];
  return docTerms(field, doc);
}

function lookupField(ctx: QueryContext, name: string): FieldInfo | undefined {
  return virtualField(name) ?? ctx.fields.get(name);
}

function queryValue(field: FieldInfo, v: unknown): unknown {
  if (field.type === "text" || field.type === "match_only_text") {
    return typeof v === "object" ? undefined : String(v);
  }
  if (field.type === "date" || field.type === "date_nanos") {
    const format = typeof field.def.format === "string" ? field.def.format : DEFAULT_DATE_FORMAT;
    return resolveDateBound(v, format, false);
  }
  return normalise(field, v);
}

function compileTerm(ctx: QueryContext, q: unknown, kind: string): Compiled {
  const [name, spec] = single(q, kind);
  const value = isObj(spec) ? spec.value : spec;
  const insensitive = isObj(spec) && spec.case_insensitive === true;
  const field = lookupField(ctx, name);
  if (!field) return never;
  const want = queryValue(field, value);
  if (want === undefined) return never;
  const wantLower = typeof want === "string" ? want.toLowerCase() : want;
  return {
    scoring: true,
    matches: (doc) =>
      terms(ctx, field, doc).some((t) =>
        t === want || (insensitive && typeof t === "string" && t.toLowerCase() === wantLower)
      ),
  };
}

function compileTerms(ctx: QueryContext, q: unknown): Compiled {
  if (!isObj(q)) throw parsingError("[terms] query malformed");
  const entries = Object.entries(q).filter(([k]) => k !== "boost" && k !== "_name");
  if (entries.length !== 1) throw parsingError("[terms] query does not support multiple fields");
  const [name, list] = entries[0];
  if (!Array.isArray(list)) {
    throw parsingError(
      `[terms] query does not support [${name}]: terms lookup is not supported by the emulator`,
    );
  }
  const field = lookupField(ctx, name);
  if (!field) return never;
  const wanted = new Set<unknown>(
    list.map((v) => queryValue(field, v)).filter((v) => v !== undefined),
  );
  return { scoring: true, matches: (doc) => terms(ctx, field, doc).some((t) => wanted.has(t)) };
}

function compileMatch(ctx: QueryContext, q: unknown): Compiled {
  const [name, spec] = single(q, "match");
  const query = isObj(spec) ? spec.query : spec;
  const operator = isObj(spec) && String(spec.operator ?? "or").toLowerCase() === "and"
    ? "and"
    : "or";
  const field = lookupField(ctx, name);
  if (!field || query === undefined || query === null) return never;
  if (field.type === "text" || field.type === "match_only_text") {
    const tokens = analyze(
      String(query),
      (field.def.search_analyzer ?? field.def.analyzer) as string,
    );
    if (tokens.length === 0) return never;
    return {
      scoring: true,
      matches: (doc) => {
        const have = new Set(terms(ctx, field, doc));
        return operator === "and"
          ? tokens.every((t) => have.has(t))
          : tokens.some((t) => have.has(t));
      },
    };
  }
  const want = queryValue(field, query);
  if (want === undefined) {
    if (isNumericType(field.type) || field.type === "date" || field.type === "boolean") {
      throw new OpenSearchError(
        400,
        "query_shard_exception",
        `failed to create query: For input string: "${query}"`,
        {
          index: ctx.indexName,
        },
      );
    }
    return never;
  }
  return { scoring: true, matches: (doc) => terms(ctx, field, doc).some((t) => t === want) };
}

function compileExists(ctx: QueryContext, q: unknown): Compiled {
  if (!isObj(q) || typeof q.field !== "string") {
    throw parsingError("[exists] must be provided with a [field]");
  }
  const name = q.field;
  if (name === "_id" || name === "_index") return { scoring: true, matches: () => true };
  const direct = ctx.fields.get(name);
  const under = [...ctx.fields.values()].filter((f) =>
    (f.path === name || f.path.startsWith(`${name}.`) || globMatch(name, f.path)) &&
    f.type !== "object" && f.type !== "nested"
  );
  if (!direct && under.length === 0) return never;
  return {
    scoring: true,
    matches: (doc) => under.some((f) => terms(ctx, f, doc).length > 0),
  };
}

function compileRange(ctx: QueryContext, q: unknown): Compiled {
  const [name, spec] = single(q, "range");
  if (!isObj(spec)) throw parsingError("[range] query malformed, no start_object after query name");
  const field = lookupField(ctx, name);
  if (!field) return never;
  const isDate = field.type === "date" || field.type === "date_nanos";
  const format = typeof spec.format === "string"
    ? spec.format
    : typeof field.def.format === "string"
    ? field.def.format
    : DEFAULT_DATE_FORMAT;
  const bound = (v: unknown, roundUp: boolean) => {
    if (v === undefined || v === null) return undefined;
    const b = isDate ? resolveDateBound(v, format, roundUp, ctx.now) : normalise(field, v);
    if (b === undefined) {
      throw new OpenSearchError(
        400,
        "parse_exception",
        `failed to parse date field [${String(v)}] with format [${format}]`,
      );
    }
    return b;
  };
  const includeLower = spec.include_lower !== false, includeUpper = spec.include_upper !== false;
  const gt = bound(spec.gt ?? (includeLower ? undefined : spec.from), true);
  const gte = bound(spec.gte ?? (includeLower ? spec.from : undefined), false);
  const lt = bound(spec.lt ?? (includeUpper ? undefined : spec.to), false);
  const lte = bound(spec.lte ?? (includeUpper ? spec.to : undefined), true);
  // deno-lint-ignore no-explicit-any
  const inRange = (t: any) =>
    (gt === undefined || t > (gt as number)) && (gte === undefined || t >= (gte as number)) &&
    (lt === undefined || t < (lt as number)) && (lte === undefined || t <= (lte as number));
  return { scoring: true, matches: (doc) => terms(ctx, field, doc).some(inRange) };
}

function compilePrefix(ctx: QueryContext, q: unknown, wildcard: boolean): Compiled {
  const kind = wildcard ? "wildcard" : "prefix";
  const [name, spec] = single(q, kind);
  const value = String(isObj(spec) ? (spec.value ?? spec.wildcard) : spec);
  const insensitive = isObj(spec) && spec.case_insensitive === true;
  const field = lookupField(ctx, name);
  if (!field) return never;
  const want = insensitive ? value.toLowerCase() : value;
  const re = wildcard
    ? new RegExp(
      `^${want.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`,
      "s",
    )
    : undefined;
  return {
    scoring: true,
    matches: (doc) =>
      terms(ctx, field, doc).some((t) => {
        if (typeof t !== "string") return false;
        const s = insensitive ? t.toLowerCase() : t;
        return re ? re.test(s) : s.startsWith(want);
      }),
  };
}

function clauses(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function compileBool(ctx: QueryContext, q: unknown): Compiled {
  if (!isObj(q)) throw parsingError("[bool] query malformed");
  for (const k of Object.keys(q)) {
    if (
      ![
        "must",
        "filter",
        "should",
        "must_not",
        "minimum_should_match",
        "boost",
        "_name",
        "adjust_pure_negative",
      ].includes(k)
    ) {
      throw parsingError(`[bool] query does not support [${k}]`);
    }
  }
  const must = clauses(q.must).map((c) => compileQuery(ctx, c));
  const filter = clauses(q.filter).map((c) => compileQuery(ctx, c));
  const should = clauses(q.should).map((c) => compileQuery(ctx, c));
  const mustNot = clauses(q.must_not).map((c) => compileQuery(ctx, c));
  let msm = must.length + filter.length > 0 ? 0 : should.length > 0 ? 1 : 0;
  if (q.minimum_should_match !== undefined) {
    const s = String(q.minimum_should_match);
    const pct = s.match(/^(-?\d+)%$/);
    const n = pct ? Math.trunc((should.length * Number(pct[1])) / 100) : Number(s);
    msm = n < 0 ? Math.max(0, should.length + n) : n;
  }
  return {
    scoring: must.length > 0 || should.length > 0,
    matches: (doc) => {
      for (const c of must) if (!c.matches(doc)) return false;
      for (const c of filter) if (!c.matches(doc)) return false;
      for (const c of mustNot) if (c.matches(doc)) return false;
      if (msm > 0) {
        let n = 0;
        for (const c of should) if (c.matches(doc) && ++n >= msm) break;
        if (n < msm) return false;
      }
      return true;
    },
  };
}

/** Compiles a query object; throws `parsing_exception` for malformed or unknown queries. */
export function compileQuery(ctx: QueryContext, query: unknown): Compiled {
  if (query === undefined) return { scoring: true, matches: () => true };
  const [kind, spec] = single(query, "query");
  switch (kind) {
    case "match_all":
      return { scoring: true, matches: () => true };
    case "match_none":
      return never;
    case "ids": {
      if (!isObj(spec)) throw parsingError("[ids] query malformed");
      const ids = new Set(clauses(spec.values).map(String));
      return { scoring: true, matches: (doc) => ids.has(doc.id) };
    }
    case "term":
      return compileTerm(ctx, spec, "term");
    case "terms":
      return compileTerms(ctx, spec);
    case "match":
      return compileMatch(ctx, spec);
    case "exists":
      return compileExists(ctx, spec);
    case "range":
      return compileRange(ctx, spec);
    case "prefix":
      return compilePrefix(ctx, spec, false);
    case "wildcard":
      return compilePrefix(ctx, spec, true);
    case "bool":
      return compileBool(ctx, spec);
    case "constant_score": {
      if (!isObj(spec) || spec.filter === undefined) {
        throw parsingError("[constant_score] requires a 'filter' element");
      }
      const inner = compileQuery(ctx, spec.filter);
      return { scoring: true, matches: inner.matches };
    }
    case "nested": {
      if (!isObj(spec) || spec.query === undefined) {
        throw parsingError("[nested] requires 'query' field");
      }
      return compileQuery(ctx, spec.query);
    }
    default:
      throw parsingError(`unknown query [${kind}]`);
  }
}

// ------------------------------------------------------------------------------------ sorting

/** One sort criterion. */
export interface SortSpec {
  field: string;
  order: "asc" | "desc";
  missing: "_last" | "_first" | unknown;
  unmappedType?: string;
}

/** Parses `sort` from a body (string, object or list) or the `sort` query parameter. */
export function parseSort(raw: unknown): SortSpec[] {
  if (raw === undefined || raw === null) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  return items.map((item): SortSpec => {
    if (typeof item === "string") {
      const [field, order] = item.split(":");
      const o = order ?? (field === "_score" ? "desc" : "asc");
      return { field, order: o === "desc" ? "desc" : "asc", missing: "_last" };
    }
    if (!isObj(item)) throw parsingError("[sort] malformed");
    const [field, spec] = Object.entries(item)[0] ?? [];
    if (!field) throw parsingError("[sort] malformed");
    const defaultOrder = field === "_score" ? "desc" : "asc";
    if (typeof spec === "string") {
      return { field, order: spec === "desc" ? "desc" : "asc", missing: "_last" };
    }
    const s = isObj(spec) ? spec : {};
    const order = String(s.order ?? defaultOrder) === "desc" ? "desc" : "asc";
    return {
      field,
      order,
      missing: s.missing ?? "_last",
      unmappedType: typeof s.unmapped_type === "string" ? s.unmapped_type : undefined,
    };
  });
}

/** A document prepared for sorting: its sort values, score and arrival order. */
export interface SortedHit {
  doc: DocRecord;
  index: string;
  score: number;
  seq: number;
  keys: unknown[];
}

const LONG_MAX = 9223372036854775807;

/** Computes each criterion's key for a document; throws for fields that cannot be sorted on. */
export function sortKeys(ctx: QueryContext, specs: SortSpec[], hit: SortedHit): unknown[] {
  return specs.map((s) => {
    if (s.field === "_score") return hit.score;
    if (s.field === "_doc") return hit.seq;
    if (s.field === "_id") return hit.doc.id;
    const field = ctx.fields.get(s.field);
    if (!field) {
      if (s.unmappedType) return null;
      throw new OpenSearchError(
        400,
        "query_shard_exception",
        `No mapping found for [${s.field}] in order to sort on`,
        {
          index: ctx.indexName,
        },
      );
    }
    if (
      (field.type === "text" || field.type === "match_only_text") && field.def.fielddata !== true
    ) {
      throw illegalArgument(
        `Text fields are not optimised for operations that require per-document field data like ` +
          `aggregations and sorting, so these operations are disabled by default. Please use a ` +
          `keyword field instead. Alternatively, set fielddata=true on [${s.field}] in order to ` +
          `load field data by uninverting the inverted index. Note that this can use significant memory.`,
      );
    }
    const vals = docTerms(field, hit.doc).map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
    if (vals.length === 0) return null;
    // deno-lint-ignore no-explicit-any
    return (vals as any[]).reduce((
      a,
      b,
    ) => (s.order === "asc" ? (b < a ? b : a) : (b > a ? b : a)));
  });
}

function compareKey(a: unknown, b: unknown, s: SortSpec): number {
  const aMissing = a === null || a === undefined, bMissing = b === null || b === undefined;
  if (aMissing || bMissing) {
    if (aMissing && bMissing) return 0;
    const first = s.missing === "_first";
    return aMissing ? (first ? -1 : 1) : (first ? 1 : -1);
  }
  // deno-lint-ignore no-explicit-any
  const c = (a as any) < (b as any) ? -1 : (a as any) > (b as any) ? 1 : 0;
  return s.order === "desc" ? -c : c;
}

/** Orders hits by the criteria (then index, then arrival) — stable and total. */
export function compareHits(specs: SortSpec[], a: SortedHit, b: SortedHit): number {
  for (let i = 0; i < specs.length; i++) {
    const c = compareKey(a.keys[i], b.keys[i], specs[i]);
    if (c !== 0) return c;
  }
  return a.seq - b.seq;
}

/** True when `hit` sorts strictly after the `search_after` values. */
export function isAfter(specs: SortSpec[], hit: SortedHit, after: unknown[]): boolean {
  for (let i = 0; i < specs.length; i++) {
    const c = compareKey(hit.keys[i], after[i], specs[i]);
    if (c !== 0) return c > 0;
  }
  return false;
}

/** The value shown in a hit's `sort` array for a key. */
export function sortValueOut(key: unknown, s: SortSpec): unknown {
  if (key !== null && key !== undefined) return key;
  const field = s.field;
  if (field === "_id") return null;
  return s.order === "asc" ? LONG_MAX : -LONG_MAX - 1;
}
