/**
 * Applying one live batch: resolve its changes to document keys, build each affected
 * document once (keys are de-duplicated per index however many changes touch them), and
 * flush. The two halves are separate (`prepareBatch`, `flushPrepared`) so the engine can
 * build the next batch while this one flushes. Confirmation is the caller's job, after the
 * flush resolves.
 */
import type { DocKey, DocumentBuilder, SinkWrite } from "./ports.ts";
import type { Batch } from "./batch.ts";
import { type BatchSummary, summarize } from "./batch.ts";
import type { FlushOutcome } from "./aimd.ts";
import {
  emptyTotals,
  type FlushContext,
  type FlushTotals,
  flushWrites,
  toWrites,
} from "./flush.ts";
import { retryTransient } from "./retry.ts";
import type { Lsn } from "./change.ts";
import type { DeferredKeys } from "./deferred_keys.ts";

/** What applying a batch needs besides flushing. */
export interface ApplyContext extends FlushContext {
  readonly builder: DocumentBuilder;
  /** Names of the enabled indexes: the only ones written. */
  readonly enabled: ReadonlySet<string>;
  /** Starts a new generation of `index` and schedules its backfill (a TRUNCATE hit it). */
  readonly reindex: (index: string) => Promise<void>;
  /** Hears each flush's outcome, for adaptive sizing. */
  readonly onFlush: (outcome: FlushOutcome) => void;
  /** Carries the keys of commit-less batches to the next batch (see deferred_keys.ts). */
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

/** A batch resolved and built, its writes not yet sent. */
export interface PreparedBatch {
  readonly batch: Batch;
  readonly summary: BatchSummary;
  /** Every write of the batch, one per document, in build order. */
  readonly writes: readonly SinkWrite[];
  readonly documents: Readonly<Record<string, number>>;
  readonly resolveMs: number;
  readonly buildMs: number;
}

/**
 * Resolves and builds `batch` without writing anything, so it can run while the previous
 * batch flushes. `previous` settles when every earlier batch's writes are done: a TRUNCATE
 * waits for it before starting the new generation, so no older write lands in that
 * generation after its backfill began reading.
 */
export async function prepareBatch(
  context: ApplyContext,
  batch: Batch,
  previous?: Promise<unknown>,
): Promise<PreparedBatch> {
  const summary = summarize(batch.events);
  const documents: Record<string, number> = {};
  const prepared = (writes: SinkWrite[], resolveMs: number, buildMs: number): PreparedBatch => ({
    batch,
    summary,
    writes,
    documents,
    resolveMs,
    buildMs,
  });
  const carried = context.deferred?.size ?? 0;
  if (summary.changes.length === 0 && carried === 0) return prepared([], 0, 0);
  const { clock, builder } = context;

  let t = clock.now();
  const resolution = summary.changes.length === 0
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

  // A batch without a commit cannot be confirmed: build its documents with the next batch.
  let { keys: resolved } = resolution;
  let version = summary.version;
  if (context.deferred) {
    const merged = context.deferred.take(resolution.keys, version);
    if (summary.transactions === 0 && context.deferred.hold(merged)) {
      return prepared([], resolveMs, 0);
    }
    ({ keys: resolved, version } = merged);
  }
  if (version === undefined) return prepared([], resolveMs, 0);

  const tasks: { index: string; keys: DocKey[] }[] = [];
  for (const [index, keys] of resolved) {
    if (!context.enabled.has(index)) continue;
    const distinct = distinctKeys(keys);
    documents[index] = distinct.length;
    for (const part of chunk(distinct, context.options.flushChunkSize)) {
      tasks.push({ index, keys: part });
    }
  }

  let buildMs = 0;
  const writes: SinkWrite[] = [];
  for (const { index, keys } of tasks) {
    t = clock.now();
    const built = await retryTransient(
      context,
      "builder",
      `builder.build(${index})`,
      () => builder.build(index, keys),
    );
    buildMs += clock.now() - t;
    for (const w of toWrites(built, version)) writes.push(w);
  }
  return prepared(writes, resolveMs, buildMs);
}

/**
 * Writes a prepared batch in chunks of `flushChunkSize`. Throws on a `stop` rejection or a
 * fatal port error. Only the batch's last write may ask for immediate visibility.
 */
export async function flushPrepared(
  context: ApplyContext,
  prepared: PreparedBatch,
): Promise<BatchReport> {
  const { summary, batch } = prepared;
  const totals = emptyTotals();
  const parts = chunk(prepared.writes, context.options.flushChunkSize);
  // A batch's documents are distinct, so its parts may be written in any order: two at once
  // keep the sink busy while flusso encodes the next. Caught up, the last part (the one that
  // asks for a refresh) waits for every other, so the refresh makes the whole batch visible.
  const last = batch.caughtUp ? parts.pop() : undefined;
  await eachAtMostTwoAtOnce(
    parts,
    (part) => flushWrites(context, part, false, totals, context.onFlush),
  );
  if (last) await flushWrites(context, last, true, totals, context.onFlush);
  return {
    ...totals,
    changes: summary.changes.length,
    transactions: summary.transactions,
    confirmLsn: summary.confirmLsn,
    firstCommitTime: summary.firstCommitTime,
    documents: prepared.documents,
    resolveMs: prepared.resolveMs,
    buildMs: prepared.buildMs,
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
