/**
 * Adaptive batch sizing by AIMD (additive increase, multiplicative decrease), as pure
 * functions. When OpenSearch pushes back (429s surface as transient errors, or bulk latency
 * exceeds the target) the cap on changes per batch halves; every healthy flush adds a step
 * back, never above the configured `max_changes`.
 */

/** AIMD parameters. */
export interface AimdOptions {
  /** The configured cap (`max_changes`); the limit never exceeds it. */
  readonly max: number;
  /** The floor; the limit never goes below it. */
  readonly min: number;
  /** Added to the limit after a healthy flush. */
  readonly increase: number;
  /** The limit is multiplied by this (0 < f < 1) after a congested flush. */
  readonly decreaseFactor: number;
  /** A flush slower than this counts as congestion. */
  readonly targetLatencyMs: number;
}

/** What one flush looked like. */
export type FlushOutcome =
  | { readonly kind: "ok"; readonly latencyMs: number }
  | { readonly kind: "throttled" };

/** Sensible parameters for a configured cap of `maxChanges`. */
export function aimdDefaults(maxChanges: number): AimdOptions {
  const max = Math.max(1, Math.floor(maxChanges));
  return {
    max,
    min: Math.max(1, Math.floor(max / 32)),
    increase: Math.max(1, Math.floor(max / 16)),
    decreaseFactor: 0.5,
    targetLatencyMs: 1_000,
  };
}

/** True when the outcome means the sink is struggling. */
export function isCongested(outcome: FlushOutcome, options: AimdOptions): boolean {
  return outcome.kind === "throttled" || outcome.latencyMs > options.targetLatencyMs;
}

/** The next limit after `outcome`, always within [min, max]. */
export function nextLimit(limit: number, outcome: FlushOutcome, options: AimdOptions): number {
  const next = isCongested(outcome, options)
    ? Math.floor(limit * options.decreaseFactor)
    : limit + options.increase;
  return Math.min(options.max, Math.max(options.min, next));
}
