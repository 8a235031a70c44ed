/**
 * Failures of the OpenSearch adapter that a retry cannot fix. Transient failures use the
 * engine's `TransientSinkError`.
 */

/** OpenSearch refused a request as a whole (authentication, permissions, a malformed call). */
export class SinkRequestError extends Error {
  /** HTTP status, when OpenSearch answered. */
  readonly status?: number;
  constructor(what: string, status: number | undefined, detail: string, options?: ErrorOptions) {
    super(
      `${what} failed${status === undefined ? "" : ` with HTTP ${status}`}: ${detail}${
        hint(status)
      }`,
      options,
    );
    this.name = "SinkRequestError";
    this.status = status;
  }
}

function hint(status: number | undefined): string {
  if (status === 401) return " (check the sink's username and password)";
  if (status === 403) return " (the OpenSearch user lacks a permission on this index)";
  return "";
}

/** A write or lifecycle call named an index that `ensure` was not given. */
export class UnknownIndexError extends Error {
  readonly index: string;
  constructor(index: string, known: readonly string[]) {
    super(
      `index ${JSON.stringify(index)} is not known to the sink (ensured: ${
        known.length === 0 ? "none" : known.join(", ")
      }); call ensure() with its definition first`,
    );
    this.name = "UnknownIndexError";
    this.index = index;
  }
}

/** A lifecycle step was asked for in a state that does not allow it. */
export class LifecycleError extends Error {
  readonly index: string;
  constructor(index: string, message: string) {
    super(`index ${JSON.stringify(index)}: ${message}`);
    this.name = "LifecycleError";
    this.index = index;
  }
}

/** The sink configuration cannot be used (unreadable CA file, bad URL). */
export class SinkConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SinkConfigError";
  }
}
