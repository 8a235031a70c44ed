/**
 * The OpenSearch sink: the engine's `Sink` port over the official client, with every `_bulk`
 * (documents and dead letters) sent by flusso's own HTTP client (bulk_http.ts). Writes go
 * through the bulk writer to every live generation of their index (the serving one and the
 * one being built); the lifecycle keeps generations, aliases and meta records; rejections
 * can be quarantined in the dead-letter store.
 */
import type { Client } from "@opensearch-project/opensearch";
import type { LiveRefresh, SinkConfig } from "../config/model.ts";
import type { Rejection, Sink, SinkWrite } from "../engine/ports.ts";
import { type Logger, silentLogger } from "../ops/logger.ts";
import { createBodyPool } from "./body_pool.ts";
import { type BulkOperation, versionedOperation } from "./bulk_body.ts";
import { type BulkWriterOptions, type ItemFailure, writeBulk } from "./bulk_writer.ts";
import { createBulkHttp } from "./bulk_http.ts";
import { createClient, readCaFile } from "./client.ts";
import { createDeadLetters, type DeadLetters } from "./dead_letters.ts";
import { createLifecycle, type WriteTarget } from "./lifecycle.ts";
import { createMetaStore } from "./meta_store.ts";
import { deadLetterIndexName, metaIndexName } from "./naming.ts";
import { createRwLock } from "./rw_lock.ts";

/** Options of `createOpenSearchSink`. */
export interface OpenSearchSinkOptions {
  readonly config: SinkConfig;
  /** `Config.prefix`: prepended to every index, alias and internal index name. */
  readonly prefix: string;
  readonly logger?: Logger;
  /** Jitter source for retries (tests pass a fixed one). */
  readonly random?: () => number;
  /** How retries wait (tests pass one that does not). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The OpenSearch sink, with its client and dead-letter store for the CLI. */
export type OpenSearchSink = Sink & { readonly client: Client; readonly dlq: DeadLetters };

/**
 * What flusso reads of a `_bulk` answer (see bulk_response.ts): a success answer shrinks to
 * one status per item, in order, so the client parses a fraction of the bytes. `error`
 * keeps a request-level failure's reason readable.
 */
const BULK_FILTER_PATH = "errors,error,status,items.*.status,items.*.error";

/** Creates the sink; nothing is contacted until `ensure`. */
export function createOpenSearchSink(options: OpenSearchSinkOptions): OpenSearchSink {
  const { config, prefix } = options;
  const logger = (options.logger ?? silentLogger).child({ sink: config.name });
  const ca = readCaFile(config);
  const client = createClient(config, ca);
  // Every `_bulk` goes through flusso's own HTTP client (see bulk_http.ts for why); every
  // other request through the official one.
  const bulkHttp = createBulkHttp({
    url: config.url,
    username: config.username,
    password: config.password?.reveal(),
    ca,
    tlsVerify: config.tlsVerify,
    timeoutMs: config.timeoutMs,
  });
  const writer: Omit<BulkWriterOptions, "send"> = {
    limits: { batchSize: config.batchSize, maxBytes: config.maxBytes },
    bodies: createBodyPool(),
    maxRetries: config.maxRetries,
    random: options.random,
    sleep: options.sleep,
    logger,
  };
  const meta = createMetaStore(client, metaIndexName(prefix));
  const lifecycle = createLifecycle({
    client,
    meta,
    logger,
    settings: {
      prefix,
      refreshInterval: config.refreshInterval,
      numberOfShards: config.numberOfShards,
      numberOfReplicas: config.numberOfReplicas,
    },
  });
  const filterPath = `filter_path=${encodeURIComponent(BULK_FILTER_PATH)}`;
  const bulkQuery = (refresh: string | undefined) =>
    refresh ? `${filterPath}&refresh=${refresh}` : filterPath;
  const liveQuery = bulkQuery(undefined);
  const refreshingQuery = bulkQuery(liveRefreshParam(config.liveRefresh));
  // Operations name no index (see versionedOperation): each request goes to its target's path.
  const sendTo = (target: string): BulkWriterOptions["send"] => (body, { refresh, release }) =>
    bulkHttp.bulk(refresh ? refreshingQuery : liveQuery, body, { index: target, release });
  const dlq = createDeadLetters({
    client,
    dlqIndex: deadLetterIndexName(prefix),
    // Whatever `live_refresh` says: entries are read right after they are written.
    writer: {
      ...writer,
      send: (body, { refresh, release }) =>
        bulkHttp.bulk(bulkQuery(refresh ? "true" : undefined), body, { release }),
    },
  });
  const lock = createRwLock();
  let closing: Promise<void> | undefined;

  const write = async (
    writes: readonly SinkWrite[],
    caughtUp: boolean,
  ): Promise<readonly Rejection[]> => {
    // Operations by target, serving generations first: each target is its own requests.
    const serving = new Map<string, BulkOperation[]>();
    const building = new Map<string, BulkOperation[]>();
    const current = new Set<string>();
    // A call writes documents of a handful of indexes: each one's targets are read once.
    const targetsOf = new Map<string, readonly WriteTarget[]>();
    for (const w of writes) {
      let targets = targetsOf.get(w.index);
      if (targets === undefined) {
        targets = lifecycle.targets(w.index);
        targetsOf.set(w.index, targets);
        for (const target of targets) if (target.current) current.add(target.name);
      }
      for (const target of targets) {
        const group = target.serving ? serving : building;
        let operations = group.get(target.name);
        if (operations === undefined) group.set(target.name, operations = []);
        operations.push(versionedOperation(target.name, w));
      }
    }
    // Only the serving generation needs visibility; a generation being built has refresh off
    // and becomes visible when seeded. Caught up, the bulk asks for what `live_refresh` says
    // (by default `refresh=true`: writes are few then, and `wait_for` would hold the
    // acknowledgement, and so commit-to-indexed latency, until the next scheduled refresh).
    // Targets are independent indexes, each versioned: their requests go out at once, so a
    // batch touching several indexes takes about as long as its largest.
    const sent: Promise<readonly ItemFailure<BulkOperation>[]>[] = [];
    for (const [group, refresh] of [[serving, caughtUp], [building, false]] as const) {
      for (const [target, operations] of group) {
        sent.push(writeBulk(operations, refresh, { ...writer, send: sendTo(target) }));
      }
    }
    // Every request settles before the call does: a retry of the call never overlaps them.
    const settled = await Promise.allSettled(sent);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const failures = settled.flatMap((s) => s.status === "fulfilled" ? s.value : []);
    const rejected = new Map<SinkWrite, Rejection>();
    for (const failure of failures) {
      const { write: w, target } = failure.item;
      if (!current.has(target)) {
        // The serving generation of the previous schema may refuse documents of the new one;
        // it is replaced when the new generation is seeded.
        logger.warn("previous-schema generation refused a document", {
          index: w.index,
          id: w.id,
          target,
          type: failure.type,
          reason: failure.reason,
        });
        continue;
      }
      if (!rejected.has(w)) {
        rejected.set(w, { write: w, type: failure.type, reason: failure.reason });
      }
    }
    return [...rejected.values()];
  };

  return {
    client,
    dlq,
    ensure: (indexes) =>
      lock.exclusive(async () => {
        await meta.ensure();
        await dlq.ensure();
        return await lifecycle.ensure(indexes);
      }),
    write: (writes, { caughtUp }) =>
      writes.length === 0 ? Promise.resolve([]) : lock.shared(() => write(writes, caughtUp)),
    quarantine: (rejections) => dlq.put(rejections),
    saveBackfillCursor: (index, key) => lock.shared(() => lifecycle.saveBackfillCursor(index, key)),
    markSeeded: (index) => lock.exclusive(() => lifecycle.markSeeded(index)),
    startReindex: (index) => lock.exclusive(() => lifecycle.startReindex(index)),
    close() {
      // The client's close() never settles when called twice; the sink's close is idempotent.
      bulkHttp.close();
      closing ??= client.close();
      return closing;
    },
  };
}

/** The `refresh` parameter a caught-up bulk sends under `mode` (none for `interval`). */
export function liveRefreshParam(mode: LiveRefresh): "true" | "wait_for" | undefined {
  switch (mode) {
    case "immediate":
      return "true";
    case "wait_for":
      return "wait_for";
    case "interval":
      return undefined;
  }
}
