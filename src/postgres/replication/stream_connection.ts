/**
 * The walsender connection: a `postgres` client in `replication: 'database'` mode, the
 * START_REPLICATION command, and a pull-based reader over the CopyBoth stream that pauses the
 * socket when the consumer stops pulling (so buffering stays bounded) while still letting the
 * caller answer keepalives as they arrive.
 */
import type { Duplex } from "node:stream";
import postgres from "postgres";
import type { PostgresConnection } from "../../config/model.ts";
import { formatLsn, type Lsn } from "../../engine/change.ts";
import { clientOptions } from "../connect.ts";
import { quoteIdent, quoteLiteral } from "../identifiers.ts";

/** A client on a walsender connection (one connection, no type fetching, no idle timeout). */
export function openReplicationClient(
  connection: PostgresConnection,
  applicationName = "flusso",
): postgres.Sql {
  return postgres(clientOptions(connection, { replication: true, max: 1, applicationName }));
}

/** pgoutput options: protocol v2 with streaming of large transactions (PG14+), else v1. */
export interface StartOptions {
  readonly slot: string;
  readonly publication: string;
  readonly startLsn: Lsn;
  readonly protoVersion: 1 | 2;
}

/** The START_REPLICATION command for `options`. */
export function startReplicationCommand(options: StartOptions): string {
  const pluginOptions = [
    `proto_version ${quoteLiteral(String(options.protoVersion))}`,
    `publication_names ${quoteLiteral(quoteIdent(options.publication))}`,
    ...(options.protoVersion >= 2 ? [`streaming 'on'`] : []),
  ];
  return `START_REPLICATION SLOT ${quoteIdent(options.slot)} LOGICAL ${
    formatLsn(options.startLsn)
  } (${pluginOptions.join(", ")})`;
}

/** Starts streaming; resolves with the CopyBoth duplex (data chunks are CopyData payloads). */
export async function startReplication(
  replication: postgres.Sql,
  options: StartOptions,
): Promise<Duplex> {
  return await replication.unsafe(startReplicationCommand(options)).writable() as unknown as Duplex;
}

/** Pulls CopyData payloads one at a time from the duplex. */
export interface ChunkReader {
  /** The next payload, or undefined when the stream ended; throws the stream's error. */
  next(): Promise<Uint8Array | undefined>;
}

/**
 * Reads `stream` on demand: chunks are queued up to `maxBufferedBytes`, then the stream is
 * paused until the consumer pulls again. `onArrival` sees each chunk as it arrives (before
 * it is queued), so keepalives that request a reply are answered even while the consumer
 * is busy.
 */
export function readChunks(
  stream: Duplex,
  maxBufferedBytes: number,
  onArrival: (chunk: Uint8Array) => void,
): ChunkReader {
  // A head index instead of shift(): shifting a long array moves every element.
  let queue: Uint8Array[] = [];
  let head = 0;
  let queuedBytes = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  stream.on("data", (chunk: Uint8Array) => {
    onArrival(chunk);
    queue.push(chunk);
    queuedBytes += chunk.byteLength;
    if (queuedBytes >= maxBufferedBytes) stream.pause();
    notify();
  });
  stream.on("error", (error: unknown) => {
    failure ??= error;
    notify();
  });
  const finish = () => {
    ended = true;
    notify();
  };
  stream.on("end", finish);
  stream.on("close", finish);
  return {
    async next() {
      for (;;) {
        const chunk = head < queue.length ? queue[head++] : undefined;
        if (head === queue.length && head > 0) {
          queue = [];
          head = 0;
        } else if (head > 4096 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        if (chunk) {
          queuedBytes -= chunk.byteLength;
          if (queuedBytes < maxBufferedBytes && stream.isPaused()) stream.resume();
          return chunk;
        }
        if (failure !== undefined) throw failure;
        if (ended) return undefined;
        if (stream.isPaused()) stream.resume();
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
