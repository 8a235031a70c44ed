/**
 * The engine's observer port: every lifecycle and progress fact the engine knows, as one
 * discriminated union. Logs, Prometheus metrics and `/status` are all derived from these
 * events, so nothing the operator sees can disagree with what the engine did.
 */
import type { Lsn } from "./change.ts";

/** Where the engine is in its life. */
export type EnginePhase = "starting" | "streaming" | "stopping" | "stopped" | "failed";

/** Which port a transient failure came from. */
export type EngineComponent = "source" | "builder" | "sink";

/** One index as the sink reported it at start. */
export interface EnsuredIndex {
  readonly index: string;
  readonly generation: number;
  readonly seeded: boolean;
}

/** Everything the engine reports. `type` discriminates. */
export type EngineEvent =
  | { readonly type: "phase"; readonly phase: EnginePhase }
  | { readonly type: "indexes_ensured"; readonly indexes: readonly EnsuredIndex[] }
  | {
    readonly type: "backfill_started";
    readonly index: string;
    /** Catalog estimate of the root table's rows (0 when unknown). */
    readonly estimatedRows: number;
    /** True when resuming after a saved cursor instead of starting from the first key. */
    readonly resumed: boolean;
  }
  | {
    readonly type: "backfill_progress";
    readonly index: string;
    /** Rows written by this run of the backfill (a resumed run counts from zero). */
    readonly rowsDone: number;
    readonly estimatedRows: number;
  }
  | {
    readonly type: "backfill_finished";
    readonly index: string;
    readonly rows: number;
    readonly durationMs: number;
  }
  | {
    /** An index is rebuilt into a new generation (a TRUNCATE touched it). */
    readonly type: "reindex_started";
    readonly index: string;
    readonly reason: "truncate" | "requested";
  }
  | {
    readonly type: "live_started";
    readonly startLsn: Lsn;
    readonly slotCreated: boolean;
  }
  | {
    /** Events taken from the source into the queue (commit markers count 0 changes). */
    readonly type: "changes_captured";
    readonly count: number;
    readonly bytes: number;
  }
  | {
    /** The queue's fill after a batch was taken from it. */
    readonly type: "queue";
    readonly depth: number;
    readonly bytes: number;
    readonly capacity: number;
    readonly capacityBytes: number;
  }
  | {
    /** A batch was flushed and its complete transactions confirmed to the source. */
    readonly type: "batch_committed";
    /** Changes completed by the flush: the batch's and those of the held batches it wrote. */
    readonly changes: number;
    /** Commit events completed by it (the held batches' included). */
    readonly transactions: number;
    /** Distinct documents written, per index. */
    readonly documents: Readonly<Record<string, number>>;
    readonly upserts: number;
    readonly deletes: number;
    readonly quarantined: number;
    readonly resolveMs: number;
    readonly buildMs: number;
    readonly flushMs: number;
    /** Now minus the earliest commit time in the batch; absent when it held no commit. */
    readonly latencyMs?: number;
    /** The LSN confirmed to the source after this batch, if it completed a transaction. */
    readonly confirmedLsn?: Lsn;
    /** The queue was empty when the batch closed. */
    readonly caughtUp: boolean;
    /** The adaptive cap on changes per batch at the time the batch closed. */
    readonly batchLimit: number;
  }
  | {
    /**
     * A batch was resolved and its keys carried to a later batch (a slice of a large
     * transaction, or part of a catch-up window): nothing written or confirmed yet. Its
     * changes are counted by the `batch_committed` of the batch that writes its keys.
     */
    readonly type: "batch_held";
    readonly changes: number;
    readonly transactions: number;
    readonly resolveMs: number;
    /** Distinct keys carried now, over every index. */
    readonly carriedKeys: number;
  }
  | {
    /** The adaptive batch cap moved (AIMD). */
    readonly type: "batch_limit";
    readonly limit: number;
    readonly reason: "congested" | "healthy";
  }
  | {
    readonly type: "document_quarantined";
    readonly index: string;
    readonly id: string;
    /** OpenSearch's error type, e.g. `mapper_parsing_exception`. */
    readonly errorType: string;
    readonly reason: string;
    /** Version of the refused write: the commit LSN (or the backfill's start LSN). */
    readonly lsn: Lsn;
  }
  | {
    readonly type: "transient_error";
    readonly component: EngineComponent;
    /** The port call that failed, e.g. `sink.write`. */
    readonly operation: string;
    readonly error: Error;
    readonly attempt: number;
    readonly retryInMs: number;
  }
  | { readonly type: "fatal_error"; readonly error: Error };

/** Receives engine events. Must not throw and must not block (it runs on the hot path). */
export interface Observer {
  emit(event: EngineEvent): void;
}

/** An observer that ignores everything. */
export const nullObserver: Observer = { emit() {} };

/** An observer that forwards every event to each of `observers` (logs + metrics + status). */
export function fanOut(...observers: readonly Observer[]): Observer {
  return {
    emit(event) {
      for (const observer of observers) observer.emit(event);
    },
  };
}
