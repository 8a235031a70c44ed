/**
 * Which Postgres failures a retry can fix. A restart, a failover or a network cut shows up
 * on the query connections as closed sockets and "shutting down" errors; those must make the
 * engine back off and retry, never stop the pipeline.
 */
import { TransientSourceError } from "../engine/ports.ts";

/** Error codes of the `postgres` package and of Node's sockets that mean "connection gone". */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server going away or not accepting connections yet: class 08 (connection
 * exception), 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many
 * connections) and 40001/40P01 (serialization failure, deadlock: a retry succeeds).
 */
function isRetryableSqlState(code: string): boolean {
  return code.startsWith("08") ||
    ["57P01", "57P02", "57P03", "53300", "40001", "40P01"].includes(code);
}

/** True when `error` means Postgres is unreachable or restarting, not that the query is wrong. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return CONNECTION_CODES.has(code) || isRetryableSqlState(code);
}

/** Runs `call`; a connection failure is rethrown as `TransientSourceError` naming `what`. */
export async function transientOnDisconnect<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    throw new TransientSourceError(
      `${what}: Postgres is unreachable (${(error as Error).message}); retrying`,
      { cause: error },
    );
  }
}
