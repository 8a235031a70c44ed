/**
 * A soft ceiling on the resident set. flusso's live heap is small (tens of MiB: bounded queue,
 * two batches), but it allocates per change, and the runtime's collector lets garbage pile up
 * far beyond that before it runs. When the resident set passes the ceiling, this asks the
 * runtime for a full collection. A runtime without an exposed collector (Deno and Node without
 * `--expose-gc`) is left alone.
 */
import process from "node:process";

/** Options of `startMemoryCeiling`. */
export interface MemoryCeilingOptions {
  /** Resident set size above which a collection is requested. */
  readonly softLimitBytes: number;
  /** How often the resident set is checked (and so at most how often a collection runs). */
  readonly intervalMs: number;
  /** Current resident set size (default: `process.memoryUsage.rss()`). */
  readonly rss?: () => number;
  /**
   * Growth of the resident set, or of the heap since the last collection left it, that calls
   * for the next collection (default 8 MiB).
   */
  readonly growthBytes?: number;
  /** Live heap bytes, read right after a collection (default: `memoryUsage().heapUsed`). */
  readonly heapUsed?: () => number;
  /** The collector to call (default: the runtime's, when it exposes one). */
  readonly collect?: () => void;
}

/** The runtime's full collection, if it exposes one: Bun's `Bun.gc`, or a global `gc`. */
export function runtimeCollector(): (() => void) | undefined {
  const g = globalThis as {
    Bun?: { gc?: (force: boolean) => void };
    gc?: () => void;
  };
  if (typeof g.Bun?.gc === "function") return () => g.Bun!.gc!(true);
  if (typeof g.gc === "function") return () => g.gc!();
  return undefined;
}

/** Starts the periodic check; returns a function that stops it. */
export function startMemoryCeiling(options: MemoryCeilingOptions): () => void {
  const collect = options.collect ?? runtimeCollector();
  if (!collect) return () => {};
  const rss = options.rss ?? (() => process.memoryUsage.rss());
  const heapUsed = options.heapUsed ?? (() => process.memoryUsage().heapUsed);
  // At most one collection per interval, and only while memory grows: either the heap (the
  // garbage piling up since the last collection left it) or the resident set grew by a step.
  // The allocator keeps freed pages for reuse, so after a collection the resident set may
  // stay above the ceiling without growing; collecting again without new garbage would only
  // burn CPU. Measuring the heap too keeps a burst of garbage from lifting the resident set
  // step by step before each collection. When a collection finds most of the memory live
  // (the heap after it is over half the ceiling: big documents, many indexes), the next
  // tries back off too: 1, 2, 4 … 64 intervals.
  const step = options.growthBytes ?? 8 * 1024 * 1024;
  let skip = 0;
  let backoff = 1;
  let rssAtLast = 0;
  let heapAfterLast = 0;
  const timer = setInterval(() => {
    const now = rss();
    if (now <= options.softLimitBytes) {
      skip = 0;
      backoff = 1;
      rssAtLast = 0;
      heapAfterLast = 0;
      return;
    }
    if (skip > 0) {
      skip--;
      return;
    }
    if (now < rssAtLast + step && heapUsed() < heapAfterLast + step) return;
    collect();
    rssAtLast = now;
    heapAfterLast = heapUsed();
    if (heapAfterLast > options.softLimitBytes / 2) {
      skip = backoff;
      backoff = Math.min(64, backoff * 2);
    } else {
      backoff = 1;
    }
  }, options.intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
