/**
 * The request log tests assert on: one entry per request the emulator received, in arrival
 * order, with what was asked, what was answered and which fault (if any) was applied.
 */

/** One logged request. */
export interface RequestLogEntry {
  method: string;
  /** Path without the query string, e.g. `/_bulk`. */
  path: string;
  /** Query parameters, e.g. `{ refresh: "true" }`. */
  query: Record<string, string>;
  /** HTTP status answered; 0 while unanswered (stalled), or for a reset connection before headers. */
  status: number;
  /** Arrival time (epoch ms). */
  time: number;
  /** Milliseconds from arrival to answer (undefined while unanswered). */
  durationMs?: number;
  /** The request body, kept for `_bulk` requests. */
  body?: string;
  /** The fault applied to this request, if any. */
  fault?: "fail" | "stall" | "reset";
}

/** True for paths whose bodies the log keeps. */
export function keepsBody(path: string): boolean {
  return path === "/_bulk" || path.endsWith("/_bulk");
}
