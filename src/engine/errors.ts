/**
 * The engine's failures that a retry cannot fix. Each carries what failed, where, and what
 * the operator can do about it; the CLI maps all of them to exit code 1.
 */
import { formatLsn, type Lsn } from "./change.ts";
import type { EngineComponent } from "./observer.ts";

/** A document the sink refused for good, in an index whose policy is `stop`. */
export class DocumentRejectedError extends Error {
  readonly index: string;
  readonly id: string;
  /** OpenSearch's error type, e.g. `mapper_parsing_exception`. */
  readonly errorType: string;
  readonly reason: string;
  /** Version of the refused write (commit LSN, or the backfill's start LSN). */
  readonly lsn: Lsn;
  constructor(
    details: {
      readonly index: string;
      readonly id: string;
      readonly errorType: string;
      readonly reason: string;
      readonly lsn: Lsn;
    },
  ) {
    super(
      `index "${details.index}" rejected document "${details.id}" at ${
        formatLsn(details.lsn)
      }: ${details.errorType}: ${details.reason}. The pipeline stopped without confirming ` +
        `the batch (on_error = "stop"); fix the schema or the row and restart, or set ` +
        `on_error = "skip" on the index to quarantine such documents to the dead-letter store`,
    );
    this.name = "DocumentRejectedError";
    this.index = details.index;
    this.id = details.id;
    this.errorType = details.errorType;
    this.reason = details.reason;
    this.lsn = details.lsn;
  }
}

/** A port call failed with an error that is not transient; the engine stopped. */
export class PortFailedError extends Error {
  readonly component: EngineComponent;
  readonly operation: string;
  constructor(component: EngineComponent, operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${operation} failed: ${detail}. This is not a transient failure, so the engine ` +
        `stopped; unconfirmed changes are redelivered on the next start`,
      { cause },
    );
    this.name = "PortFailedError";
    this.component = component;
    this.operation = operation;
  }
}

/** Internal: the shutdown grace period ran out while work was still in flight. */
export class AbandonedError extends Error {
  constructor(what: string) {
    super(`abandoned ${what}: the shutdown grace period ran out`);
    this.name = "AbandonedError";
  }
}
