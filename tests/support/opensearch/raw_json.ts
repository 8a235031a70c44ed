/**
 * Serialising replies exactly: stored `_source` text is spliced into the JSON verbatim instead of
 * being parsed and re-serialised (faster, and numbers such as integers beyond 2^53 stay exactly
 * as the client sent them), and `bigint` values (versions) are written as exact JSON numbers.
 */

const BIG = /"\\u0000BIG(\d+)\\u0000"/g;

/**
 * `JSON.stringify`, except that `bigint` values become exact JSON numbers (plain
 * `JSON.stringify` throws on them). Replies without a bigint take the plain path.
 */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/i.test(e.message)) throw e;
  }
  const digits: string[] = [];
  const text = JSON.stringify(
    value,
    (_key, v) => typeof v === "bigint" ? `\u0000BIG${digits.push(v.toString()) - 1}\u0000` : v,
  );
  return text.replace(BIG, (_, i) => digits[Number(i)]);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/**
 * A version as a reply value: a plain number when it is exactly representable (the common case,
 * which keeps `JSON.stringify`'s fast path), else the bigint (`stringifyJson` writes it exactly).
 */
export function versionJson(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v;
}

/** Collects raw JSON fragments and renders a reply with them spliced in. */
export class RawSlots {
  private readonly parts: string[] = [];

  /** A placeholder to put in the reply object where `raw` must appear. */
  slot(raw: string): string {
    this.parts.push(raw);
    return `\u0000RAW${this.parts.length - 1}\u0000`;
  }

  /** JSON text of `value` with every placeholder replaced by its fragment. */
  render(value: unknown): string {
    const text = stringifyJson(value);
    if (this.parts.length === 0) return text;
    return text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_, i) => this.parts[Number(i)]);
  }
}
