/**
 * The client side of the HTTP surfaces, for `flusso status`, `flusso indexes` and
 * `flusso reindex`: where a running instance listens, and requests with clear failures
 * (not running, token refused, control surface disabled).
 */
import type { ServerConfig } from "../config/model.ts";
import type { Secret } from "../config/secret.ts";
import { formatAuthority, parseListenAddress } from "./listen_address.ts";

/** Which surface a command talks to. */
export type Surface = "public" | "private";

/** A running instance's address and, for the private surface, its token. */
export interface InstanceTarget {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly token?: Secret;
}

/** A request to a running instance failed; `message` says what to do about it. */
export class OpsClientError extends Error {
  constructor(message: string, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "OpsClientError";
  }
}

/**
 * The URL to reach a surface listening on `address`: a wildcard bind (0.0.0.0, ::) is
 * reached over loopback.
 */
export function urlForAddress(address: string): string {
  const parsed = parseListenAddress(address);
  const host = parsed.host === "0.0.0.0" ? "127.0.0.1" : parsed.host === "::" ? "::1" : parsed.host;
  return `http://${formatAuthority({ host, port: parsed.port })}`;
}

/**
 * Where to send a command: `--url` wins, else the `[server]` section of the config; the
 * token: `--token` wins, else the config's.
 */
export function resolveTarget(options: {
  readonly surface: Surface;
  readonly url?: string;
  readonly token?: Secret;
  readonly server?: ServerConfig;
}): InstanceTarget {
  const fromConfig = options.server === undefined ? undefined : urlForAddress(
    options.surface === "public" ? options.server.publicAddress : options.server.privateAddress,
  );
  const url = (options.url ?? fromConfig ?? urlForAddress(
    options.surface === "public" ? "127.0.0.1:9464" : "127.0.0.1:9465",
  )).replace(/\/+$/, "");
  const token = options.token ?? options.server?.token;
  return token === undefined ? { url } : { url, token };
}

/** Sends one request and returns the parsed JSON (or text) body of a 2xx answer. */
export async function requestInstance(
  target: InstanceTarget,
  method: "GET" | "POST",
  path: string,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Promise<unknown> {
  const doFetch = options.fetch ?? fetch;
  const url = `${target.url}${path}`;
  let response: Response;
  try {
    response = await doFetch(url, {
      method,
      headers: target.token === undefined
        ? {}
        : { authorization: `Bearer ${target.token.reveal()}` },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new OpsClientError(
      `no flusso instance answered at ${target.url} (${
        (cause as Error).message
      }); is \`flusso sync\` running? Point at it with --url or --config`,
      undefined,
      { cause },
    );
  }
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  if (response.ok) return body;
  const serverMessage = typeof body === "object" && body !== null && "error" in body
    ? String((body as { error: unknown }).error)
    : text.trim();
  if (response.status === 401) {
    throw new OpsClientError(
      target.token === undefined
        ? `${url} needs a token: pass --token, set FLUSSO_TOKEN, or use --config with [server] token`
        : `${url} refused the token; check --token / FLUSSO_TOKEN against [server] token`,
      401,
    );
  }
  throw new OpsClientError(
    `${method} ${url} answered ${response.status}: ${serverMessage}`,
    response.status,
  );
}
