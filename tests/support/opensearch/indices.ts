/**
 * Index administration: create (settings, mappings with `_meta`, aliases), delete, exists, get,
 * get/put mapping, get/put settings, refresh, and cluster health.
 */
import { type ApiReply, type ApiRequest, flag, jsonBody, reply } from "./api.ts";
import { illegalArgument, indexNotFound, OpenSearchError } from "./errors.ts";
import { mergeMapping, parseMapping } from "./mapping.ts";
import { validateIndexName } from "./names.ts";
import { isAll, resolveIndices, resolveOptions } from "./resolve.ts";
import { flattenSettings, nestSettings, nonDynamicKeys, validateSettings } from "./settings.ts";
import {
  type Cluster,
  type IndexState,
  newIndex,
  refreshNow,
  replicaCount,
  setMapping,
  shardCount,
} from "./store.ts";
import { aliasesFromBody, aliasView } from "./aliases.ts";

/** Creates an index from a create-index body (also used by auto-creation on write). */
export function createIndex(
  cluster: Cluster,
  name: string,
  body: Record<string, unknown> = {},
): IndexState {
  validateIndexName(name);
  const existing = cluster.indices.get(name);
  if (existing) {
    throw new OpenSearchError(
      400,
      "resource_already_exists_exception",
      `index [${name}/${existing.uuid}] already exists`,
      { index_uuid: existing.uuid, index: name },
    );
  }
  if (cluster.isAlias(name)) {
    throw new OpenSearchError(
      400,
      "invalid_index_name_exception",
      `Invalid index name [${name}], already exists as alias`,
      {
        index_uuid: "_na_",
        index: name,
      },
    );
  }
  for (const k of Object.keys(body)) {
    if (!["settings", "mappings", "aliases"].includes(k)) {
      throw new OpenSearchError(400, "parse_exception", `unknown key [${k}] for create index`);
    }
  }
  const flat = flattenSettings(body.settings);
  validateSettings(flat);
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat)) if (v !== null) settings[k] = v;
  const mapping = parseMapping(body.mappings);
  const index = newIndex(name, settings, mapping);
  const aliases = aliasesFromBody(cluster, index, body.aliases);
  index.aliases = aliases;
  cluster.indices.set(name, index);
  return index;
}

/** PUT /{index} */
export function handleCreateIndex(req: ApiRequest): ApiReply {
  const index = createIndex(req.cluster, req.params.index, jsonBody(req));
  return reply(200, { acknowledged: true, shards_acknowledged: true, index: index.name });
}

/** DELETE /{index} — concrete names or wildcards; an alias name is refused as OpenSearch does. */
export function handleDeleteIndex(req: ApiRequest): ApiReply {
  const expr = req.params.index;
  const opts = resolveOptions(req.query);
  const targets: IndexState[] = [];
  for (const part of isAll(expr) ? ["*"] : expr.split(",")) {
    if (
      !part.includes("*") && part !== "_all" && !req.cluster.indices.has(part) &&
      req.cluster.isAlias(part)
    ) {
      throw illegalArgument(
        `The provided expression [${part}] matches an alias, specify the corresponding concrete indices instead.`,
      );
    }
    targets.push(...resolveIndices(req.cluster, part === "_all" ? "*" : part, opts));
  }
  for (const index of targets) {
    refreshNow(index);
    req.cluster.indices.delete(index.name);
  }
  return reply(200, { acknowledged: true });
}

/** HEAD /{index} */
export function handleIndexExists(req: ApiRequest): ApiReply {
  try {
    const found = resolveIndices(req.cluster, req.params.index, {
      ...resolveOptions(req.query),
      allowNoIndices: req.query.get("allow_no_indices") === "true",
    });
    return reply(found.length ? 200 : 404);
  } catch (e) {
    if (e instanceof OpenSearchError && e.status === 404) return reply(404);
    throw e;
  }
}

function settingsView(index: IndexState, flat: boolean, name?: string): Record<string, unknown> {
  let entries = Object.entries(index.settings);
  if (name) {
    const pats = name.split(",");
    entries = entries.filter(([k]) => pats.some((p) => globMatchSetting(p, k)));
  }
  const obj = Object.fromEntries(entries);
  return flat ? obj : nestSettings(obj);
}

function globMatchSetting(pattern: string, key: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  return re.test(key);
}

/** GET /{index} */
export function handleGetIndex(req: ApiRequest): ApiReply {
  const flat = flag(req.query, "flat_settings");
  const out: Record<string, unknown> = {};
  for (const index of resolveIndices(req.cluster, req.params.index, resolveOptions(req.query))) {
    out[index.name] = {
      aliases: aliasView(index),
      mappings: index.mapping,
      settings: settingsView(index, flat),
    };
  }
  return reply(200, out);
}

/** GET /_mapping, /{index}/_mapping */
export function handleGetMapping(req: ApiRequest): ApiReply {
  const out: Record<string, unknown> = {};
  for (const index of resolveIndices(req.cluster, req.params.index, resolveOptions(req.query))) {
    out[index.name] = { mappings: index.mapping };
  }
  return reply(200, out);
}

/** PUT /{index}/_mapping — merges new fields and parameters; type changes are refused. */
export function handlePutMapping(req: ApiRequest): ApiReply {
  const update = parseMapping(jsonBody(req), true);
  const indices = resolveIndices(req.cluster, req.params.index, resolveOptions(req.query));
  const merged = indices.map((index) => mergeMapping(index.mapping, update));
  indices.forEach((index, i) => setMapping(index, merged[i]));
  return reply(200, { acknowledged: true });
}

/** GET /_settings, /{index}/_settings[/{name}] */
export function handleGetSettings(req: ApiRequest): ApiReply {
  const flat = flag(req.query, "flat_settings");
  const out: Record<string, unknown> = {};
  for (const index of resolveIndices(req.cluster, req.params.index, resolveOptions(req.query))) {
    const view = settingsView(index, flat, req.params.name);
    if (req.params.name && Object.keys(view).length === 0) continue;
    out[index.name] = { settings: view };
  }
  return reply(200, out);
}

/** PUT /_settings, /{index}/_settings — dynamic settings only; null resets to the default. */
export function handlePutSettings(req: ApiRequest): ApiReply {
  const body = jsonBody(req);
  const flat = flattenSettings("settings" in body ? body.settings : body);
  validateSettings(flat);
  const indices = resolveIndices(req.cluster, req.params.index, resolveOptions(req.query));
  const fixed = nonDynamicKeys(flat);
  if (fixed.length) {
    throw illegalArgument(
      `Can't update non dynamic settings [[${fixed.join(", ")}]] for open indices [${
        indices.map((i) => `[${i.name}/${i.uuid}]`).join(", ")
      }]`,
    );
  }
  const preserve = flag(req.query, "preserve_existing");
  for (const index of indices) {
    const before = index.settings["index.refresh_interval"];
    for (const [k, v] of Object.entries(flat)) {
      if (v === null) delete index.settings[k];
      else if (!(preserve && k in index.settings)) index.settings[k] = v;
    }
    // Turning refresh back on publishes what accumulated while it was off.
    if (before === "-1" && index.settings["index.refresh_interval"] !== "-1") refreshNow(index);
  }
  return reply(200, { acknowledged: true });
}

/** POST /_refresh, /{index}/_refresh */
export function handleRefresh(req: ApiRequest): ApiReply {
  const indices = resolveIndices(req.cluster, req.params.index, resolveOptions(req.query));
  let total = 0, successful = 0;
  for (const index of indices) {
    refreshNow(index);
    total += shardCount(index) * (1 + replicaCount(index));
    successful += shardCount(index);
  }
  return reply(200, { _shards: { total, successful, failed: 0 } });
}

/** GET /_cluster/health[/{index}] — yellow while replicas cannot be assigned on one node. */
export function handleHealth(req: ApiRequest): ApiReply {
  const expr = req.params.index;
  let indices: IndexState[];
  try {
    indices = resolveIndices(req.cluster, expr, resolveOptions(req.query));
  } catch (e) {
    if (!(e instanceof OpenSearchError) || e.status !== 404) throw e;
    return reply(408, healthBody([], true, "red"));
  }
  const unassigned = indices.reduce((n, i) => n + shardCount(i) * replicaCount(i), 0);
  const status = unassigned > 0 ? "yellow" : "green";
  const wanted = req.query.get("wait_for_status");
  const rank = { green: 0, yellow: 1, red: 2 } as Record<string, number>;
  const timedOut = wanted !== null && rank[status] > (rank[wanted] ?? 2);
  return reply(timedOut ? 408 : 200, healthBody(indices, timedOut, status));
}

function healthBody(
  indices: IndexState[],
  timedOut: boolean,
  status: string,
): Record<string, unknown> {
  const primaries = indices.reduce((n, i) => n + shardCount(i), 0);
  const unassigned = indices.reduce((n, i) => n + shardCount(i) * replicaCount(i), 0);
  const total = primaries + unassigned;
  return {
    cluster_name: "flusso-emulator",
    status,
    timed_out: timedOut,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    discovered_master: true,
    discovered_cluster_manager: true,
    active_primary_shards: primaries,
    active_shards: primaries,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: unassigned,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: total === 0 ? 100.0 : (primaries / total) * 100,
  };
}

/** Throws 404 unless `name` is an existing concrete index. */
export function requireIndex(cluster: Cluster, name: string): IndexState {
  const index = cluster.indices.get(name);
  if (!index) throw indexNotFound(name);
  return index;
}
