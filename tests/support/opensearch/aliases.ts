/**
 * Aliases: `_aliases` actions (add / remove / remove_index, applied atomically — all or none),
 * put/get/exists/delete alias, alias metadata (filter, routing, is_write_index, is_hidden) and
 * the one-write-index-per-alias rule.
 */
import { type ApiReply, type ApiRequest, jsonBody, reply } from "./api.ts";
import { illegalArgument, indexNotFound, OpenSearchError, validationFailed } from "./errors.ts";
import { globMatch, validateAliasName } from "./names.ts";
import { isAll, resolveIndices, resolveOptions } from "./resolve.ts";
import type { AliasMeta, Cluster, IndexState } from "./store.ts";

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const META_KEYS = [
  "filter",
  "routing",
  "index_routing",
  "search_routing",
  "is_write_index",
  "is_hidden",
];

/** Parses alias metadata; `extra` lists further keys the caller accepts (index, alias, ...). */
function parseMeta(raw: unknown, extra: string[] = []): AliasMeta {
  if (raw === undefined || raw === null) return {};
  if (!isObj(raw)) {
    throw new OpenSearchError(400, "parse_exception", "alias definition must be an object");
  }
  for (const k of Object.keys(raw)) {
    if (!META_KEYS.includes(k) && !extra.includes(k)) {
      throw new OpenSearchError(
        400,
        "x_content_parse_exception",
        `[1:2] [alias] unknown field [${k}]`,
      );
    }
  }
  const meta: AliasMeta = {};
  if (raw.filter !== undefined && raw.filter !== null) {
    if (!isObj(raw.filter)) {
      throw new OpenSearchError(400, "parsing_exception", "[filter] must be an object");
    }
    meta.filter = raw.filter;
  }
  const routing = raw.routing === undefined || raw.routing === null
    ? undefined
    : String(raw.routing);
  const ir = raw.index_routing ?? routing;
  const sr = raw.search_routing ?? routing;
  if (ir !== undefined && ir !== null) meta.index_routing = String(ir);
  if (sr !== undefined && sr !== null) meta.search_routing = String(sr);
  if (typeof raw.is_write_index === "boolean") meta.is_write_index = raw.is_write_index;
  if (raw.is_hidden === true) meta.is_hidden = true;
  return meta;
}

/** The `aliases` object of an index as OpenSearch shows it. */
export function aliasView(
  index: IndexState,
  names?: (a: string) => boolean,
): Record<string, AliasMeta> {
  const out: Record<string, AliasMeta> = {};
  for (const [name, meta] of [...index.aliases.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!names || names(name)) out[name] = meta;
  }
  return out;
}

function checkAliasName(cluster: Cluster, name: string, pending?: Set<string>): void {
  validateAliasName(name);
  if (cluster.indices.has(name) && !pending?.has(name)) {
    throw new OpenSearchError(
      400,
      "invalid_alias_name_exception",
      `Invalid alias name [${name}]: an index or data stream exists with the same name as the alias`,
      { index_uuid: "_na_", index: name },
    );
  }
}

/** The aliases of a create-index body, validated against the cluster. */
export function aliasesFromBody(
  cluster: Cluster,
  _index: IndexState,
  raw: unknown,
): Map<string, AliasMeta> {
  const out = new Map<string, AliasMeta>();
  if (raw === undefined || raw === null) return out;
  if (!isObj(raw)) throw new OpenSearchError(400, "parse_exception", "aliases must be an object");
  for (const [name, def] of Object.entries(raw)) {
    checkAliasName(cluster, name);
    out.set(name, parseMeta(def));
  }
  checkWriteIndexes(cluster, new Map([[_index.name, out]]));
  return out;
}

/** Fails when an alias would end up with more than one write index. */
function checkWriteIndexes(cluster: Cluster, override: Map<string, Map<string, AliasMeta>>): void {
  const writers = new Map<string, string[]>();
  const all = new Map<string, Map<string, AliasMeta>>();
  for (const index of cluster.indices.values()) all.set(index.name, index.aliases);
  for (const [name, aliases] of override) all.set(name, aliases);
  for (const [indexName, aliases] of all) {
    for (const [alias, meta] of aliases) {
      if (meta.is_write_index === true) {
        writers.set(alias, [...(writers.get(alias) ?? []), indexName]);
      }
    }
  }
  for (const [alias, list] of writers) {
    if (list.length > 1) {
      throw new OpenSearchError(
        500,
        "illegal_state_exception",
        `alias [${alias}] has more than one write index [${list.sort().join(",")}]`,
      );
    }
  }
}

function names(
  plural: unknown,
  single: unknown,
  pluralName: string,
  singleName: string,
): string[] | undefined {
  if (plural !== undefined && single !== undefined) {
    throw illegalArgument(`[${singleName}] and [${pluralName}] are mutually exclusive`);
  }
  const raw = plural ?? single;
  if (raw === undefined || raw === null) return undefined;
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(",");
  if (list.length === 0) throw illegalArgument(`[${pluralName}] can't be empty`);
  return list;
}

/** POST /_aliases */
export function handleUpdateAliases(req: ApiRequest): ApiReply {
  const cluster = req.cluster;
  const body = jsonBody(req);
  if (!Array.isArray(body.actions)) throw validationFailed("At least one action is required");
  const work = new Map<string, Map<string, AliasMeta>>();
  const removed = new Set<string>();
  const aliasesOf = (index: IndexState) => {
    let m = work.get(index.name);
    if (!m) work.set(index.name, m = new Map(index.aliases));
    return m;
  };
  const targetsOf = (spec: Json, kind: string): IndexState[] => {
    const list = names(spec.indices, spec.index, "indices", "index");
    if (!list) throw validationFailed(`One of [index] or [indices] is required`);
    const out: IndexState[] = [];
    for (const expr of list) {
      if (
        kind === "remove_index" && !expr.includes("*") && !cluster.indices.has(expr) &&
        cluster.isAlias(expr)
      ) {
        throw illegalArgument(
          `The provided expression [${expr}] matches an alias, specify the corresponding concrete indices instead.`,
        );
      }
      const found = resolveIndices(cluster, expr, {}).filter((i) => !removed.has(i.name));
      if (found.length === 0) throw indexNotFound(expr);
      out.push(...found);
    }
    return out;
  };
  for (const action of body.actions) {
    if (!isObj(action) || Object.keys(action).length !== 1) {
      throw new OpenSearchError(400, "parsing_exception", "Expected exactly one action per entry");
    }
    const [kind, spec] = Object.entries(action)[0];
    if (!isObj(spec)) {
      throw new OpenSearchError(400, "parsing_exception", `[${kind}] must be an object`);
    }
    if (kind === "remove_index") {
      for (const index of targetsOf(spec, kind)) removed.add(index.name);
      continue;
    }
    if (kind !== "add" && kind !== "remove") {
      throw new OpenSearchError(400, "parsing_exception", `Unknown action [${kind}]`);
    }
    const aliasList = names(spec.aliases, spec.alias, "aliases", "alias");
    if (!aliasList) throw validationFailed(`One of [alias] or [aliases] is required`);
    const indices = targetsOf(spec, kind);
    if (kind === "add") {
      const meta = parseMeta(
        Object.fromEntries(Object.entries(spec).filter(([k]) => META_KEYS.includes(k))),
      );
      for (const alias of aliasList) {
        checkAliasName(cluster, alias, removed);
        for (const index of indices) aliasesOf(index).set(alias, { ...meta });
      }
      continue;
    }
    const mustExist = spec.must_exist as boolean | undefined;
    const missing: string[] = [];
    for (const alias of aliasList) {
      let hit = false;
      for (const index of indices) {
        const m = aliasesOf(index);
        for (const a of [...m.keys()]) {
          if (globMatch(alias, a) || alias === "_all") {
            m.delete(a);
            hit = true;
          }
        }
      }
      if (!hit) missing.push(alias);
    }
    if (
      (mustExist === true && missing.length) ||
      (mustExist === undefined && missing.length === aliasList.length)
    ) {
      throw aliasesMissing(missing);
    }
  }
  for (const name of removed) work.delete(name);
  const finalMaps = new Map(work);
  for (const name of removed) finalMaps.set(name, new Map());
  checkWriteIndexes(cluster, finalMaps);
  for (const name of removed) cluster.indices.delete(name);
  for (const [name, m] of work) {
    const index = cluster.indices.get(name);
    if (index) index.aliases = m;
  }
  return reply(200, { acknowledged: true });
}

function aliasesMissing(list: string[]): OpenSearchError {
  return new OpenSearchError(
    404,
    "aliases_not_found_exception",
    `aliases [${list.join(",")}] missing`,
    {
      "resource.type": "aliases",
      "resource.id": list.join(","),
    },
  );
}

/** PUT /{index}/_alias/{name} (and the body-only variants). */
export function handlePutAlias(req: ApiRequest): ApiReply {
  const body = jsonBody(req);
  const indexExpr = (body.index as string | undefined) ?? req.params.index;
  const alias = (body.alias as string | undefined) ?? req.params.name;
  const problems: string[] = [];
  if (!indexExpr) problems.push("[index] is missing");
  if (!alias) problems.push("[alias] is missing");
  if (problems.length) throw validationFailed(...problems);
  const meta = parseMeta(body, ["index", "alias"]);
  checkAliasName(req.cluster, alias!);
  const indices = resolveIndices(req.cluster, indexExpr, {});
  if (indices.length === 0) throw indexNotFound(indexExpr!);
  const override = new Map<string, Map<string, AliasMeta>>();
  for (const index of indices) override.set(index.name, new Map(index.aliases).set(alias!, meta));
  checkWriteIndexes(req.cluster, override);
  for (const index of indices) index.aliases = override.get(index.name)!;
  return reply(200, { acknowledged: true });
}

function namePredicate(expr: string | undefined): ((a: string) => boolean) | undefined {
  if (isAll(expr)) return undefined;
  const pats = expr!.split(",");
  return (a) => pats.some((p) => p === "_all" || globMatch(p, a));
}

/** GET /_alias[/{name}], /{index}/_alias[/{name}] — 404 naming the aliases that matched nothing. */
export function handleGetAlias(req: ApiRequest): ApiReply {
  const nameExpr = req.params.name;
  const match = namePredicate(nameExpr);
  const indices = resolveIndices(req.cluster, req.params.index, resolveOptions(req.query));
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const index of indices) {
    const view = aliasView(index, match);
    Object.keys(view).forEach((a) => seen.add(a));
    if (match && Object.keys(view).length === 0) continue;
    out[index.name] = { aliases: view };
  }
  if (match) {
    const missing = nameExpr!.split(",").filter((p) =>
      !p.includes("*") && p !== "_all" && !seen.has(p)
    );
    if (missing.length) {
      const error = missing.length === 1
        ? `alias [${missing[0]}] missing`
        : `aliases [${missing.join(",")}] missing`;
      return reply(404, { error, status: 404, ...out });
    }
  }
  return reply(200, out);
}

/** HEAD /_alias/{name}, /{index}/_alias/{name} */
export function handleAliasExists(req: ApiRequest): ApiReply {
  const match = namePredicate(req.params.name);
  let indices: IndexState[];
  try {
    indices = resolveIndices(req.cluster, req.params.index, resolveOptions(req.query));
  } catch {
    return reply(404);
  }
  const found = indices.some((i) => [...i.aliases.keys()].some((a) => !match || match(a)));
  return reply(found ? 200 : 404);
}

/** DELETE /{index}/_alias/{name} */
export function handleDeleteAlias(req: ApiRequest): ApiReply {
  const indices = resolveIndices(req.cluster, req.params.index, {});
  const match = namePredicate(req.params.name);
  let hit = false;
  for (const index of indices) {
    for (const a of [...index.aliases.keys()]) {
      if (!match || match(a)) {
        index.aliases.delete(a);
        hit = true;
      }
    }
  }
  if (!hit) throw aliasesMissing([req.params.name]);
  return reply(200, { acknowledged: true });
}
