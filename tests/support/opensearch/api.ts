/**
 * The shapes every REST handler shares: the parsed request it receives and the reply it
 * returns. Handlers are plain functions of (request) → reply; the router picks them.
 */
import { OpenSearchError } from "./errors.ts";
import type { Cluster } from "./store.ts";

/** A request as handlers see it. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Path parameters of the matched route (`index`, `id`, `name`). */
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The request body as text ("" when none). */
  readonly body: string;
  readonly cluster: Cluster;
  readonly now: number;
}

/** A reply: status plus a JSON body (or pre-serialised text, or nothing for HEAD). */
export interface ApiReply {
  status: number;
  body?: unknown;
  /** Already serialised JSON; takes precedence over `body`. */
  text?: string;
  /** True when `text` already applies the request's `filter_path`. */
  filtered?: boolean;
}

/** A handler for one route. */
export type Handler = (req: ApiRequest) => ApiReply | Promise<ApiReply>;

/** A JSON reply. */
export function reply(status: number, body?: unknown): ApiReply {
  return { status, body };
}

/** The request body parsed as a JSON object; `{}` when empty; 400 when malformed. */
export function jsonBody(req: ApiRequest): Record<string, unknown> {
  const text = req.body.trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new OpenSearchError(
      400,
      "json_parse_exception",
      `Unexpected character: ${(e as Error).message}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new OpenSearchError(
      400,
      "parse_exception",
      "request body is required to be a JSON object",
    );
  }
  return parsed as Record<string, unknown>;
}

/** A boolean query parameter (`?x`, `?x=true` → true). */
export function flag(query: URLSearchParams, name: string, dflt = false): boolean {
  const v = query.get(name);
  if (v === null) return dflt;
  return v === "" || v === "true";
}

/** An integer query parameter, or undefined. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new OpenSearchError(
      400,
      "illegal_argument_exception",
      `Failed to parse int parameter [${name}] with value [${v}]`,
    );
  }
  return n;
}
