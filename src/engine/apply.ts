/**
 * Applying one live batch: resolve its changes to document keys, build each affected
 * document once (keys are de-duplicated per index however many changes touch them), and
 * flush. Confirmation is the caller's job, after this resolves.
 */
import type { DocKey, DocumentBuilder, SinkWrite } from "./ports.ts";
import type { Batch } from "./batch.ts";
import { summarize } from "./batch.ts";
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

/** What applying a batch needs besides flushing. */
export interface ApplyContext extends FlushContext {
  readonly builder: DocumentBuilder;
  /** Names of the enabled indexes: the only ones written. */
  readonly enabled: ReadonlySet<string>;
  /** Starts a new generation of `index` and schedules its backfill (a TRUNCATE hit it). */
  readonly reindex: (index: string) => Promise<void>;
  /** Hears each flush's outcome, for adaptive sizing. */
  readonly onFlush: (outcome: FlushOutcome) => void;
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

/** Resolves, builds and flushes `batch`. Throws on a `stop` rejection or a fatal port error. */
export async function applyBatch(context: ApplyContext, batch: Batch): Promise<BatchReport> {
  const summary = summarize(batch.events);
  const totals = emptyTotals();
  const documents: Record<string, number> = {};
  const report = (resolveMs: number, buildMs: number): BatchReport => ({
    ...totals,
    changes: summary.changes.length,
    transactions: summary.transactions,
    confirmLsn: summary.confirmLsn,
    firstCommitTime: summary.firstCommitTime,
    documents,
    resolveMs,
    buildMs,
  });
  if (summary.changes.length === 0 || summary.version === undefined) return report(0, 0);
  const version = summary.version;
  const { clock, builder } = context;

  let t = clock.now();
  const resolution = await retryTransient(
    context,
    "builder",
    "builder.resolve",
    () => builder.resolve(summary.changes),
  );
  const resolveMs = clock.now() - t;

  // A new generation must exist before this batch writes, so its writes reach it too.
  for (const index of resolution.truncated) {
    if (context.enabled.has(index)) await context.reindex(index);
  }

  const tasks: { index: string; keys: DocKey[] }[] = [];
  for (const [index, keys] of resolution.keys) {
    if (!context.enabled.has(index)) continue;
    const distinct = distinctKeys(keys);
    documents[index] = distinct.length;
    for (const part of chunk(distinct, context.options.flushChunkSize)) {
      tasks.push({ index, keys: part });
    }
  }

  let buildMs = 0;
  let pending: SinkWrite[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const { index, keys } = tasks[i];
    t = clock.now();
    const built = await retryTransient(
      context,
      "builder",
      `builder.build(${index})`,
      () => builder.build(index, keys),
    );
    buildMs += clock.now() - t;
    pending.push(...toWrites(built, version));
    const last = i === tasks.length - 1;
    if (!last && pending.length >= context.options.flushChunkSize) {
      await flushWrites(context, pending, false, totals, context.onFlush);
      pending = [];
    }
  }
  // Only the batch's last write may ask for immediate visibility.
  const parts = chunk(pending, context.options.flushChunkSize);
  for (let i = 0; i < parts.length; i++) {
    const caughtUp = i === parts.length - 1 && batch.caughtUp;
    await flushWrites(context, parts[i], caughtUp, totals, context.onFlush);
  }
  return report(resolveMs, buildMs);
}
