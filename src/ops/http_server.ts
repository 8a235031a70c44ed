/**
 * The two HTTP surfaces of a running flusso: a public one (/healthz, /readyz, /status,
 * /metrics) and a private control one (/indexes, /reindex, /dlq) that demands a bearer
 * token. Routes are plain functions injected by the composition root, so this file knows
 * nothing about the engine.
 *
 * Without a configured token the private surface still listens but refuses every request
 * with 503 and an explanation: a `flusso indexes` pointed at it learns why, instead of seeing
 * "connection refused". There is never a default token.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Secret } from "../config/secret.ts";
import type { Logger } from "./logger.ts";
import { formatAuthority, type ListenAddress, parseListenAddress } from "./listen_address.ts";

/** What a handler sees of a request. */
export interface OpsRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

/** What a handler answers: a string is sent as text, anything else as JSON. */
export interface OpsResponse {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route handler. It may throw an `HttpError` to answer with its status. */
export type Handler = (request: OpsRequest) => OpsResponse | Promise<OpsResponse>;

/** One route; `GET` routes also answer `HEAD`. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly handler: Handler;
}

/** A failure a handler reports to the client with a status code (400, 404, 409, …). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** The surface could not listen (port taken, address not local, …). */
export class ListenError extends Error {
  constructor(readonly surface: string, readonly address: string, options?: ErrorOptions) {
    super(
      `cannot listen on ${address} for the ${surface} HTTP surface: ${
        (options?.cause as Error | undefined)?.message ?? "unknown error"
      } (change [server] ${surface}_address or free the port)`,
      options,
    );
    this.name = "ListenError";
  }
}

/** Options of `startHttpSurface`. */
export interface SurfaceOptions {
  /** For logs and errors: "public" or "private". */
  readonly name: string;
  /** `host:port` from `[server]`; port 0 picks a free port. */
  readonly address: string;
  readonly routes: readonly Route[];
  /**
   * Present: every request must carry `Authorization: Bearer <token>`; with `token`
   * undefined the surface refuses everything (503). Absent: no authentication (public).
   */
  readonly auth?: { readonly token: Secret | undefined };
  readonly logger: Logger;
}

/** A listening surface. */
export interface HttpSurface {
  readonly address: ListenAddress;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Starts one surface; resolves once it listens. */
export async function startHttpSurface(options: SurfaceOptions): Promise<HttpSurface> {
  const wanted = parseListenAddress(options.address);
  const handle = createRequestHandler(options);
  const server = createServer((req, res) => {
    const started = handle({
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      remote: req.socket.remoteAddress,
    });
    started.then((reply) => {
      res.writeHead(reply.status, reply.headers);
      res.end(req.method === "HEAD" ? undefined : reply.body);
    }).catch(() => res.destroy());
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await listen(server, wanted).catch((cause) => {
    throw new ListenError(options.name, options.address, { cause });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: wanted.host, port: bound.port };
  options.logger.info(`${options.name} HTTP surface listening`, {
    url: `http://${formatAuthority(address)}`,
    authenticated: options.auth !== undefined,
  });
  return {
    address,
    url: `http://${formatAuthority(address)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(address.port, address.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** A raw request, as the server hands it to `createRequestHandler`. */
export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remote?: string;
}

/** A finished reply: status, headers and the encoded body. */
export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The request pipeline without the network: authentication, routing, method checks, error
 * mapping and encoding. Exposed for tests and for embedding in another server.
 */
export function createRequestHandler(
  options: Pick<SurfaceOptions, "name" | "routes" | "auth" | "logger">,
): (request: RawRequest) => Promise<RawReply> {
  const { routes, auth, logger } = options;
  const expected = auth?.token === undefined ? undefined : digest(auth.token.reveal());
  return async (raw) => {
    const url = new URL(raw.url, "http://flusso.invalid");
    const method = raw.method.toUpperCase();
    if (auth !== undefined) {
      if (expected === undefined) {
        return encode({
          status: 503,
          body: {
            error: "the control surface is disabled because no token is configured; set " +
              '[server] token = { env = "FLUSSO_TOKEN" } in flusso.toml and restart',
          },
        });
      }
      const presented = bearerToken(raw.headers.authorization);
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        logger.warn("refused a control request without a valid bearer token", {
          surface: options.name,
          path: url.pathname,
          remote: raw.remote,
          reason: presented === undefined ? "no bearer token" : "wrong token",
        });
        return encode({
          status: 401,
          body: { error: "a valid bearer token is required (Authorization: Bearer <token>)" },
          headers: { "www-authenticate": 'Bearer realm="flusso"' },
        });
      }
    }
    const onPath = routes.filter((r) => r.path === url.pathname);
    if (onPath.length === 0) {
      return encode({ status: 404, body: { error: `no such endpoint: ${url.pathname}` } });
    }
    const route = onPath.find((r) =>
      r.method === method || (method === "HEAD" && r.method === "GET")
    );
    if (!route) {
      const allow = [
        ...new Set(onPath.flatMap((r) => r.method === "GET" ? ["GET", "HEAD"] : [r.method])),
      ];
      return encode({
        status: 405,
        body: { error: `${method} is not allowed on ${url.pathname}` },
        headers: { allow: allow.join(", ") },
      });
    }
    try {
      return encode(
        await route.handler({
          method,
          path: url.pathname,
          query: url.searchParams,
          headers: raw.headers,
        }),
      );
    } catch (error) {
      if (error instanceof HttpError) {
        return encode({ status: error.status, body: { error: error.message } });
      }
      logger.error("HTTP handler failed", { surface: options.name, path: url.pathname, error });
      return encode({ status: 500, body: { error: "internal error; see the flusso log" } });
    }
  };
}

function encode(response: OpsResponse): RawReply {
  const isText = typeof response.body === "string";
  const body = isText
    ? response.body as string
    : `${JSON.stringify(response.body, (_k, v) => typeof v === "bigint" ? v.toString() : v, 2)}\n`;
  return {
    status: response.status,
    headers: {
      "content-type": response.contentType ??
        (isText ? "text/plain; charset=utf-8" : "application/json; charset=utf-8"),
      "cache-control": "no-store",
      ...response.headers,
    },
    body,
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

// Hashing both sides first gives equal-length buffers, so the comparison leaks neither the
// token's length nor its prefix.
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
