/**
 * Durations as written in config files: a number and a unit, `"50ms"`, `"10s"`, `"1.5m"`,
 * `"2h"`, `"1d"`. A bare number is refused: `max_delay = 50` could mean anything.
 */

/** The accepted form, also used as the JSON Schema pattern. */
export const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Why a duration could not be read: a message that says what a valid one looks like. */
export class DurationFormatError extends Error {
  override name = "DurationFormatError";
  constructor(readonly input: unknown) {
    super(
      `invalid duration ${
        JSON.stringify(input)
      }: expected a number followed by ms, s, m, h or d, ` +
        `e.g. "50ms" or "10s"`,
    );
  }
}

/** Milliseconds in a duration string; throws DurationFormatError. Rounds to whole ms. */
export function parseDuration(input: unknown): number {
  if (typeof input !== "string") throw new DurationFormatError(input);
  const match = DURATION_PATTERN.exec(input);
  if (!match) throw new DurationFormatError(input);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}
