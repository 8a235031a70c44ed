/**
 * A batch and what it means for confirmation, as pure functions. A batch may cut a
 * transaction in two; only transactions whose commit event is in a flushed batch are
 * confirmed, so a transaction spanning batches is confirmed after the batch holding its
 * commit flushed. Batches are flushed one after another, which keeps confirmations in order.
 */
import type { Change, Lsn, SourceEvent } from "./change.ts";

/** Changes and commit markers taken from the queue together. */
export interface Batch {
  readonly events: readonly SourceEvent[];
  /** Sum of the events' sizes. */
  readonly bytes: number;
  /** The queue was empty behind this batch when it closed: the sink may refresh now. */
  readonly caughtUp: boolean;
  /**
   * The batch closed on its count or byte cap, not on `max_delay`: changes arrive faster
   * than a batch holds (a backlog), even if the queue happened to be empty behind it.
   */
  readonly full: boolean;
  /** The adaptive cap on changes in force when the batch was collected. */
  readonly limit: number;
}

/** What a batch carries, derived from its events. */
export interface BatchSummary {
  readonly changes: readonly Change[];
  /** Commit events in the batch. */
  readonly transactions: number;
  /** The highest commit LSN whose commit event is in the batch: what to confirm after it. */
  readonly confirmLsn?: Lsn;
  /**
   * The version of every write the batch causes: the highest LSN among its changes. A
   * document built from current rows is at least as new as every change in the batch.
   */
  readonly version?: Lsn;
  /** The earliest commit time in the batch, for commit-to-indexed latency. */
  readonly firstCommitTime?: Date;
}

/** The size of an event for the queue's byte bound (a commit marker is tiny). */
export function eventSize(event: SourceEvent): number {
  return event.kind === "change" ? Math.max(1, event.change.size) : 16;
}

/** Summarises a batch's events. */
export function summarize(events: readonly SourceEvent[]): BatchSummary {
  const changes: Change[] = [];
  let transactions = 0;
  let confirmLsn: Lsn | undefined;
  let version: Lsn | undefined;
  let firstCommitTime: Date | undefined;
  for (const event of events) {
    if (event.kind === "change") {
      changes.push(event.change);
      if (version === undefined || event.change.lsn > version) version = event.change.lsn;
    } else {
      transactions++;
      if (confirmLsn === undefined || event.lsn > confirmLsn) confirmLsn = event.lsn;
      if (firstCommitTime === undefined || event.commitTime < firstCommitTime) {
        firstCommitTime = event.commitTime;
      }
    }
  }
  return { changes, transactions, confirmLsn, version, firstCommitTime };
}
