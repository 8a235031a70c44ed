/**
 * The bounded in-process queue between capture and batching, bounded by count and by bytes.
 * A full queue makes `push` wait, and since the capture loop awaits each push before
 * pulling the next event, a full queue pauses capture (Postgres keeps the WAL): backpressure,
 * never dropping and never growing. Single producer, single consumer.
 */

/** Both bounds of the queue (`[pipeline] queue_capacity` and `queue_bytes`). */
export interface QueueLimits {
  /** Most items held at once. */
  readonly capacity: number;
  /** Most bytes held at once; one larger item is still accepted into an empty queue. */
  readonly bytes: number;
}

/** A bounded FIFO with waiting push and waiting "item available". */
export interface BoundedQueue<T> {
  /** Items held. */
  readonly length: number;
  /** Sum of the held items' sizes. */
  readonly bytes: number;
  /** True after `close()`: no more pushes, the consumer drains what is left. */
  readonly closed: boolean;
  /**
   * Adds `item` once it fits. Resolves true when added, false when the queue was closed or
   * `signal` aborted before it fit (the item is then not in the queue).
   */
  push(item: T, size: number, signal?: AbortSignal): Promise<boolean>;
  /**
   * Adds `item` if it fits now and the queue is open; false otherwise (then `push` waits for
   * room). Settles nothing, so a producer with many items in hand adds them in one go.
   */
  offer(item: T, size: number): boolean;
  /** The oldest item, without removing it. */
  peek(): { readonly item: T; readonly size: number } | undefined;
  /** Removes and returns the oldest item. */
  take(): { readonly item: T; readonly size: number } | undefined;
  /**
   * Resolves true once an item is available, false when the queue is closed and empty or
   * `signal` aborted. Costs nothing while waiting (no polling).
   */
  waitForItem(signal?: AbortSignal): Promise<boolean>;
  /** Refuses further pushes and wakes every waiter. */
  close(): void;
}

const RESOLVED_TRUE = Promise.resolve(true);

/** Creates an empty queue with `limits`. */
export function createQueue<T>(limits: QueueLimits): BoundedQueue<T> {
  if (!(limits.capacity >= 1) || !(limits.bytes >= 1)) {
    throw new RangeError(
      `queue limits must be at least 1 (capacity ${limits.capacity}, bytes ${limits.bytes})`,
    );
  }
  let items: { item: T; size: number }[] = [];
  let head = 0;
  let bytes = 0;
  let closed = false;
  const spaceWaiters = new Set<() => void>();
  const itemWaiters = new Set<() => void>();

  const length = () => items.length - head;
  // An oversized item must still pass through an empty queue, or capture would deadlock.
  const fits = (size: number) =>
    length() < limits.capacity && (length() === 0 || bytes + size <= limits.bytes);
  const wake = (waiters: Set<() => void>) => {
    // Runs on every push and take: only copy (waiters remove themselves) when there are any.
    if (waiters.size === 0) return;
    for (const waiter of [...waiters]) waiter();
  };
  const wait = (waiters: Set<() => void>, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      const done = () => {
        waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  const offer = (item: T, size: number): boolean => {
    if (closed || !fits(size)) return false;
    items.push({ item, size });
    bytes += size;
    wake(itemWaiters);
    return true;
  };

  return {
    get length() {
      return length();
    },
    get bytes() {
      return bytes;
    },
    get closed() {
      return closed;
    },
    push(item, size, signal) {
      // The common case, room right away, settles without a suspended async function.
      if (!signal?.aborted && offer(item, size)) return RESOLVED_TRUE;
      return (async () => {
        while (!closed && !signal?.aborted && !fits(size)) await wait(spaceWaiters, signal);
        if (closed || signal?.aborted) return false;
        items.push({ item, size });
        bytes += size;
        wake(itemWaiters);
        return true;
      })();
    },
    offer,
    peek() {
      return head < items.length ? items[head] : undefined;
    },
    take() {
      if (head >= items.length) return undefined;
      const entry = items[head++];
      bytes -= entry.size;
      // Compact now and then so the backing array does not grow with throughput.
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      wake(spaceWaiters);
      return entry;
    },
    async waitForItem(signal) {
      while (length() === 0 && !closed && !signal?.aborted) await wait(itemWaiters, signal);
      return length() > 0 && !signal?.aborted;
    },
    close() {
      closed = true;
      wake(itemWaiters);
      wake(spaceWaiters);
    },
  };
}
