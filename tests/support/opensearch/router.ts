/**
 * The route table: OpenSearch's REST paths for the APIs the emulator implements, matched the
 * way OpenSearch does (literal segments win over `{param}` segments; a known path with the
 * wrong method is a 405, an unknown path a 400).
 */
import { type ApiReply, type ApiRequest, type Handler, reply } from "./api.ts";
import {
  handleAliasExists,
  handleDeleteAlias,
  handleGetAlias,
  handlePutAlias,
  handleUpdateAliases,
} from "./aliases.ts";
import { handleBulk, type ItemFault } from "./bulk.ts";
import {
  handleDeleteDoc,
  handleGetDoc,
  handleIndexDoc,
  handleMget,
  handleUpdateDoc,
} from "./documents.ts";
import {
  handleCreateIndex,
  handleDeleteIndex,
  handleGetIndex,
  handleGetMapping,
  handleGetSettings,
  handleHealth,
  handleIndexExists,
  handlePutMapping,
  handlePutSettings,
  handleRefresh,
} from "./indices.ts";
import { handleCount, handleDeleteByQuery, handleSearch } from "./search.ts";

interface Route {
  methods: string[];
  segments: string[];
  handler: Handler;
}

/** The version the emulator claims to be. */
export const EMULATED_VERSION = "2.19.0";

function info(req: ApiRequest): ApiReply {
  return reply(200, {
    name: "flusso-emulator",
    cluster_name: "flusso-emulator",
    cluster_uuid: req.cluster.uuid,
    version: {
      distribution: "opensearch",
      number: EMULATED_VERSION,
      build_type: "tar",
      build_hash: "emulator",
      build_date: "2025-01-01T00:00:00.000000Z",
      build_snapshot: false,
      lucene_version: "9.12.1",
      minimum_wire_compatibility_version: "7.10.0",
      minimum_index_compatibility_version: "7.0.0",
    },
    tagline: "The OpenSearch Project: https://opensearch.org/",
  });
}

/** Builds the route table; `itemFault` is consulted for every bulk item. */
export function buildRoutes(itemFault: ItemFault): Route[] {
  const r = (methods: string, path: string, handler: Handler): Route => ({
    methods: methods.split(","),
    segments: path.split("/").filter((s) => s),
    handler,
  });
  return [
    r("GET", "/", info),
    r("HEAD", "/", () => reply(200)),
    r("GET", "/_cluster/health", handleHealth),
    r("GET", "/_cluster/health/{index}", handleHealth),
    // indices
    r("PUT", "/{index}", handleCreateIndex),
    r("DELETE", "/{index}", handleDeleteIndex),
    r("HEAD", "/{index}", handleIndexExists),
    r("GET", "/{index}", handleGetIndex),
    r("GET", "/_mapping", handleGetMapping),
    r("GET", "/{index}/_mapping", handleGetMapping),
    r("PUT,POST", "/{index}/_mapping", handlePutMapping),
    r("GET", "/_settings", handleGetSettings),
    r("GET", "/_settings/{name}", handleGetSettings),
    r("GET", "/{index}/_settings", handleGetSettings),
    r("GET", "/{index}/_settings/{name}", handleGetSettings),
    r("PUT", "/_settings", handlePutSettings),
    r("PUT", "/{index}/_settings", handlePutSettings),
    r("POST,GET", "/_refresh", handleRefresh),
    r("POST,GET", "/{index}/_refresh", handleRefresh),
    // aliases
    r("POST", "/_aliases", handleUpdateAliases),
    r("GET", "/_alias", handleGetAlias),
    r("GET", "/_aliases", handleGetAlias),
    r("GET", "/_alias/{name}", handleGetAlias),
    r("GET", "/{index}/_alias", handleGetAlias),
    r("GET", "/{index}/_aliases", handleGetAlias),
    r("GET", "/{index}/_alias/{name}", handleGetAlias),
    r("HEAD", "/_alias/{name}", handleAliasExists),
    r("HEAD", "/{index}/_alias/{name}", handleAliasExists),
    r("PUT,POST", "/{index}/_alias/{name}", handlePutAlias),
    r("PUT,POST", "/{index}/_aliases/{name}", handlePutAlias),
    r("PUT", "/{index}/_alias", handlePutAlias),
    r("PUT", "/{index}/_aliases", handlePutAlias),
    r("PUT,POST", "/_alias/{name}", handlePutAlias),
    r("PUT,POST", "/_aliases/{name}", handlePutAlias),
    r("PUT", "/_alias", handlePutAlias),
    r("DELETE", "/{index}/_alias/{name}", handleDeleteAlias),
    r("DELETE", "/{index}/_aliases/{name}", handleDeleteAlias),
    // documents
    r("POST,PUT", "/_bulk", (req) => handleBulk(req, itemFault)),
    r("POST,PUT", "/{index}/_bulk", (req) => handleBulk(req, itemFault)),
    r("PUT,POST", "/{index}/_doc/{id}", (req) => handleIndexDoc(req, false)),
    r("POST", "/{index}/_doc", (req) => handleIndexDoc(req, false)),
    r("PUT,POST", "/{index}/_create/{id}", (req) => handleIndexDoc(req, true)),
    r("GET", "/{index}/_doc/{id}", (req) => handleGetDoc(req, "get")),
    r("HEAD", "/{index}/_doc/{id}", (req) => handleGetDoc(req, "head")),
    r("DELETE", "/{index}/_doc/{id}", handleDeleteDoc),
    r("GET", "/{index}/_source/{id}", (req) => handleGetDoc(req, "source")),
    r("HEAD", "/{index}/_source/{id}", (req) => handleGetDoc(req, "head")),
    r("POST", "/{index}/_update/{id}", handleUpdateDoc),
    r("GET,POST", "/_mget", handleMget),
    r("GET,POST", "/{index}/_mget", handleMget),
    // search
    r("GET,POST", "/_search", handleSearch),
    r("GET,POST", "/{index}/_search", handleSearch),
    r("GET,POST", "/_count", handleCount),
    r("GET,POST", "/{index}/_count", handleCount),
    r("POST", "/{index}/_delete_by_query", handleDeleteByQuery),
  ];
}

/** A matched route: the handler and the path parameters. */
export interface Match {
  handler: Handler;
  params: Record<string, string>;
}

function specificity(route: Route): number {
  let score = 0;
  route.segments.forEach((s, i) => {
    if (!s.startsWith("{")) score += 2 ** (8 - i);
  });
  return score;
}

/** Finds the handler for a method and decoded path segments, or the error reply. */
export function matchRoute(
  routes: Route[],
  method: string,
  segments: string[],
  rawPath: string,
): Match | ApiReply {
  const candidates: Array<{ route: Route; params: Record<string, string> }> = [];
  for (const route of routes) {
    if (route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const p = route.segments[i];
      if (p.startsWith("{")) params[p.slice(1, -1)] = segments[i];
      else ok = p === segments[i];
    }
    if (ok) candidates.push({ route, params });
  }
  const best = candidates.filter((c) => c.route.methods.includes(method))
    .sort((a, b) => specificity(b.route) - specificity(a.route))[0];
  if (best) return { handler: best.route.handler, params: best.params };
  if (candidates.length) {
    // Only the most specific path decides which methods are allowed.
    const top = Math.max(...candidates.map((c) => specificity(c.route)));
    const allowed = [
      ...new Set(
        candidates.filter((c) => specificity(c.route) === top).flatMap((c) => c.route.methods),
      ),
    ];
    return reply(405, {
      error: `Incorrect HTTP method for uri [${rawPath}] and method [${method}], allowed: [${
        allowed.join(", ")
      }]`,
      status: 405,
    });
  }
  return reply(400, {
    error: `no handler found for uri [${rawPath}] and method [${method}]`,
    status: 400,
  });
}
