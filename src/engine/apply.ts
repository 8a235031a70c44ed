/**
 * Applying one live batch: resolve its changes to document keys, build each affected
 * document once (keys are de-duplicated per index however many changes touch them), and
 * flush. The two halves are separate (`prepareBatch`, `flushPrepared`) so the engine can
 * build the next batch while this one flushes. Confirmation is the caller's job, after the
 * flush resolves.
 */
import type { DocKey, DocumentBuilder, Resolution, SinkWrite } from "./ports.ts";
import type { Batch } from "./batch.ts";
import { type BatchSummary, summarize } from "./batch.ts";
import type { FlushOutcome } from "./aimd.ts";
import {
  distinctWrites,
  emptyTotals,
  type FlushContext,
  type FlushTotals,
  flushWrites,
} from "./flush.ts";
import { retryTransient } from "./retry.ts";
import type { Lsn } from "./change.ts";
import { type DeferredKeys, goneIdentities, keyIdentity } from "./deferred_keys.ts";

/** What applying a batch needs besides flushing. */
export interface ApplyContext extends FlushContext {
  readonly builder: DocumentBuilder;
  /** Names of the enabled indexes: the only ones written. */
  readonly enabled: ReadonlySet<string>;
  /** Starts a new generation of `index` and schedules its backfill (a TRUNCATE hit it). */
  readonly reindex: (index: string) => Promise<void>;
  /** Hears each flush's outcome, for adaptive sizing. */
  readonly onFlush: (outcome: FlushOutcome) => void;
  /** Carries keys to a later batch: large transactions' slices, catch-up windows. */
  readonly deferred?: DeferredKeys;
}

/** What happened to one batch. */
export interface BatchReport extends FlushTotals {
  readonly changes: number;
  readonly transactions: number;
  readonly confirmLsn?: Lsn;
  readonly firstCommitTime?: Date;
  readonly documents: Readonly<Record<string, number>>;
  readonly resolveMs: number;
  readonly buildMs: number;
}

/** The distinct keys, in first-seen order. */
export function distinctKeys(keys: readonly DocKey[]): DocKey[] {
  const seen = new Set<string>();
  const out: DocKey[] = [];
  for (const key of keys) {
    const id = JSON.stringify(key);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(key);
  }
  return out;
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Keys of one index to build in one call. */
export interface BuildTask {
  readonly index: string;
  readonly keys: readonly DocKey[];
}

/** A batch resolved and built, its writes not yet sent. */
export interface PreparedBatch {
  readonly batch: Batch;
  readonly summary: BatchSummary;
  /** Its keys were carried to a later batch: nothing to write, nothing to confirm. */
  readonly held: boolean;
  /**
   * Changes and commit events this batch completes once written: its own and those of the
   * batches whose keys it carries (a held batch: its own, completed later).
   */
  readonly changes: number;
  readonly transactions: number;
  /** Writes built ahead, one per document, in build order. */
  readonly writes: readonly SinkWrite[];
  /**
   * Keys beyond one batch's worth of documents (a closing catch-up window): built while the
   * writes ahead of them flush, so no more than a batch's documents are held at once.
   */
  readonly later: readonly BuildTask[];
  /** The version of every write. */
  readonly version?: Lsn;
  /** What to confirm once everything is written: this batch's commits and any carried. */
  readonly confirmLsn?: Lsn;
  /** The earliest commit among them, for latency. */
  readonly firstCommitTime?: Date;
  readonly documents: Readonly<Record<string, number>>;
  readonly resolveMs: number;
  readonly buildMs: number;
}

/**
 * Resolves and builds `batch` without writing anything, so it can run while the previous
 * batch flushes. `previous` settles when every earlier batch's writes are done: a TRUNCATE
 * waits for it before starting the new generation, so no older write lands in that
 * generation after its backfill began reading. `writing` says an earlier batch is still being
 * written (a catch-up window may then stay open).
 */
export async function prepareBatch(
  context: ApplyContext,
  batch: Batch,
  previous?: Promise<unknown>,
  writing = false,
): Promise<PreparedBatch> {
  const summary = summarize(batch.events);
  const documents: Record<string, number> = {};
  const nothing = (resolveMs: number, held = false): PreparedBatch => ({
    batch,
    summary,
    held,
    changes: summary.changes.length,
    transactions: summary.transactions,
    writes: [],
    later: [],
    documents,
    resolveMs,
    buildMs: 0,
  });
  const carried = context.deferred?.size ?? 0;
  if (summary.changes.length === 0 && carried === 0) {
    return { ...nothing(0), confirmLsn: summary.confirmLsn };
  }
  const { clock, builder } = context;

  let t = clock.now();
  const resolution: Resolution = summary.changes.length === 0
    ? { keys: new Map(), truncated: new Set<string>() }
    : await retryTransient(
      context,
      "builder",
      "builder.resolve",
      () => builder.resolve(summary.changes),
    );
  const resolveMs = clock.now() - t;

  // A new generation must exist before this batch writes, so its writes reach it too.
  const truncated = [...resolution.truncated].filter((index) => context.enabled.has(index));
  if (truncated.length > 0) await previous?.catch(() => {});
  for (const index of truncated) await context.reindex(index);

  // A commit-less slice, or a batch with a backlog behind it, may leave its documents to a
  // later batch (deferred_keys.ts); its commits are then confirmed with that batch.
  let merged: {
    keys: ReadonlyMap<string, readonly DocKey[]>;
    version?: Lsn;
    confirmLsn?: Lsn;
    firstCommitTime?: Date;
    changes?: number;
    transactions?: number;
  } = {
    keys: resolution.keys,
    version: summary.version,
    confirmLsn: summary.confirmLsn,
    firstCommitTime: summary.firstCommitTime,
    changes: summary.changes.length,
    transactions: summary.transactions,
  };
  // Keys whose root row is gone: deletes, written without a build.
  let gone: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  const deferred = context.deferred;
  if (deferred) {
    const now = clock.now();
    const taken = deferred.take({ ...merged, gone: resolution.gone }, now);
    const backlog = batch.full || !batch.caughtUp;
    const state = {
      changes: summary.changes.length,
      transactions: summary.transactions,
      backlog,
      busy: writing,
    };
    if (deferred.hold(taken, state, now)) return nothing(resolveMs, true);
    merged = taken;
    gone = taken.gone;
  } else {
    gone = goneIdentities(resolution.gone);
  }
  const { version, confirmLsn, firstCommitTime } = merged;
  const completes = {
    changes: merged.changes ?? summary.changes.length,
    transactions: merged.transactions ?? summary.transactions,
  };
  if (version === undefined) {
    return { ...nothing(resolveMs), ...completes, confirmLsn, firstCommitTime };
  }

  const tasks: BuildTask[] = [];
  const writes: SinkWrite[] = [];
  const absent = builder.absent?.bind(builder);
  for (const [index, keys] of merged.keys) {
    if (!context.enabled.has(index)) continue;
    // Merged keys are distinct already.
    const distinct = deferred ? keys : distinctKeys(keys);
    documents[index] = distinct.length;
    let present: readonly DocKey[] = distinct;
    const goneIds = absent ? gone?.get(index) : undefined;
    if (goneIds !== undefined && goneIds.size > 0) {
      const missing: DocKey[] = [];
      const kept: DocKey[] = [];
      for (const key of distinct) (goneIds.has(keyIdentity(key)) ? missing : kept).push(key);
      for (const w of distinctWrites(absent!(index, missing), version)) writes.push(w);
      present = kept;
    }
    for (const part of chunk(present, context.options.flushChunkSize)) {
      tasks.push({ index, keys: part });
    }
  }

  // A batch's documents are built ahead, while the previous batch is written. A closing
  // catch-up window holds many batches' worth: only its first chunk is built ahead, the rest
  // while earlier chunks are written, so a window never holds more than a few chunks.
  const total = tasks.reduce((n, task) => n + task.keys.length, 0);
  const aheadLimit = total <= context.options.pipeline.maxChanges ? total : 1;
  let buildMs = 0;
  let ahead = 0;
  let next = 0;
  for (; next < tasks.length && ahead < aheadLimit; next++) {
    t = clock.now();
    for (const w of await buildTask(context, tasks[next], version)) writes.push(w);
    buildMs += clock.now() - t;
    ahead += tasks[next].keys.length;
  }
  return {
    batch,
    summary,
    held: false,
    ...completes,
    writes,
    later: tasks.slice(next),
    version,
    confirmLsn,
    firstCommitTime,
    documents,
    resolveMs,
    buildMs,
  };
}

/** Builds one task's documents as writes at `version`. */
async function buildTask(
  context: ApplyContext,
  task: BuildTask,
  version: Lsn,
): Promise<SinkWrite[]> {
  const built = await retryTransient(
    context,
    "builder",
    `builder.build(${task.index})`,
    () => context.builder.build(task.index, task.keys),
  );
  // The builder returns one document per distinct key: no de-duplication needed here.
  return distinctWrites(built, version);
}

/**
 * Writes a prepared batch in chunks of `flushChunkSize`, building its `later` keys while
 * earlier chunks are written. Throws on a `stop` rejection or a fatal port error. Only the
 * batch's last write may ask for immediate visibility.
 */
export async function flushPrepared(
  context: ApplyContext,
  prepared: PreparedBatch,
): Promise<BatchReport> {
  const { batch } = prepared;
  const totals = emptyTotals();
  const parts = chunk(prepared.writes, context.options.flushChunkSize);
  const flush = (part: readonly SinkWrite[], refresh: boolean) =>
    flushWrites(context, part, refresh, totals, context.onFlush);
  // A batch's documents are distinct, so its parts may be written in any order: two at once
  // keep the sink busy while flusso encodes the next. Caught up, the last part (the one that
  // asks for a refresh) waits for every other, so the refresh makes the whole batch visible.
  let last = batch.caughtUp && prepared.later.length === 0 ? parts.pop() : undefined;
  let buildMs = prepared.buildMs;
  // Each write in flight is marked handled at once: its failure is rethrown where it is
  // awaited, after a build that may take a while, and must not count as unhandled meanwhile.
  const started = (promise: Promise<void>) => {
    promise.catch(() => {});
    return promise;
  };
  let writing = started(eachAtMostTwoAtOnce(parts, (part) => flush(part, false)));
  try {
    for (let i = 0; i < prepared.later.length; i++) {
      const t = context.clock.now();
      const writes = await buildTask(context, prepared.later[i], prepared.version!);
      buildMs += context.clock.now() - t;
      await writing;
      if (batch.caughtUp && i === prepared.later.length - 1) {
        last = writes;
        writing = Promise.resolve();
      } else {
        writing = started(flush(writes, false));
      }
    }
  } finally {
    // Nothing runs behind a failure: a failed build waits for the write in flight.
    await writing.catch(() => {});
  }
  // A failed write is thrown here (a failed build was thrown above).
  await writing;
  if (last) await flush(last, true);
  return {
    ...totals,
    changes: prepared.changes,
    transactions: prepared.transactions,
    confirmLsn: prepared.confirmLsn,
    firstCommitTime: prepared.firstCommitTime,
    documents: prepared.documents,
    resolveMs: prepared.resolveMs,
    buildMs,
  };
}

/**
 * Runs `work` on every item, two at a time. On a failure it starts nothing more, waits for
 * the other one in flight and throws the first failure, so nothing runs behind it.
 */
async function eachAtMostTwoAtOnce<T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      try {
        await work(items[next++]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all([worker(), worker()]);
  if (failure) throw failure.error;
}

/** Resolves, builds and flushes `batch`. Throws on a `stop` rejection or a fatal port error. */
export async function applyBatch(context: ApplyContext, batch: Batch): Promise<BatchReport> {
  return await flushPrepared(context, await prepareBatch(context, batch));
}
