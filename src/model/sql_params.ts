/**
 * Bound parameters of a generated statement. Every value from config (filter operands,
 * defaults, constants) goes through here as text and is cast in SQL, so no value is ever
 * spliced into SQL text and the `postgres` client never has to guess a type.
 */

/** A parameter value: text, or a text array for `= ANY(...)`. */
export type ParamValue = string | readonly string[] | null;

/** Accumulates parameters and hands out their `$n` placeholders. */
export class SqlParams {
  readonly values: ParamValue[] = [];

  /** Adds one value; returns its placeholder. */
  add(value: ParamValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Text form of a config scalar for binding (`true` → `"true"`, `2.5` → `"2.5"`). */
export function paramText(value: string | number | boolean): string {
  return typeof value === "string" ? value : String(value);
}
