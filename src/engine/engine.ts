/**
 * The pipeline runner: the one place that wires queue, batching, flushing, confirmation,
 * backfill and shutdown together over the ports.
 *
 *     const result = await runEngine({ source, builder, sink, observer }, options, signal);
 *
 * Order of work: `sink.ensure` the enabled indexes, `source.open`, start backfills of the
 * unseeded ones (under the exported snapshot when there is one), then three loops share the
 * event loop until `signal` aborts, the source ends, or something fatal happens:
 * - capture: pulls source events into the bounded queue (a full queue pauses the pull);
 * - live: collects a batch, resolves/builds it while the previous batch flushes, then flushes
 *   it and confirms its commits — flushes run one at a time, in batch order, so
 *   confirmations are in order and never precede their flush;
 * - backfill: one job per unseeded index, page by page.
 *
 * On `signal`: capture stops, the in-flight batch may finish within `shutdownGraceMs` (else
 * it is abandoned, unconfirmed), backfills stop at a page boundary, the source is closed
 * (sending the confirmed position) and the promise resolves. When the source ends by itself
 * the queue is drained and running backfills finish first. A `stop` rejection or a
 * non-transient port failure rejects with `DocumentRejectedError` / `PortFailedError`.
 */
import type { Lsn, SourceEvent } from "./change.ts";
import type { ChangeSource, DocumentBuilder, IndexStatus, Sink, SourceStart } from "./ports.ts";
import { type Clock, systemClock } from "./clock.ts";
import { nullObserver, type Observer } from "./observer.ts";
import { type EngineOptions, resolveOptions } from "./options.ts";
import { createQueue } from "./queue.ts";
import { collectBatch } from "./batcher.ts";
import { eventSize } from "./batch.ts";
import { flushPrepared, prepareBatch, type PreparedBatch } from "./apply.ts";
import { backfillIndex, type BackfillJob } from "./backfill.ts";
import { isTransient, type RetryContext, retryTransient } from "./retry.ts";
import { backoffDelay } from "./backoff.ts";
import { type FlushOutcome, nextLimit } from "./aimd.ts";
import { AbandonedError, PortFailedError } from "./errors.ts";
import { createDeferredKeys } from "./deferred_keys.ts";

/** A catch-up window carries at most this many batches' worth of distinct keys. */
const CATCH_UP_WINDOW_BATCHES = 8;

/** The adapters the engine drives. `observer`, `clock` and `random` are optional. */
export interface EnginePorts {
  readonly source: ChangeSource;
  readonly builder: DocumentBuilder;
  readonly sink: Sink;
  readonly observer?: Observer;
  readonly clock?: Clock;
  /** For backoff jitter; returns [0, 1). */
  readonly random?: () => number;
  /** Lets operators (HTTP, schedules) ask the running engine for a reindex. */
  readonly control?: EngineControl;
}

/** Requests from outside the pipeline, served while the engine runs. */
export interface EngineControl {
  /**
   * Rebuilds `index` into a new generation while the current one keeps serving; resolves once
   * the rebuild has started. Rejects with `EngineNotRunningError` before start or after stop.
   */
  reindex(index: string): Promise<void>;
}

/** Raised by `EngineControl` when no engine is running to take the request. */
export class EngineNotRunningError extends Error {
  constructor(readonly index: string) {
    super(`cannot reindex "${index}": the pipeline is not running (yet)`);
    this.name = "EngineNotRunningError";
  }
}

/** A control handle to pass in `EnginePorts.control`; it works while that engine runs. */
export function createEngineControl(): EngineControl & {
  bind(handler: ((index: string) => Promise<void>) | undefined): void;
} {
  let handler: ((index: string) => Promise<void>) | undefined;
  return {
    bind(next) {
      handler = next;
    },
    reindex(index) {
      return handler ? handler(index) : Promise.reject(new EngineNotRunningError(index));
    },
  };
}

/** How a run ended (a failure rejects instead). */
export interface EngineResult {
  /** `stopped`: the signal aborted. `source_ended`: the source had nothing more. */
  readonly reason: "stopped" | "source_ended";
  /** The last LSN confirmed to the source by this run. */
  readonly confirmedLsn?: Lsn;
  /** Batches flushed and confirmed. */
  readonly batches: number;
  /** Changes in those batches. */
  readonly changes: number;
  /** True when an in-flight batch was given up because the grace period ran out. */
  readonly abandoned: boolean;
}

/** Runs the pipeline until `signal` aborts, the source ends, or a fatal error. */
export async function runEngine(
  ports: EnginePorts,
  engineOptions: EngineOptions,
  signal: AbortSignal,
): Promise<EngineResult> {
  const options = resolveOptions(engineOptions);
  const { source, builder, sink } = ports;
  const observer = ports.observer ?? nullObserver;
  const clock = ports.clock ?? systemClock;
  const random = ports.random ?? Math.random;
  const enabled = new Set(options.indexes.filter((i) => i.enabled).map((i) => i.name));

  const stop = new AbortController();
  const abandon = new AbortController();
  const graceTimer = new AbortController();
  let fatal: Error | undefined;
  let abandoned = false;
  let sourceEnded = false;

  const fail = (error: unknown) => {
    if (error instanceof AbandonedError) {
      // Given up after the grace period (or at start, on a stop request): not a failure.
      if (abandon.signal.aborted) abandoned = true;
      return;
    }
    if (!fatal) {
      fatal = error instanceof Error ? error : new Error(String(error));
      observer.emit({ type: "fatal_error", error: fatal });
    }
    stop.abort();
    abandon.abort();
  };
  const requestStop = () => {
    if (stop.signal.aborted) return;
    observer.emit({ type: "phase", phase: "stopping" });
    stop.abort();
    void clock.sleep(options.shutdownGraceMs, graceTimer.signal).then((elapsed) => {
      if (elapsed) abandon.abort();
    });
  };
  if (signal.aborted) requestStop();
  else signal.addEventListener("abort", requestStop, { once: true });

  const retryContext: RetryContext = {
    clock,
    observer,
    backoff: options.backoff,
    random,
    abandon: abandon.signal,
  };
  // Retries at start give up on the first stop request: nothing is in flight yet.
  const startContext: RetryContext = { ...retryContext, abandon: stop.signal };

  let confirmedLsn: Lsn | undefined;
  let batches = 0;
  let changes = 0;
  let start: SourceStart | undefined;
  let snapshotReleased = false;

  observer.emit({ type: "phase", phase: "starting" });
  try {
    const definitions = options.indexes.filter((i) => i.enabled).map((i) => i.definition);
    const statuses = await retryTransient(
      startContext,
      "sink",
      "sink.ensure",
      () => sink.ensure(definitions),
    );
    observer.emit({
      type: "indexes_ensured",
      indexes: statuses.map(({ index, generation, seeded }) => ({ index, generation, seeded })),
    });
    start = await retryTransient(startContext, "source", "source.open", () => source.open());
    const opened = start;
    observer.emit({
      type: "live_started",
      startLsn: opened.startLsn,
      slotCreated: opened.slotCreated,
    });
    observer.emit({ type: "phase", phase: "streaming" });

    const queue = createQueue<SourceEvent>({
      capacity: options.pipeline.queueCapacity,
      bytes: options.pipeline.queueBytes,
    });

    // Backfill jobs, one per index at most; a TRUNCATE replaces the running one.
    const jobs = new Map<string, { stop: AbortController; done: Promise<void> }>();
    const flushContext = { ...retryContext, sink, options };
    const runJob = (job: BackfillJob) => {
      const jobStop = new AbortController();
      const onStop = () => jobStop.abort();
      stop.signal.addEventListener("abort", onStop, { once: true });
      const context = { ...flushContext, builder, startLsn: opened.startLsn };
      const done = backfillIndex(context, job, jobStop.signal)
        .then(() => {}, fail)
        .finally(() => {
          stop.signal.removeEventListener("abort", onStop);
          if (jobs.get(job.index)?.done === done) jobs.delete(job.index);
        });
      jobs.set(job.index, { stop: jobStop, done });
      return done;
    };
    const reindex = async (index: string, reason: "truncate" | "requested" = "truncate") => {
      const running = jobs.get(index);
      if (running) {
        // Wait for it, or its last cursor could land on the new generation.
        running.stop.abort();
        await running.done;
      }
      await retryTransient(
        retryContext,
        "sink",
        "sink.startReindex",
        () => sink.startReindex(index),
      );
      observer.emit({ type: "reindex_started", index, reason });
      // Rows are read fresh: the exported snapshot predates the TRUNCATE.
      void runJob({ index });
    };

    const control = ports.control as ReturnType<typeof createEngineControl> | undefined;
    control?.bind?.((index) => {
      if (!enabled.has(index)) return Promise.reject(new EngineNotRunningError(index));
      return reindex(index, "requested");
    });
    const initial = await startBackfills(statuses, opened);
    void Promise.allSettled(initial.map(runJob)).then(() => releaseSnapshot(opened));

    const capture = captureLoop(queue).then(() => {
      if (!stop.signal.aborted) sourceEnded = true;
    }, fail).finally(() => queue.close());
    const live = liveLoop(queue, reindex).catch(fail);
    await Promise.all([capture, live]);
    while (jobs.size > 0) await Promise.all([...jobs.values()].map((j) => j.done));
  } catch (error) {
    fail(error);
  } finally {
    (ports.control as ReturnType<typeof createEngineControl> | undefined)?.bind?.(undefined);
    graceTimer.abort();
    if (start) await releaseSnapshot(start);
    await closeQuietly(() => source.close(), "source", "source.close");
    await closeQuietly(() => sink.close(), "sink", "sink.close");
  }
  observer.emit({ type: "phase", phase: fatal ? "failed" : "stopped" });
  if (fatal) throw fatal;
  return {
    reason: sourceEnded && !signal.aborted ? "source_ended" : "stopped",
    confirmedLsn,
    batches,
    changes,
    abandoned,
  };

  /** The backfills to start: unseeded indexes, or all of them when the slot is new. */
  async function startBackfills(
    statuses: readonly IndexStatus[],
    opened: SourceStart,
  ): Promise<BackfillJob[]> {
    if (options.skipBackfill) return [];
    const snapshot = opened.snapshot?.name;
    const jobs: BackfillJob[] = [];
    for (const status of statuses) {
      if (!enabled.has(status.index)) continue;
      if (!status.seeded) {
        jobs.push({ index: status.index, after: status.backfillCursor, snapshot });
      } else if (opened.slotCreated) {
        // A new slot on a seeded index: changes made while no slot existed were never
        // streamed, so rebuild a new generation from the snapshot the slot starts at.
        await retryTransient(
          startContext,
          "sink",
          "sink.startReindex",
          () => sink.startReindex(status.index),
        );
        jobs.push({ index: status.index, snapshot });
      }
    }
    return jobs;
  }

  async function captureLoop(queue: ReturnType<typeof createQueue<SourceEvent>>) {
    for (let attempt = 0; !stop.signal.aborted; attempt++) {
      try {
        // Counted per transaction (or per 1,024 changes of a large one), not per change: the
        // observers' bookkeeping per change cost as much as a change's decoding.
        let count = 0;
        let bytes = 0;
        const report = () => {
          if (count === 0) return;
          observer.emit({ type: "changes_captured", count, bytes });
          count = 0;
          bytes = 0;
        };
        for await (const run of source.events(stop.signal)) {
          if (stop.signal.aborted) return;
          for (const event of run) {
            const size = eventSize(event);
            if (event.kind === "change") {
              count++;
              bytes += size;
              if (count >= 1024) report();
            } else {
              report();
            }
            // A run goes in without a wait while it fits; the batcher wakes once per run.
            if (!queue.offer(event, size) && !await queue.push(event, size, stop.signal)) return;
          }
          attempt = -1;
        }
        return;
      } catch (error) {
        if (stop.signal.aborted) return;
        if (!isTransient(error)) throw new PortFailedError("source", "source.events", error);
        const retryInMs = backoffDelay(Math.max(0, attempt), options.backoff, random);
        observer.emit({
          type: "transient_error",
          component: "source",
          operation: "source.events",
          error: error as Error,
          attempt: Math.max(0, attempt) + 1,
          retryInMs,
        });
        if (!await clock.sleep(retryInMs, stop.signal)) return;
      }
    }
  }

  async function liveLoop(
    queue: ReturnType<typeof createQueue<SourceEvent>>,
    reindex: (index: string) => Promise<void>,
  ) {
    const { maxChanges, maxBatchBytes, maxDelayMs } = options.pipeline;
    let limit = options.adaptive.max;
    const onFlush = (outcome: FlushOutcome) => {
      const next = nextLimit(limit, outcome, options.adaptive);
      if (next === limit) return;
      observer.emit({
        type: "batch_limit",
        limit: next,
        reason: next < limit ? "congested" : "healthy",
      });
      limit = next;
    };
    const context = {
      ...retryContext,
      sink,
      options,
      builder,
      enabled,
      reindex,
      onFlush,
      // Slices of one large transaction are built once, with the slice holding its commit;
      // while a backlog waits, a window of batches is built once (a backlog touches the same
      // documents again and again). Only keys are carried: a batch builds one batch's worth
      // of documents ahead and the rest while writing, so memory stays near one batch's.
      deferred: createDeferredKeys({
        sliceKeys: maxChanges,
        windowKeys: options.catchUpWindowMs > 0 ? CATCH_UP_WINDOW_BATCHES * maxChanges : 0,
        windowMs: options.catchUpWindowMs,
      }),
    };
    // Two batches in flight at most: batch N flushes while batch N+1 is collected, resolved
    // and built. Flushes run one after another and each confirms after its own flush, so
    // confirmations stay in order and never precede their flush; writes reach the sink in
    // batch order, so a document's newer version is never overtaken by an older one.
    let flushing: Promise<boolean> | undefined;
    let writing = false;
    const flushAndConfirm = async (built: PreparedBatch): Promise<boolean> => {
      // Caught up only if nothing arrived while the batch was being built: a batch closed by
      // count on a momentarily empty queue must not ask for a refresh mid-backlog.
      const caughtUp = built.batch.caughtUp && queue.length === 0;
      const prepared = { ...built, batch: { ...built.batch, caughtUp } };
      try {
        const report = await flushPrepared(context, prepared);
        if (abandon.signal.aborted) return false;
        if (report.confirmLsn !== undefined) {
          source.confirm(report.confirmLsn);
          confirmedLsn = report.confirmLsn;
        }
        batches++;
        changes += report.changes;
        observer.emit({
          type: "batch_committed",
          changes: report.changes,
          transactions: report.transactions,
          documents: report.documents,
          upserts: report.upserts,
          deletes: report.deletes,
          quarantined: report.quarantined,
          resolveMs: report.resolveMs,
          buildMs: report.buildMs,
          flushMs: report.flushMs,
          latencyMs: report.firstCommitTime === undefined
            ? undefined
            : Math.max(0, clock.now() - report.firstCommitTime.getTime()),
          confirmedLsn: report.confirmLsn,
          caughtUp: prepared.batch.caughtUp,
          batchLimit: prepared.batch.limit,
        });
        return true;
      } catch (error) {
        // Fail at once: the loop may be waiting on an empty queue, not on this flush.
        fail(error);
        return false;
      }
    };
    try {
      for (;;) {
        // The byte cap shrinks in proportion with the adaptive count cap.
        const maxBytes = Math.max(1, Math.floor(maxBatchBytes * limit / maxChanges));
        // Keys carried from earlier batches are built after max_delay without traffic, and
        // before the loop ends with the source: their commits wait for them.
        const idleMs = context.deferred.size > 0 ? maxDelayMs : undefined;
        const batch = await collectBatch(
          queue,
          { maxChanges: limit, maxBytes, maxDelayMs, idleMs },
          clock,
          stop.signal,
        );
        if (!batch) return;
        observer.emit({
          type: "queue",
          depth: queue.length,
          bytes: queue.bytes,
          capacity: options.pipeline.queueCapacity,
          capacityBytes: options.pipeline.queueBytes,
        });
        const prepared = await prepareBatch(context, batch, flushing, writing);
        if (prepared.held) {
          // Nothing to write or confirm: go on collecting while the previous batch flushes,
          // so a catch-up window fills while the one before it is built and written. Its
          // changes count as committed with the batch that writes its keys.
          if (abandon.signal.aborted || fatal) return;
          observer.emit({
            type: "batch_held",
            changes: prepared.changes,
            transactions: prepared.transactions,
            resolveMs: prepared.resolveMs,
            carriedKeys: context.deferred.size,
          });
          continue;
        }
        if (flushing && !await flushing) return;
        if (abandon.signal.aborted || fatal) return;
        writing = true;
        flushing = flushAndConfirm(prepared).finally(() => (writing = false));
      }
    } finally {
      // A stop lets the last flush finish (within the grace period) so it is confirmed.
      if (flushing) await flushing;
    }
  }

  async function releaseSnapshot(opened: SourceStart) {
    const snapshot = opened.snapshot;
    if (!snapshot || snapshotReleased) return;
    snapshotReleased = true;
    try {
      await snapshot.release();
    } catch {
      // The snapshot's transaction ends with its connection anyway; nothing to recover.
    }
  }

  async function closeQuietly(
    close: () => Promise<void>,
    component: "source" | "sink",
    operation: string,
  ) {
    try {
      await close();
    } catch (error) {
      // A failed close after a fatal error adds nothing; after a clean run it is the failure.
      if (!fatal) fail(new PortFailedError(component, operation, error));
    }
  }
}
