/**
 * Prometheus metrics derived from engine events: an `Observer` that updates a registry. The
 * names are the public contract of /metrics (documented in the README); change them only
 * with a note in the changelog.
 */
import type { Observer } from "../engine/observer.ts";
import { type MetricRegistry, SECONDS_BUCKETS } from "./metrics.ts";
import type { SlotSample, StatusPhase } from "./status_model.ts";

/** The slot's `wal_status` values Postgres reports. */
const WAL_STATUSES = ["reserved", "extended", "unreserved", "lost"] as const;
const PHASES: readonly StatusPhase[] = [
  "starting",
  "backfilling",
  "live",
  "stopping",
  "stopped",
  "failed",
];

/** An observer feeding metrics, plus the inputs that are not engine events. */
export interface ObserverMetrics extends Observer {
  /** Records a slot-lag sample. */
  recordSlot(sample: SlotSample): void;
  /** Sets the phase gauge (the status model knows the operator's phase). */
  recordPhase(phase: StatusPhase): void;
}

/** Registers flusso's metrics on `registry` and returns the observer that updates them. */
export function createObserverMetrics(
  registry: MetricRegistry,
  options: { readonly now?: () => number } = {},
): ObserverMetrics {
  const now = options.now ?? Date.now;
  const started = now();
  const r = registry;
  const uptime = r.gauge({ name: "flusso_uptime_seconds", help: "Seconds since flusso started." });
  const phase = r.gauge({
    name: "flusso_phase",
    help: "1 for the current phase (starting, backfilling, live, stopping, stopped, failed).",
    labelNames: ["phase"],
  });
  const captured = r.counter({
    name: "flusso_changes_captured_total",
    help: "Row changes read from the replication slot into the queue.",
  });
  const capturedBytes = r.counter({
    name: "flusso_changes_captured_bytes_total",
    help: "Approximate bytes of the changes captured.",
  });
  const committed = r.counter({
    name: "flusso_changes_committed_total",
    help: "Row changes whose documents are durable in the index and confirmed to the slot.",
  });
  const transactions = r.counter({
    name: "flusso_transactions_committed_total",
    help: "Source transactions completed by flushed batches.",
  });
  const batches = r.counter({ name: "flusso_batches_total", help: "Batches flushed." });
  const documents = r.counter({
    name: "flusso_documents_built_total",
    help: "Documents built and written, per index.",
    labelNames: ["index"],
  });
  const writes = r.counter({
    name: "flusso_document_writes_total",
    help: "Document writes by operation (upsert, delete).",
    labelNames: ["op"],
  });
  const quarantined = r.counter({
    name: "flusso_documents_quarantined_total",
    help: "Documents OpenSearch refused for good and moved to the dead-letter index, per index.",
    labelNames: ["index"],
  });
  const backfillRows = r.counter({
    name: "flusso_backfill_rows_total",
    help: "Rows written by backfills, per index.",
    labelNames: ["index"],
  });
  const backfillEstimate = r.gauge({
    name: "flusso_backfill_estimated_rows",
    help: "Catalog estimate of the rows of the running backfill, per index.",
    labelNames: ["index"],
  });
  const generation = r.gauge({
    name: "flusso_index_generation",
    help: "The generation an index serves.",
    labelNames: ["index"],
  });
  const stage = r.histogram({
    name: "flusso_batch_stage_duration_seconds",
    help: "Time per batch in each stage (resolve, build, flush).",
    labelNames: ["stage"],
    buckets: SECONDS_BUCKETS,
  });
  const flush = r.histogram({
    name: "flusso_flush_duration_seconds",
    help: "Time to write one batch to OpenSearch until durable.",
    buckets: SECONDS_BUCKETS,
  });
  const latency = r.histogram({
    name: "flusso_commit_to_indexed_seconds",
    help: "From a transaction's commit in Postgres to its documents being durable in the index.",
    buckets: SECONDS_BUCKETS,
  });
  const lastFlush = r.gauge({
    name: "flusso_last_flush_timestamp_seconds",
    help: "Unix time of the last successful flush.",
  });
  const batchLimit = r.gauge({
    name: "flusso_batch_limit",
    help: "The adaptive cap on changes per batch.",
  });
  const queueDepth = r.gauge({ name: "flusso_queue_depth", help: "Events in the queue." });
  const queueBytes = r.gauge({ name: "flusso_queue_bytes", help: "Bytes in the queue." });
  const queueCapacity = r.gauge({
    name: "flusso_queue_capacity",
    help: "The queue's bound in events.",
  });
  const queueCapacityBytes = r.gauge({
    name: "flusso_queue_capacity_bytes",
    help: "The queue's bound in bytes.",
  });
  const slotLag = r.gauge({
    name: "flusso_slot_lag_bytes",
    help: "WAL bytes between the server's position and the slot's confirmed position.",
  });
  const slotSafe = r.gauge({
    name: "flusso_slot_safe_wal_size_bytes",
    help: "Bytes the slot can still fall behind before Postgres drops it (-1: unlimited).",
  });
  const walStatus = r.gauge({
    name: "flusso_slot_wal_status",
    help: "1 for the slot's current wal_status (reserved, extended, unreserved, lost).",
    labelNames: ["status"],
  });
  const errors = r.counter({
    name: "flusso_errors_total",
    help: "Errors by kind (transient, fatal) and component (source, builder, sink, engine).",
    labelNames: ["kind", "component"],
  });

  r.onCollect(() => uptime.set(undefined, Math.max(0, (now() - started) / 1000)));
  const setPhase = (current: StatusPhase) => {
    for (const p of PHASES) phase.set({ phase: p }, p === current ? 1 : 0);
  };
  setPhase("starting");
  // Per-index rows already counted for the running backfill (progress is absolute).
  const backfillSeen = new Map<string, number>();
  const addBackfillRows = (index: string, rowsDone: number) => {
    const seen = backfillSeen.get(index) ?? 0;
    if (rowsDone > seen) backfillRows.inc({ index }, rowsDone - seen);
    backfillSeen.set(index, Math.max(seen, rowsDone));
  };

  return {
    recordPhase: setPhase,
    recordSlot(sample) {
      slotLag.set(undefined, sample.lagBytes);
      slotSafe.set(undefined, sample.safeWalSize ?? -1);
      for (const s of WAL_STATUSES) walStatus.set({ status: s }, sample.walStatus === s ? 1 : 0);
    },
    emit(event) {
      switch (event.type) {
        case "phase":
          if (event.phase !== "streaming") setPhase(event.phase);
          return;
        case "indexes_ensured":
          for (const i of event.indexes) generation.set({ index: i.index }, i.generation);
          return;
        case "backfill_started":
          backfillSeen.set(event.index, 0);
          backfillEstimate.set({ index: event.index }, event.estimatedRows);
          return;
        case "backfill_progress":
          addBackfillRows(event.index, event.rowsDone);
          return;
        case "backfill_finished":
          addBackfillRows(event.index, event.rows);
          backfillSeen.delete(event.index);
          return;
        case "reindex_started":
        case "live_started":
          return;
        case "changes_captured":
          captured.inc(undefined, event.count);
          capturedBytes.inc(undefined, event.bytes);
          return;
        case "queue":
          queueDepth.set(undefined, event.depth);
          queueBytes.set(undefined, event.bytes);
          queueCapacity.set(undefined, event.capacity);
          queueCapacityBytes.set(undefined, event.capacityBytes);
          return;
        case "batch_committed":
          committed.inc(undefined, event.changes);
          transactions.inc(undefined, event.transactions);
          batches.inc();
          for (const [index, count] of Object.entries(event.documents)) {
            documents.inc({ index }, count);
          }
          writes.inc({ op: "upsert" }, event.upserts);
          writes.inc({ op: "delete" }, event.deletes);
          stage.observe({ stage: "resolve" }, event.resolveMs / 1000);
          stage.observe({ stage: "build" }, event.buildMs / 1000);
          stage.observe({ stage: "flush" }, event.flushMs / 1000);
          flush.observe(undefined, event.flushMs / 1000);
          if (event.latencyMs !== undefined) latency.observe(undefined, event.latencyMs / 1000);
          lastFlush.set(undefined, now() / 1000);
          batchLimit.set(undefined, event.batchLimit);
          return;
        case "batch_limit":
          batchLimit.set(undefined, event.limit);
          return;
        case "document_quarantined":
          quarantined.inc({ index: event.index });
          return;
        case "transient_error":
          errors.inc({ kind: "transient", component: event.component });
          return;
        case "fatal_error":
          errors.inc({ kind: "fatal", component: "engine" });
          setPhase("failed");
          return;
      }
    },
  };
}
