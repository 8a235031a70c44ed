/**
 * Time as the engine sees it. Injected so tests can drive delays and backoff without
 * waiting; the system clock uses the global timers, so @sinonjs/fake-timers also works.
 */

/** A source of time and abortable sleeps. */
export interface Clock {
  /** Milliseconds since the Unix epoch (latency is measured against commit times). */
  now(): number;
  /** Resolves true after `ms`, or false as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<boolean>((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};
