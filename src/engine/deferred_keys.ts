/**
 * Deferring the build of a batch that holds no commit. A large transaction reaches the live
 * loop as many batches (each capped at `max_changes`); every slice touches much the same
 * documents, and none of them can be confirmed before the slice holding the COMMIT flushed.
 * Building and writing those documents once per slice repeats the same work (a 20 000-row
 * transaction over order_items rebuilt every customer twenty times). Instead, a commit-less
 * batch only resolves its changes; its document keys are carried to the next batch and built
 * there, once, from current rows — which already hold the whole committed transaction.
 *
 *     const carry = createDeferredKeys(4096);
 *     // in prepareBatch, after resolving:
 *     const merged = carry.take(resolution.keys, version);   // adds what earlier batches carried
 *     if (noCommitInBatch && carry.hold(merged)) return nothing-to-write;
 *
 * Nothing is lost on a crash or stop: a deferred batch is not confirmed, so it is redelivered.
 * Memory stays bounded: at most `maxKeys` distinct keys are carried; past that the batch is
 * built and written as usual.
 */
import type { Lsn } from "./change.ts";
import type { DocKey } from "./ports.ts";

/** Keys merged with what earlier batches carried, and the version to write them at. */
export interface MergedKeys {
  /** Index name → distinct keys, carried ones first. */
  readonly keys: ReadonlyMap<string, readonly DocKey[]>;
  /** The highest LSN among the carried batches and this one (undefined: none had changes). */
  readonly version?: Lsn;
  /** Distinct keys over every index. */
  readonly count: number;
}

/** The document keys carried from commit-less batches to the next one. */
export interface DeferredKeys {
  /** Keys carried right now (0 when nothing is deferred). */
  readonly size: number;
  /**
   * Merges the carried keys into `keys` (de-duplicated per index) and empties the carry; the
   * caller either builds the result or hands it back with `hold`.
   */
  take(keys: ReadonlyMap<string, readonly DocKey[]>, version: Lsn | undefined): MergedKeys;
  /** Carries `merged` to the next batch unless it exceeds the bound; true when carried. */
  hold(merged: MergedKeys): boolean;
}

/** A carry of at most `maxKeys` distinct document keys. */
export function createDeferredKeys(maxKeys: number): DeferredKeys {
  let carried: MergedKeys | undefined;
  return {
    get size() {
      return carried?.count ?? 0;
    },
    take(keys, version) {
      const merged = mergeKeys(carried, keys, version);
      carried = undefined;
      return merged;
    },
    hold(merged) {
      if (merged.count === 0 || merged.count > maxKeys) return false;
      carried = merged;
      return true;
    },
  };
}

/** `carried` followed by `keys`, distinct per index; the version is the higher of the two. */
export function mergeKeys(
  carried: MergedKeys | undefined,
  keys: ReadonlyMap<string, readonly DocKey[]>,
  version: Lsn | undefined,
): MergedKeys {
  const out = new Map<string, DocKey[]>();
  const seen = new Map<string, Set<string>>();
  let count = 0;
  const add = (index: string, list: readonly DocKey[]) => {
    let ids = seen.get(index);
    let target = out.get(index);
    if (ids === undefined || target === undefined) {
      ids = new Set();
      target = [];
      seen.set(index, ids);
      out.set(index, target);
    }
    for (const key of list) {
      const id = JSON.stringify(key);
      if (ids.has(id)) continue;
      ids.add(id);
      target.push(key);
      count++;
    }
  };
  if (carried) { for (const [index, list] of carried.keys) add(index, list); }
  for (const [index, list] of keys) add(index, list);
  const versions = [carried?.version, version].filter((v): v is Lsn => v !== undefined);
  const highest = versions.length === 0 ? undefined : versions.reduce((a, b) => (a > b ? a : b));
  return { keys: out, version: highest, count };
}
