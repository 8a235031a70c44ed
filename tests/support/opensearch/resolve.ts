/**
 * Index expressions (`a,b`, `logs-*`, `_all`, aliases) resolved to concrete indices as
 * OpenSearch does for reads, and the write-index rule for writes through an alias.
 */
import { illegalArgument, indexNotFound } from "./errors.ts";
import { globMatch } from "./names.ts";
import type { Cluster, IndexState } from "./store.ts";

/** Options every multi-index API accepts (`ignore_unavailable`, `allow_no_indices`, ...). */
export interface ResolveOptions {
  ignoreUnavailable?: boolean;
  allowNoIndices?: boolean;
  /** Include hidden indices in wildcard matches. */
  hidden?: boolean;
}

/** Reads the resolve options from query parameters. */
export function resolveOptions(query: URLSearchParams): ResolveOptions {
  const ew = query.get("expand_wildcards") ?? "";
  return {
    ignoreUnavailable: query.get("ignore_unavailable") === "true",
    allowNoIndices: query.get("allow_no_indices") !== "false",
    hidden: ew.includes("hidden") || ew.includes("all"),
  };
}

/** A resolved read target: the index and, when reached only via filtered aliases, the filters. */
export interface ReadTarget {
  index: IndexState;
  /** Alias filters to OR together; undefined when some path reaches the index unfiltered. */
  filters?: Array<Record<string, unknown>>;
  /** search_routing values from aliases (informational). */
  routing?: string;
}

function isHidden(index: IndexState): boolean {
  return index.settings["index.hidden"] === "true";
}

/** True for an expression that means "every index". */
export function isAll(expr: string | undefined): boolean {
  return expr === undefined || expr === "" || expr === "_all" || expr === "*";
}

/** Resolves an expression to read targets, applying alias filters. */
export function resolveRead(
  cluster: Cluster,
  expr: string | undefined,
  opts: ResolveOptions = {},
): ReadTarget[] {
  const found = new Map<IndexState, ReadTarget>();
  const add = (index: IndexState, filter?: Record<string, unknown>, routing?: string) => {
    const cur = found.get(index);
    if (!cur) {
      found.set(index, { index, filters: filter ? [filter] : undefined, routing });
      return;
    }
    if (!filter) cur.filters = undefined;
    else if (cur.filters) cur.filters.push(filter);
  };
  const parts = isAll(expr) ? ["*"] : expr!.split(",").map((p) => p.trim()).filter((p) => p);
  for (const part of parts) {
    if (part.startsWith("-") && found.size > 0) {
      for (const index of [...found.keys()]) {
        if (globMatch(part.slice(1), index.name)) found.delete(index);
      }
      continue;
    }
    const name = part === "_all" ? "*" : part;
    if (name.includes("*")) {
      for (const index of cluster.indices.values()) {
        if (
          globMatch(name, index.name) && (opts.hidden || !isHidden(index) || name.startsWith("."))
        ) {
          add(index);
        }
      }
      for (const alias of cluster.aliasNames()) {
        if (!globMatch(name, alias)) continue;
        for (const { index, meta } of cluster.aliasTargets(alias)) {
          if (meta.is_hidden && !opts.hidden) continue;
          add(index, meta.filter, meta.search_routing);
        }
      }
      continue;
    }
    const direct = cluster.indices.get(name);
    if (direct) {
      add(direct);
      continue;
    }
    const targets = cluster.aliasTargets(name);
    if (targets.length) {
      for (const { index, meta } of targets) add(index, meta.filter, meta.search_routing);
      continue;
    }
    if (!opts.ignoreUnavailable) throw indexNotFound(name);
  }
  if (found.size === 0 && opts.allowNoIndices === false) throw indexNotFound(expr ?? "_all");
  return [...found.values()];
}

/** Concrete indices of an expression (read resolution without filters). */
export function resolveIndices(
  cluster: Cluster,
  expr: string | undefined,
  opts: ResolveOptions = {},
): IndexState[] {
  return resolveRead(cluster, expr, opts).map((t) => t.index);
}

/** Where a write to `name` goes. `index` undefined: no such index or alias (auto-create). */
export interface WriteTarget {
  index?: IndexState;
  routing?: string;
}

/** Resolves a write target: an index, or an alias's write index (error when ambiguous). */
export function resolveWrite(cluster: Cluster, name: string): WriteTarget {
  const direct = cluster.indices.get(name);
  if (direct) return { index: direct };
  const targets = cluster.aliasTargets(name);
  if (targets.length === 0) return {};
  const explicit = targets.filter((t) => t.meta.is_write_index === true);
  const chosen = explicit.length === 1
    ? explicit[0]
    : targets.length === 1 && targets[0].meta.is_write_index !== false
    ? targets[0]
    : undefined;
  if (!chosen) {
    throw illegalArgument(
      `no write index is defined for alias [${name}]. The write index may be explicitly disabled ` +
        "using is_write_index=false or the alias points to multiple indices without one being " +
        "designated as a write index",
    );
  }
  return { index: chosen.index, routing: chosen.meta.index_routing };
}
