/**
 * Carrying the document keys of a batch to the next one instead of building them now, in two
 * cases where building later is the same work done once:
 *
 * - **Slices of a large transaction.** A large transaction reaches the live loop as many
 *   batches (each capped at `max_changes`); every slice touches much the same documents, and
 *   none can be confirmed before the slice holding the COMMIT flushed. A commit-less batch
 *   only resolves its changes; its keys are built with a later batch, once, from current rows
 *   — which by then hold the whole committed transaction.
 * - **Catching up.** While a backlog waits in the queue (the batch closed on its count, not on
 *   `max_delay`, or the queue is not empty behind it), the documents a batch touches are mostly touched again a few batches later:
 *   a backlog after an outage touches the same hot customers thousands of times. Batches with
 *   commits are then carried too, for a bounded window (keys and time), and every document of
 *   the window is built once when it closes. The window's commits are confirmed only with the
 *   batch that built and flushed them.
 *
 *     const carry = createDeferredKeys({ sliceKeys: 4096, windowKeys: 32768, windowMs: 2000 });
 *     // in prepareBatch, after resolving:
 *     const merged = carry.take(batchKeys, now);        // adds what earlier batches carried
 *     if (carry.hold(merged, { changes, transactions, backlog }, now)) return nothing-to-write;
 *
 * Nothing is lost on a crash or stop: a carried batch is not confirmed, so it is redelivered.
 * Memory stays bounded: only keys are carried, at most `windowKeys` of them; the documents are
 * built and written in chunks by whoever builds them.
 */
import type { Lsn } from "./change.ts";
import type { DocKey } from "./ports.ts";

/** What one batch contributes to a carry: its keys and what confirming it means. */
export interface BatchKeys {
  /** Index name → keys the batch's changes resolved to. */
  readonly keys: ReadonlyMap<string, readonly DocKey[]>;
  /** Index name → keys among `keys` whose root row the batch left deleted (`Resolution.gone`). */
  readonly gone?: ReadonlyMap<string, readonly DocKey[]>;
  /** The highest LSN among the batch's changes (undefined: none). */
  readonly version?: Lsn;
  /** The highest commit LSN in the batch (undefined: no commit). */
  readonly confirmLsn?: Lsn;
  /** The earliest commit time in the batch. */
  readonly firstCommitTime?: Date;
  /** Changes in the batch (counted once its keys are written). */
  readonly changes?: number;
  /** Commit events in the batch. */
  readonly transactions?: number;
}

/** Keys merged with what earlier batches carried, and what writing them confirms. */
export interface MergedKeys {
  /** Index name → distinct keys, carried ones first. */
  readonly keys: ReadonlyMap<string, readonly DocKey[]>;
  /**
   * Index name → identities (`keyIdentity`) of the keys whose root row is gone at the end of
   * the merged batches: a later batch that touches a key again takes it out (conservatively:
   * building a document is always right, skipping the read only when nothing came after).
   */
  readonly gone?: ReadonlyMap<string, ReadonlySet<string>>;
  /** The highest LSN among the carried batches and this one (undefined: none had changes). */
  readonly version?: Lsn;
  /** The highest commit LSN among them: confirmed once these keys are written. */
  readonly confirmLsn?: Lsn;
  /** The earliest commit time among them, for commit-to-indexed latency. */
  readonly firstCommitTime?: Date;
  /** Changes of the merged batches: writing the keys completes them. */
  readonly changes?: number;
  /** Commit events of the merged batches. */
  readonly transactions?: number;
  /** Distinct keys over every index. */
  readonly count: number;
  /** When the oldest carried batch was taken (the clock's milliseconds). */
  readonly openedAt: number;
}

/** The bounds of a carry. */
export interface DeferredKeysOptions {
  /** Most keys carried from commit-less batches (slices of one large transaction). */
  readonly sliceKeys: number;
  /** Most keys carried while catching up on a backlog (0: batches with commits never wait). */
  readonly windowKeys: number;
  /**
   * How long a catch-up window stays open (longer only while an earlier batch is still being
   * written, which its commits would wait for anyway).
   */
  readonly windowMs: number;
}

/** What the batch being decided about is. */
export interface BatchState {
  /** Changes in the batch (0: an empty batch, closed to build what is carried). */
  readonly changes: number;
  /** Commit events in the batch. */
  readonly transactions: number;
  /** A backlog is behind the batch: it closed full, or the queue was not empty. */
  readonly backlog: boolean;
  /**
   * An earlier batch is still being written. Confirmations go in order, so a window closed
   * now could not confirm sooner than that write: it stays open past `windowMs` meanwhile.
   */
  readonly busy?: boolean;
}

/** The document keys carried from batch to batch. */
export interface DeferredKeys {
  /** Keys carried right now (0 when nothing is deferred). */
  readonly size: number;
  /**
   * Merges the carried keys into `batch`'s (de-duplicated per index) and empties the carry;
   * the caller either builds the result or hands it back with `hold`.
   */
  take(batch: BatchKeys, now: number): MergedKeys;
  /** Carries `merged` to the next batch when the bounds allow; true when carried. */
  hold(merged: MergedKeys, batch: BatchState, now: number): boolean;
}

/** A carry within `options`' bounds. */
export function createDeferredKeys(options: DeferredKeysOptions): DeferredKeys {
  let carried: MergedKeys | undefined;
  // The carried keys' identities, kept so each batch adds only its own keys: re-merging the
  // whole window every batch would cost O(window) per batch.
  const identities = new WeakMap<MergedKeys, Map<string, Set<string>>>();
  return {
    get size() {
      return carried?.count ?? 0;
    },
    take(batch, now) {
      // The carry is consumed: its key lists grow in place rather than being copied.
      const base: MergedKeys = carried ?? { keys: new Map(), count: 0, openedAt: now };
      const seen = (carried && identities.get(carried)) ?? identitiesOf(base);
      const merged = extend(base, seen, batch, goneIdentities(batch.gone));
      identities.set(merged, seen);
      carried = undefined;
      return merged;
    },
    hold(merged, batch, now) {
      if (merged.count === 0 || merged.count > holdBound(options, merged, batch, now)) {
        return false;
      }
      carried = merged;
      return true;
    },
  };
}

/** The most keys `merged` may hold and still be carried past a batch like `batch`. */
export function holdBound(
  options: DeferredKeysOptions,
  merged: MergedKeys,
  batch: BatchState,
  now: number,
): number {
  const slice = batch.transactions === 0 && batch.changes > 0 ? options.sliceKeys : 0;
  const open = now - merged.openedAt < options.windowMs || batch.busy === true;
  const window = batch.backlog && open ? options.windowKeys : 0;
  return Math.max(slice, window);
}

/** `carried` followed by `batch`'s keys, distinct per index; LSNs are the higher of the two. */
export function mergeKeys(
  carried: MergedKeys | undefined,
  batch: BatchKeys,
  now: number,
): MergedKeys {
  const empty: MergedKeys = { keys: new Map(), count: 0, openedAt: carried?.openedAt ?? now };
  const seen = new Map<string, Set<string>>();
  const base = carried ? extend(empty, seen, carried, carried.gone) : empty;
  return extend(base, seen, batch, goneIdentities(batch.gone));
}

/** Index name → the identities of `gone`'s keys. */
export function goneIdentities(
  gone: ReadonlyMap<string, readonly DocKey[]> | undefined,
): Map<string, Set<string>> | undefined {
  if (gone === undefined || gone.size === 0) return undefined;
  const out = new Map<string, Set<string>>();
  for (const [index, keys] of gone) out.set(index, new Set(keys.map(keyIdentity)));
  return out;
}

/**
 * Adds `batch` to `merged` in place (its key lists grow; `seen` holds their identities) and
 * returns it with the LSNs and commit time updated.
 */
function extend(
  merged: MergedKeys,
  seen: Map<string, Set<string>>,
  batch: Omit<BatchKeys, "gone">,
  batchGone: ReadonlyMap<string, ReadonlySet<string>> | undefined,
): MergedKeys {
  const lists = merged.keys as Map<string, DocKey[]>;
  const gone = (merged.gone ?? new Map()) as Map<string, Set<string>>;
  let count = merged.count;
  for (const [index, list] of batch.keys) {
    // A key the batch touches again is gone only if the batch itself says so.
    const goneBefore = gone.get(index);
    const goneAfter = batchGone?.get(index);
    const regone = goneBefore !== undefined && goneBefore.size > 0 ? goneBefore : undefined;
    let ids = seen.get(index);
    let target = lists.get(index);
    if (ids === undefined || target === undefined) {
      ids = new Set();
      target = [];
      seen.set(index, ids);
      lists.set(index, target);
    }
    for (const key of list) {
      const id = keyIdentity(key);
      if (regone !== undefined && !goneAfter?.has(id)) regone.delete(id);
      if (ids.has(id)) continue;
      ids.add(id);
      target.push(key);
      count++;
    }
  }
  for (const [index, ids] of batchGone ?? []) {
    const into = gone.get(index);
    if (into === undefined) gone.set(index, new Set(ids));
    else for (const id of ids) into.add(id);
  }
  const earlier = merged.firstCommitTime;
  const later = batch.firstCommitTime;
  return {
    keys: lists,
    ...(gone.size > 0 ? { gone } : {}),
    version: highest(merged.version, batch.version),
    confirmLsn: highest(merged.confirmLsn, batch.confirmLsn),
    firstCommitTime: earlier === undefined || (later !== undefined && later < earlier)
      ? later
      : earlier,
    changes: (merged.changes ?? 0) + (batch.changes ?? 0),
    transactions: (merged.transactions ?? 0) + (batch.transactions ?? 0),
    count,
    openedAt: merged.openedAt,
  };
}

/** The identities of `merged`'s keys, per index. */
function identitiesOf(merged: MergedKeys): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  for (const [index, list] of merged.keys) seen.set(index, new Set(list.map(keyIdentity)));
  return seen;
}

/** A key's identity within its index (all keys of one index have the same arity). */
export function keyIdentity(key: DocKey): string {
  // A plain single-column key is its own identity: no JSON for the common case.
  return key.length === 1 ? key[0] : JSON.stringify(key);
}

function highest(a: Lsn | undefined, b: Lsn | undefined): Lsn | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
