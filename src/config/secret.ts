/**
 * A secret value (password, token) that cannot leak by accident: printing, logging or
 * serialising it yields `[redacted]`; only `reveal()` gives the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself, for the one place that must send it. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[redacted]";
  }
  [Symbol.for("Deno.customInspect")](): string {
    return "[redacted]";
  }
}
