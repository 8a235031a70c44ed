/**
 * A readers–writer lock for one process: writes share it, lifecycle steps (alias swap, drop of
 * a generation, start of a generation) hold it alone, so no bulk is in flight towards an
 * index while it is deleted (a bulk into a deleted index would re-create it with dynamic
 * mappings).
 */

/** Runs work under the lock. */
export interface RwLock {
  shared<T>(work: () => Promise<T>): Promise<T>;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** A new, unlocked lock. Waiting exclusive holders go before later shared ones. */
export function createRwLock(): RwLock {
  let readers = 0;
  let writer = false;
  const queue: { exclusive: boolean; wake: () => void }[] = [];

  const pump = () => {
    while (queue.length > 0 && !writer) {
      const next = queue[0];
      if (next.exclusive) {
        if (readers > 0) return;
        writer = true;
      } else {
        readers++;
      }
      queue.shift();
      next.wake();
    }
  };
  const acquire = (exclusive: boolean) =>
    new Promise<void>((wake) => {
      queue.push({ exclusive, wake });
      pump();
    });
  const release = (exclusive: boolean) => {
    if (exclusive) writer = false;
    else readers--;
    pump();
  };
  const run = async <T>(exclusive: boolean, work: () => Promise<T>): Promise<T> => {
    await acquire(exclusive);
    try {
      return await work();
    } finally {
      release(exclusive);
    }
  };
  return {
    shared: (work) => run(false, work),
    exclusive: (work) => run(true, work),
  };
}
