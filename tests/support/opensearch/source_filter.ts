/**
 * `_source` filtering: `_source=false`, include/exclude lists with `*` wildcards over dotted
 * paths, from the query string (`_source`, `_source_includes`, `_source_excludes`) or a body.
 */
import { globMatch } from "./names.ts";

/** What to return of a document's _source. */
export interface SourceFilter {
  fetch: boolean;
  includes: string[];
  excludes: string[];
}

const list = (v: unknown): string[] =>
  v === undefined || v === null
    ? []
    : Array.isArray(v)
    ? v.map(String)
    : String(v).split(",").map((s) => s.trim()).filter((s) => s);

/** Parses a body `_source` value (boolean, string, list or {includes, excludes}). */
export function parseSourceBody(v: unknown): SourceFilter | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return { fetch: v, includes: [], excludes: [] };
  if (typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return {
      fetch: true,
      includes: list(o.includes ?? o.include),
      excludes: list(o.excludes ?? o.exclude),
    };
  }
  return { fetch: true, includes: list(v), excludes: [] };
}

/** Parses `_source`, `_source_includes` and `_source_excludes` query parameters. */
export function parseSourceQuery(q: URLSearchParams): SourceFilter | undefined {
  const s = q.get("_source"), inc = q.get("_source_includes"), exc = q.get("_source_excludes");
  if (s === null && inc === null && exc === null) return undefined;
  if (s === "false") return { fetch: false, includes: [], excludes: [] };
  const includes = s !== null && s !== "true" && s !== "" ? list(s) : list(inc);
  return { fetch: true, includes, excludes: list(exc) };
}

/** The query-string filter when given, else the body's. */
export function pickFilter(
  query: SourceFilter | undefined,
  body: SourceFilter | undefined,
): SourceFilter | undefined {
  return query ?? body;
}

/** True when the filter changes nothing (the raw source can be returned as is). */
export function isIdentity(f: SourceFilter | undefined): boolean {
  return !f || (f.fetch && f.includes.length === 0 && f.excludes.length === 0);
}

function mayContain(pattern: string, path: string): boolean {
  return pattern.includes("*") || pattern.startsWith(`${path}.`);
}

function filterValue(value: unknown, path: string, f: SourceFilter, included: boolean): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      if (v !== null && typeof v === "object") {
        const r = filterValue(v, path, f, included);
        if (r !== undefined) out.push(r);
      } else if (included) out.push(v);
    }
    return out.length || included ? out : undefined;
  }
  if (value !== null && typeof value === "object") {
    const r = filterObject(value as Record<string, unknown>, path, f, included);
    return Object.keys(r).length || included ? r : undefined;
  }
  return included ? value : undefined;
}

function filterObject(
  obj: Record<string, unknown>,
  prefix: string,
  f: SourceFilter,
  parentIncluded: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (f.excludes.some((p) => globMatch(p, path))) continue;
    const included = parentIncluded || f.includes.some((p) => globMatch(p, path));
    if (!included && !f.includes.some((p) => mayContain(p, path))) continue;
    if (!included && (v === null || typeof v !== "object")) continue;
    const r = filterValue(v, path, f, included);
    if (r !== undefined) out[k] = r;
  }
  return out;
}

/** Applies a filter to a parsed _source; undefined when _source is not to be returned. */
export function filterSource(
  source: Record<string, unknown>,
  f: SourceFilter | undefined,
): Record<string, unknown> | undefined {
  if (!f) return source;
  if (!f.fetch) return undefined;
  if (f.includes.length === 0 && f.excludes.length === 0) return source;
  return filterObject(source, "", f, f.includes.length === 0);
}
