/** Small pure statistics and formatting helpers for benchmark rows. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** A rate such as `123,456/s`. */
export function formatRate(perSecond: number, unit = ""): string {
  if (!Number.isFinite(perSecond)) return "n/a";
  return `${Math.round(perSecond).toLocaleString("en-US")}${unit}/s`;
}

/** Milliseconds with a sensible precision. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Seconds, for durations. */
export function formatSeconds(seconds: number): string {
  return Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : "n/a";
}

/** Bytes as MiB. */
export function formatMiB(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : "n/a";
}

/** A ratio such as `0.73×`. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "n/a";
}

/**
 * The verdict of a "higher is better" ratio against its floor, with the shortfall spelled out
 * when missed (the issue asks every miss to say by how much).
 */
export function ratioVerdict(
  ratio: number,
  floor: number,
): { verdict: "met" | "missed"; note: string } {
  if (ratio >= floor) return { verdict: "met", note: `≥ ${floor}×` };
  const short = Number.isFinite(ratio)
    ? ` (short by ${((1 - ratio / floor) * 100).toFixed(0)}%)`
    : "";
  return { verdict: "missed", note: `≥ ${floor}×${short}` };
}

/** The verdict of a "lower is better" value against its ceiling, with the excess when missed. */
export function ceilingVerdict(
  value: number,
  ceiling: number,
  unit: string,
): { verdict: "met" | "missed"; note: string } {
  if (value <= ceiling) return { verdict: "met", note: `≤ ${ceiling} ${unit}` };
  const over = Number.isFinite(value)
    ? ` (over by ${((value / ceiling - 1) * 100).toFixed(0)}%)`
    : "";
  return { verdict: "missed", note: `≤ ${ceiling} ${unit}${over}` };
}
