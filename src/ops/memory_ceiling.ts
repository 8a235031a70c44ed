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
  // At most one collection per interval: when the memory above the ceiling is live data
  // rather than garbage, that bounds the cost (a full collection of a heap this size takes
  // milliseconds). RSS is not re-read after collecting, since the allocator returns freed
  // pages to the OS lazily; what matters is that freed memory is reused instead of grown.
  const timer = setInterval(() => {
    if (rss() > options.softLimitBytes) collect();
  }, options.intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
