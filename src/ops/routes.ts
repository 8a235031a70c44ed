/**
 * The endpoints of both HTTP surfaces, as routes over injected providers. The composition
 * root passes functions that read the running engine; these routes only shape HTTP.
 */
import { HttpError, type Route } from "./http_server.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics.ts";

/** What the public surface reads. */
export interface PublicProviders {
  /** Liveness: false only when the process is wedged and should be restarted. Default true. */
  readonly isLive?: () => boolean;
  /** Readiness: true while backfilling or live. */
  readonly isReady: () => boolean;
  /** The /status document (already free of secrets). */
  readonly status: () => unknown;
  /** The /metrics exposition. */
  readonly metrics: () => string;
}

/** `/healthz`, `/readyz`, `/status`, `/metrics`. */
export function publicRoutes(providers: PublicProviders): Route[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      handler: () =>
        (providers.isLive?.() ?? true)
          ? { status: 200, body: "ok\n" }
          : { status: 503, body: "unhealthy\n" },
    },
    {
      method: "GET",
      path: "/readyz",
      handler: () =>
        providers.isReady()
          ? { status: 200, body: "ready\n" }
          : { status: 503, body: "not ready\n" },
    },
    { method: "GET", path: "/status", handler: () => ({ status: 200, body: providers.status() }) },
    {
      method: "GET",
      path: "/metrics",
      handler: () => ({
        status: 200,
        body: providers.metrics(),
        contentType: PROMETHEUS_CONTENT_TYPE,
      }),
    },
  ];
}

/** Paging of `/dlq`. */
export interface DlqQuery {
  readonly index?: string;
  readonly limit: number;
}

/** What the private surface controls. Providers throw `HttpError` for 404/409 answers. */
export interface PrivateProviders {
  readonly indexes: () => unknown | Promise<unknown>;
  /** Starts a reindex of one index; resolves once it is scheduled. */
  readonly reindex: (index: string) => unknown | Promise<unknown>;
  readonly dlq: (query: DlqQuery) => unknown | Promise<unknown>;
}

/** The largest `/dlq?limit=`. */
export const MAX_DLQ_LIMIT = 1000;

/** `GET /indexes`, `POST /reindex?index=`, `GET /dlq?index=&limit=`. */
export function privateRoutes(providers: PrivateProviders): Route[] {
  return [
    {
      method: "GET",
      path: "/indexes",
      handler: async () => ({ status: 200, body: await providers.indexes() }),
    },
    {
      method: "POST",
      path: "/reindex",
      handler: async ({ query }) => {
        const index = query.get("index");
        if (!index) throw new HttpError(400, "missing ?index=<name>");
        return { status: 202, body: (await providers.reindex(index)) ?? { index, accepted: true } };
      },
    },
    {
      method: "GET",
      path: "/dlq",
      handler: async ({ query }) => {
        const limitText = query.get("limit") ?? "100";
        const limit = Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DLQ_LIMIT) {
          throw new HttpError(400, `limit must be an integer from 1 to ${MAX_DLQ_LIMIT}`);
        }
        const index = query.get("index") ?? undefined;
        return { status: 200, body: await providers.dlq({ index, limit }) };
      },
    },
  ];
}
