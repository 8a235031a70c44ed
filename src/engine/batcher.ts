/**
 * Collecting one batch from the queue. A batch closes when it holds `maxChanges` changes,
 * when the next change would exceed `maxBytes`, or `maxDelayMs` after its first event —
 * whichever comes first. While the queue is empty the batcher only awaits a promise, so an
 * idle pipeline costs no CPU.
 */
import type { SourceEvent } from "./change.ts";
import type { Clock } from "./clock.ts";
import type { BoundedQueue } from "./queue.ts";
import type { Batch } from "./batch.ts";

/** When a batch closes. */
export interface BatchLimits {
  readonly maxChanges: number;
  readonly maxBytes: number;
  readonly maxDelayMs: number;
  /**
   * When set, a batch waits at most this long for its first event and closes empty if none
   * came: keys carried from earlier batches are then built instead of waiting for traffic.
   */
  readonly idleMs?: number;
}

/**
 * Waits for the first event, then collects until a limit is hit. Resolves undefined when
 * `stop` aborts (a partly collected batch is dropped: unconfirmed, it is redelivered) or the
 * queue is closed and drained.
 */
export async function collectBatch(
  queue: BoundedQueue<SourceEvent>,
  limits: BatchLimits,
  clock: Clock,
  stop: AbortSignal,
): Promise<Batch | undefined> {
  if (limits.idleMs === undefined) {
    if (!await queue.waitForItem(stop)) return undefined;
  } else if (!await waitUntil(queue, limits.idleMs, clock, stop)) {
    if (stop.aborted) return undefined;
    return { events: [], bytes: 0, caughtUp: true, full: false, limit: limits.maxChanges };
  }
  const closesAt = clock.now() + limits.maxDelayMs;
  const events: SourceEvent[] = [];
  let changes = 0;
  let bytes = 0;
  let full = false;
  // One deadline per batch, made at its first wait on an empty queue: a steady stream empties
  // the queue after nearly every change, and a timer, a controller and their listeners per
  // wait cost as much as decoding the change.
  let expired: Deadline | undefined;
  try {
    for (;;) {
      const next = queue.peek();
      if (next) {
        const isChange = next.item.kind === "change";
        if (isChange && changes >= limits.maxChanges) {
          full = true;
          break;
        }
        if (isChange && changes > 0 && bytes + next.size > limits.maxBytes) {
          full = true;
          break;
        }
        queue.take();
        events.push(next.item);
        bytes += next.size;
        if (isChange) changes++;
        continue;
      }
      if (changes >= limits.maxChanges || bytes >= limits.maxBytes) {
        full = true;
        break;
      }
      const remaining = closesAt - clock.now();
      if (remaining <= 0 || queue.closed || stop.aborted) break;
      expired ??= deadline(remaining, clock, stop);
      if (!await queue.waitForItem(expired.signal)) break;
    }
  } finally {
    expired?.dispose();
  }
  if (stop.aborted) return undefined;
  return { events, bytes, caughtUp: queue.length === 0, full, limit: limits.maxChanges };
}

/** True when an item arrived within `ms`; false on timeout, close or stop. */
async function waitUntil(
  queue: BoundedQueue<SourceEvent>,
  ms: number,
  clock: Clock,
  stop: AbortSignal,
): Promise<boolean> {
  const expired = deadline(ms, clock, stop);
  try {
    return await queue.waitForItem(expired.signal);
  } finally {
    expired.dispose();
  }
}

/** A signal that aborts after `ms` or on `stop`, whichever comes first. */
interface Deadline {
  readonly signal: AbortSignal;
  /** Cancels the timer and the listener on `stop`. */
  dispose(): void;
}

function deadline(ms: number, clock: Clock, stop: AbortSignal): Deadline {
  const controller = new AbortController();
  const onStop = () => controller.abort();
  if (stop.aborted) controller.abort();
  else stop.addEventListener("abort", onStop, { once: true });
  void clock.sleep(ms, controller.signal).then(() => controller.abort());
  return {
    signal: controller.signal,
    dispose() {
      stop.removeEventListener("abort", onStop);
      controller.abort();
    },
  };
}
