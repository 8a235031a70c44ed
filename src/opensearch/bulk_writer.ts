/**
 * Sends bulk items until each is written or refused for good. Request-level failures (network,
 * timeout, 429, 5xx) and per-item 429/503 are retried with capped exponential backoff and
 * jitter; when retries run out the whole call fails with `TransientSinkError`, so nothing is
 * reported written that was not.
 */
import { TransientSinkError } from "../engine/ports.ts";
import type { Logger } from "../ops/logger.ts";
import { silentLogger } from "../ops/logger.ts";
import type { BodyPool } from "./body_pool.ts";
import { bulkBody, type BulkItem } from "./bulk_body.ts";
import { allItemsSucceeded, classifyBulkResponse } from "./bulk_response.ts";
import { chunkByLimits, type ChunkLimits } from "./chunker.ts";
import { SinkRequestError } from "./errors.ts";
import {
  backoffDelay,
  type BackoffPolicy,
  classifyRequestError,
  DEFAULT_BACKOFF,
} from "./retry.ts";

/**
 * Sends one `_bulk` body (UTF-8 NDJSON); resolves with the parsed response body, rejects with
 * the client's error. `release`, when given, is to be called once the transport holds none of
 * the body's bytes any more (the body's buffer is then reused); a sender may never call it.
 */
export type BulkSend = (
  body: Uint8Array,
  options: { readonly refresh: boolean; readonly release?: () => void },
) => Promise<unknown>;

/** How the writer sends and retries. */
export interface BulkWriterOptions {
  readonly send: BulkSend;
  readonly limits: ChunkLimits;
  /** Where bodies are built; without it each body is a new buffer. */
  readonly bodies?: BodyPool;
  /** Retries per request after the first attempt; then `TransientSinkError`. */
  readonly maxRetries: number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
}

/** An item refused for good. */
export interface ItemFailure<T extends BulkItem> {
  readonly item: T;
  readonly type: string;
  readonly reason: string;
}

/** Type given to a document alone larger than the cluster's `http.max_content_length`. */
export const TOO_LARGE_TYPE = "request_too_large";

/** Requests of one call under way at once (see `writeBulk`). */
export const CHUNKS_IN_FLIGHT = 2;

/**
 * Writes `items` in chunks and returns the ones refused for good. Throws `TransientSinkError`
 * when a chunk still fails after `maxRetries` retries and `SinkRequestError` when OpenSearch
 * refuses a request for a reason a retry cannot fix — only once every chunk under way has
 * settled, so a retry of the call never overlaps its own requests.
 *
 * Up to `CHUNKS_IN_FLIGHT` chunks are under way at once, in order: the next body is written
 * while OpenSearch reads the previous one, instead of each side waiting for the other.
 * Chunks are independent (every operation carries its own version), so their order of
 * arrival does not matter.
 */
export async function writeBulk<T extends BulkItem>(
  items: readonly T[],
  refresh: boolean,
  options: BulkWriterOptions,
): Promise<ItemFailure<T>[]> {
  const chunks = chunkByLimits(items, options.limits);
  if (chunks.length === 1) return await writeChunk(chunks[0], refresh, options);
  const results: PromiseSettledResult<ItemFailure<T>[]>[] = new Array(chunks.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < chunks.length && !failed) {
      const at = next++;
      try {
        results[at] = {
          status: "fulfilled",
          value: await writeChunk(chunks[at], refresh, options),
        };
      } catch (reason) {
        failed = true;
        results[at] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, chunks.length) }, lane));
  const rejected = results.find((r) => r?.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return results.flatMap((r) => (r as PromiseFulfilledResult<ItemFailure<T>[]>).value);
}

async function writeChunk<T extends BulkItem>(
  chunk: readonly T[],
  refresh: boolean,
  options: BulkWriterOptions,
): Promise<ItemFailure<T>[]> {
  const logger = options.logger ?? silentLogger;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const bodies = options.bodies;
  const failures: ItemFailure<T>[] = [];
  let pending: readonly T[] = chunk;
  let attempt = 0;
  let lastProblem = "";
  while (pending.length > 0) {
    if (attempt > 0) {
      if (attempt > options.maxRetries) {
        throw new TransientSinkError(
          `bulk write of ${pending.length} item(s) still failing after ${options.maxRetries} retries: ${lastProblem}`,
        );
      }
      const delay = backoffDelay(attempt - 1, backoff, random);
      logger.warn("retrying bulk write", {
        items: pending.length,
        attempt,
        delayMs: delay,
        problem: lastProblem,
      });
      await sleep(delay);
    }
    attempt++;
    let response: unknown;
    try {
      const body = bulkBody(pending, bodies);
      response = await options.send(
        body,
        bodies ? { refresh, release: () => bodies.give(body) } : { refresh },
      );
    } catch (error) {
      const failure = classifyRequestError(error);
      if (failure.kind === "too_large") {
        // Split until the one document that is too large stands alone, then refuse it.
        if (pending.length === 1) {
          failures.push({
            item: pending[0],
            type: TOO_LARGE_TYPE,
            reason: `the document (${
              pending[0].bytes
            } bytes) exceeds the cluster's http.max_content_length`,
          });
          return failures;
        }
        const half = Math.ceil(pending.length / 2);
        failures.push(...await writeChunk(pending.slice(0, half), refresh, options));
        failures.push(...await writeChunk(pending.slice(half), refresh, options));
        return failures;
      }
      if (failure.kind === "fatal") {
        throw new SinkRequestError("bulk write", failure.status, failure.message, { cause: error });
      }
      lastProblem = failure.message;
      continue;
    }
    // The common answer: nothing failed, so no item needs reading.
    if (allItemsSucceeded(response, pending.length)) break;
    const outcomes = classifyBulkResponse(response, pending);
    const again: T[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.kind === "retry") {
        again.push(pending[i]);
        lastProblem = `${outcome.type}: ${outcome.reason}`;
      } else if (outcome.kind === "rejected") {
        failures.push({ item: pending[i], type: outcome.type, reason: outcome.reason });
      }
    });
    pending = again;
  }
  return failures;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
