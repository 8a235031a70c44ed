/**
 * When and how long to wait before sending again: capped exponential backoff with jitter,
 * and the classification of request-level failures.
 */

/** Backoff parameters. */
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly capMs: number;
}

/** The default: 100 ms doubling up to 10 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 10_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry): the capped exponential
 * step, of which a random half is jitter so that many writers do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(step / 2 + (step / 2) * r);
}

/** What a failed request means. */
export type RequestFailure =
  /** Network, timeout, 429 or 5xx: send the same request again later. */
  | { readonly kind: "transient"; readonly status?: number; readonly message: string }
  /** 413: the body exceeds `http.max_content_length`; split it or reject its only document. */
  | { readonly kind: "too_large"; readonly message: string }
  /** Anything else (401, 403, 400, …): a retry cannot fix it. */
  | { readonly kind: "fatal"; readonly status?: number; readonly message: string };

/** The error fields flusso reads from either client's errors, without importing their classes. */
interface ClientErrorLike {
  readonly name?: string;
  readonly message?: string;
  readonly statusCode?: number;
}

const TRANSIENT_ERROR_NAMES = new Set([
  "ConnectionError",
  "TimeoutError",
  "NoLivingConnectionsError",
  // A connection cut mid-response leaves a body that does not parse.
  "DeserializationError",
]);

/** Node's TLS verification messages: a configuration problem no retry can fix. */
const CERTIFICATE_PROBLEM = /certificate|altnames/i;

/**
 * Classifies an error thrown for one request by the official client or by flusso's bulk
 * HTTP client (http_errors.ts gives its errors the official client's names).
 */
export function classifyRequestError(error: unknown): RequestFailure {
  const e = (typeof error === "object" && error !== null ? error : {}) as ClientErrorLike;
  const message = e.message ?? String(error);
  if (e.name === "ConnectionError" && CERTIFICATE_PROBLEM.test(message)) {
    return {
      kind: "fatal",
      message:
        `TLS: ${message} (set ca_file to the cluster's CA certificate, or tls_verify = false)`,
    };
  }
  if (e.name !== undefined && TRANSIENT_ERROR_NAMES.has(e.name)) {
    return { kind: "transient", message: `${e.name}: ${message}` };
  }
  if (e.name === "ResponseError" && typeof e.statusCode === "number") {
    const status = e.statusCode;
    if (status === 413) return { kind: "too_large", message };
    if (status === 429 || status >= 500) {
      return { kind: "transient", status, message: `HTTP ${status}: ${message}` };
    }
    return { kind: "fatal", status, message: `HTTP ${status}: ${message}` };
  }
  return { kind: "fatal", message };
}
