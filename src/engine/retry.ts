/**
 * Retrying a port call through transient failures. `TransientSinkError` and
 * `TransientSourceError` are retried forever with capped backoff (an outage of Postgres or
 * OpenSearch must not kill the process, and never counts as a rejection); any other error is
 * wrapped in `PortFailedError`. Waiting is abortable: once `abandon` fires the call is given
 * up with `AbandonedError` (its eventual result is ignored).
 */
import { TransientSinkError, TransientSourceError } from "./ports.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import type { EngineComponent, Observer } from "./observer.ts";
import { AbandonedError, DocumentRejectedError, PortFailedError } from "./errors.ts";

/** What `retryTransient` needs besides the call itself. */
export interface RetryContext {
  readonly clock: Clock;
  readonly observer: Observer;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  /** Fires when in-flight work must be dropped (grace period over, or a fatal error). */
  readonly abandon: AbortSignal;
}

/** True for the failures a later retry may fix. */
export function isTransient(error: unknown): boolean {
  return error instanceof TransientSinkError || error instanceof TransientSourceError;
}

/** Resolves like `promise`, or rejects with `AbandonedError` as soon as `signal` aborts. */
export function unlessAbandoned<T>(promise: Promise<T>, signal: AbortSignal, what: string) {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbandonedError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbandonedError(what));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs `call` until it succeeds or fails for good. `onTransient` sees each transient error
 * before the backoff (the pipeline uses it to shrink batches).
 */
export async function retryTransient<T>(
  context: RetryContext,
  component: EngineComponent,
  operation: string,
  call: () => Promise<T>,
  onTransient?: (error: Error) => void,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await unlessAbandoned(call(), context.abandon, operation);
    } catch (error) {
      if (error instanceof AbandonedError || error instanceof DocumentRejectedError) throw error;
      if (error instanceof PortFailedError) throw error;
      if (!isTransient(error)) throw new PortFailedError(component, operation, error);
      onTransient?.(error as Error);
      const retryInMs = backoffDelay(attempt, context.backoff, context.random);
      context.observer.emit({
        type: "transient_error",
        component,
        operation,
        error: error as Error,
        attempt: attempt + 1,
        retryInMs,
      });
      if (!await context.clock.sleep(retryInMs, context.abandon)) {
        throw new AbandonedError(operation);
      }
    }
  }
}
