/**
 * Capped exponential backoff with jitter, as a pure function: the delay before retry number
 * `attempt` (0-based). Jitter spreads reconnects of many instances so they do not retry in
 * lockstep against a recovering Postgres or OpenSearch.
 */

/** Backoff bounds. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
}

/** Defaults: 100 ms doubling up to 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 30_000 };

/**
 * The delay before retry `attempt`: `initialMs · 2^attempt`, capped at `maxMs`, then
 * "equal jitter" (half fixed, half random) so it never drops below half the nominal delay.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 52));
  const half = nominal / 2;
  return Math.round(half + random() * half);
}
