/**
 * Log lines derived from engine events: phase changes and milestones at info, retries and
 * quarantines at warn (with index, LSN and the error), a fatal error at error. Batches log at
 * debug only: at thousands per second they would drown everything else.
 */
import { formatLsn } from "../engine/change.ts";
import type { Observer } from "../engine/observer.ts";
import type { Logger } from "./logger.ts";

/** An observer that writes what an operator should read to `logger`. */
export function createLoggingObserver(logger: Logger): Observer {
  return {
    emit(event) {
      switch (event.type) {
        case "phase":
          logger.info(`engine ${event.phase}`, { phase: event.phase });
          return;
        case "indexes_ensured":
          for (const i of event.indexes) {
            logger.info("index ready", {
              index: i.index,
              generation: i.generation,
              seeded: i.seeded,
            });
          }
          return;
        case "live_started":
          logger.info(event.slotCreated ? "replication slot created" : "resuming from slot", {
            lsn: formatLsn(event.startLsn),
          });
          return;
        case "reindex_started":
          logger.warn("rebuilding index into a new generation", {
            index: event.index,
            reason: event.reason,
          });
          return;
        case "document_quarantined":
          logger.warn("document quarantined to the dead-letter index", {
            index: event.index,
            id: event.id,
            lsn: formatLsn(event.lsn),
            error_type: event.errorType,
            reason: event.reason,
          });
          return;
        case "transient_error":
          logger.warn(`${event.operation} failed; retrying`, {
            component: event.component,
            operation: event.operation,
            attempt: event.attempt,
            retry_in_ms: event.retryInMs,
            error: event.error,
          });
          return;
        case "fatal_error":
          logger.error("stopping on an error a retry cannot fix", { error: event.error });
          return;
        case "batch_committed":
          logger.debug("batch committed", {
            changes: event.changes,
            documents: event.upserts + event.deletes,
            resolve_ms: event.resolveMs,
            build_ms: event.buildMs,
            flush_ms: event.flushMs,
            latency_ms: event.latencyMs,
            lsn: event.confirmedLsn === undefined ? undefined : formatLsn(event.confirmedLsn),
          });
          return;
        case "batch_held":
          logger.debug("batch held", {
            changes: event.changes,
            resolve_ms: event.resolveMs,
            carried_keys: event.carriedKeys,
          });
          return;
        case "batch_limit":
          logger.debug("batch limit changed", { limit: event.limit, reason: event.reason });
          return;
        // Backfill progress has its own reporter (bars or progress logs); capture and queue
        // events are metrics only.
        case "backfill_started":
        case "backfill_progress":
        case "backfill_finished":
        case "changes_captured":
        case "queue":
          return;
      }
    },
  };
}
