/**
 * Serialising replies that embed stored `_source` text verbatim: the stored text is spliced
 * into the JSON instead of being parsed and re-serialised, which is faster and keeps numbers
 * (e.g. integers beyond 2^53) exactly as the client sent them.
 */

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
    const text = JSON.stringify(value);
    if (this.parts.length === 0) return text;
    return text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_, i) => this.parts[Number(i)]);
  }
}
