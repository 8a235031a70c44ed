/**
 * The Postgres implementation of the engine's `ChangeSource` port: a pgoutput stream from a
 * permanent logical slot. It never loses a committed change (changes are released on commit,
 * redelivered after a reconnect), never confirms a position that is not durable downstream
 * (the watermark moves only on `confirm`, or on an idle stream), and never lets the slot
 * silently pin WAL (lag sampling, idle confirmation, optional heartbeats).
 */
import type { Duplex } from "node:stream";
import postgres from "postgres";
import type { PostgresConnection, TableRef } from "../config/model.ts";
import {
  type Change,
  formatLsn,
  type Lsn,
  type SourceEvent,
  type TableName,
} from "../engine/change.ts";
import { type ChangeSource, type SourceStart, TransientSourceError } from "../engine/ports.ts";
import { type Logger, silentLogger } from "../ops/logger.ts";
import { clientOptions, describeConnection } from "./connect.ts";
import { quoteLiteral } from "./identifiers.ts";
import { ensurePublication } from "./publication.ts";
import { type AckWatermark, createAckWatermark } from "./replication/ack_watermark.ts";
import { createPgoutputDecoder } from "./replication/decoder.ts";
import {
  DryRunStreamEndedError,
  PgoutputDecodeError,
  ReplicationProtocolError,
  SlotLostError,
  SlotMismatchError,
  SlotMissingError,
} from "./replication/errors.ts";
import { encodeStandbyStatus, parseCopyData } from "./replication/standby_status.ts";
import {
  openReplicationClient,
  readChunks,
  startReplication,
} from "./replication/stream_connection.ts";
import { createTransactionAssembler } from "./replication/transaction_assembler.ts";
import { assertUsableSlot, createSlot, inspectSlot } from "./slot.ts";
import { sampleSlotLag, type SlotLag } from "./slot_lag.ts";

/** Options of `createPostgresChangeSource`. */
export interface PostgresChangeSourceOptions {
  readonly connection: PostgresConnection;
  readonly slot: string;
  /**
   * Create `slot` as a temporary slot, gone when its connection ends (dry runs): it must not
   * exist yet, and the stream cannot resume on another connection.
   */
  readonly temporarySlot?: boolean;
  readonly publication: string;
  /** Create or extend the publication over `tables` when needed (else log the SQL). */
  readonly managePublication: boolean;
  readonly tables: readonly TableRef[];
  /** Interval of `pg_logical_emit_message` heartbeats; 0 or absent disables them. */
  readonly heartbeatMs?: number;
  /** Interval of standby status updates (default 10 s; Postgres kills a silent client at 60 s). */
  readonly statusIntervalMs?: number;
  readonly logger?: Logger;
  /** In-memory bytes of one transaction before it spills to a temp file (default 16 MiB). */
  readonly transactionMemoryBytes?: number;
  /** Directory for spill files (default: under the OS temp dir). */
  readonly spillDirectory?: string;
  /** Reconnect backoff: first delay and cap (defaults 250 ms and 30 s), with jitter. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * The columns whose values a change must carry, per table (see `model/resolve_columns.ts`);
   * the others are skipped undecoded. Primary key and replica identity columns are always
   * kept. Absent: changes carry every column.
   */
  readonly columns?: (table: TableName) => ReadonlySet<string>;
}

/** A `ChangeSource` that also reports slot lag. */
export type PostgresChangeSource = ChangeSource & {
  /** Samples slot lag, `wal_status` and `safe_wal_size` now. */
  lag(): Promise<SlotLag>;
  /**
   * Drops the replication connection; `events()` reconnects with backoff and resumes from the
   * confirmed position. Call it when Postgres refuses queries: a shutting-down server waits
   * for its walsender until the client confirms everything sent, which flusso cannot do
   * without those queries.
   */
  interrupt(reason: string): void;
};

const HEARTBEAT_PREFIX = "flusso_heartbeat";
/** CopyData bytes queued before the socket is paused. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** Creates the source; nothing connects until `open()`. */
export function createPostgresChangeSource(
  options: PostgresChangeSourceOptions,
): PostgresChangeSource {
  const logger = (options.logger ?? silentLogger).child({ slot: options.slot });
  const statusIntervalMs = options.statusIntervalMs ?? 10_000;
  const initialBackoff = options.reconnect?.initialMs ?? 250;
  const maxBackoff = options.reconnect?.maxMs ?? 30_000;

  let sql: postgres.Sql | undefined;
  let pendingReplication: postgres.Sql | undefined;
  let watermark: AckWatermark | undefined;
  let protoVersion: 1 | 2 = 2;
  const primaryKeys = new Map<string, string[]>();
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let snapshotHolder: { release(): Promise<void> } | undefined;
  let closed = false;
  let wakeSleep: (() => void) | undefined;

  // The live session; the timer and close() write status updates to it.
  let session: { client: postgres.Sql; stream?: Duplex } | undefined;
  // True while nothing is open, buffered or being handed out (see `quiet()`).
  let replaying = false;
  let assemblerOpen = () => false;

  const quiet = () => !replaying && !assemblerOpen();

  function sendStatus(replyRequested: boolean): void {
    const stream = session?.stream;
    if (!stream || !watermark || stream.destroyed || !stream.writable) return;
    stream.write(encodeStandbyStatus(watermark.confirmed, Date.now(), replyRequested));
  }

  /**
   * Sends the safe position and waits (up to a second) until it left for the socket: ending
   * the stream right after a write can drop the write, and Postgres would then restart the
   * slot from an older position than flusso confirmed.
   */
  async function sendFinalStatus(): Promise<void> {
    const stream = session?.stream;
    if (!stream || !watermark || stream.destroyed || !stream.writable) return;
    const update = encodeStandbyStatus(watermark.confirmed, Date.now(), false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      stream.write(update, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async function tearDownSession(): Promise<void> {
    // The last word to Postgres is always the safe position, whatever ends the session.
    await sendFinalStatus();
    const current = session;
    session = undefined;
    if (!current) return;
    current.stream?.destroy();
    await current.client.end({ timeout: 1 }).catch(() => {});
  }

  /** Decides whether a stream failure is worth a reconnect; returns the fatal error if not. */
  async function fatalCause(error: unknown): Promise<Error | undefined> {
    if (
      error instanceof PgoutputDecodeError || error instanceof ReplicationProtocolError ||
      error instanceof SlotMismatchError || error instanceof SlotLostError ||
      error instanceof SlotMissingError
    ) return error;
    const code = (error as { code?: string }).code;
    const message = String((error as { message?: string }).message ?? error);
    // A temporary slot dies with its connection: there is nothing to reconnect to.
    if (options.temporarySlot) return new DryRunStreamEndedError(options.slot, message);
    if (
      /can no longer get changes from replication slot|requested WAL segment .* removed/i.test(
        message,
      )
    ) {
      return new SlotLostError(options.slot, message);
    }
    try {
      const slot = await inspectSlot(sql!, options.slot);
      if (!slot) return new SlotMissingError(options.slot);
      if (slot.walStatus === "lost") return new SlotLostError(options.slot);
    } catch {
      // Postgres itself is unreachable: that is transient.
    }
    if (code === "42704" && /replication slot/i.test(message)) {
      return new SlotMissingError(options.slot);
    }
    return undefined;
  }

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wakeSleep = undefined;
        resolve();
      }
      wakeSleep = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  const tableKey = (t: TableName) => `${t.schema}\u0000${t.name}`;

  async function loadPrimaryKeys(): Promise<void> {
    for (const table of options.tables) {
      const rows = await sql!<{ attname: string }[]>`
        SELECT a.attname::text AS attname
          FROM pg_catalog.pg_index i
          JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indisprimary
           AND i.indrelid = (quote_ident(${table.schema}) || '.' || quote_ident(${table.name}))::regclass
         ORDER BY k.n`;
      if (rows.length > 0) primaryKeys.set(tableKey(table), rows.map((r) => r.attname));
    }
  }

  async function holdSnapshot(
    imported: string,
  ): Promise<{ name: string; release(): Promise<void> }> {
    const holder = await sql!.reserve();
    try {
      await holder.unsafe("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await holder.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(imported)}`);
      const [{ name }] = await holder.unsafe<{ name: string }[]>(
        "SELECT pg_catalog.pg_export_snapshot() AS name",
      );
      let released = false;
      const handle = {
        name,
        async release() {
          if (released) return;
          released = true;
          if (snapshotHolder === handle) snapshotHolder = undefined;
          try {
            await holder.unsafe("COMMIT");
          } finally {
            holder.release();
          }
        },
      };
      snapshotHolder = handle;
      return handle;
    } catch (error) {
      await holder.unsafe("ROLLBACK").catch(() => {});
      holder.release();
      throw error;
    }
  }

  async function open(): Promise<SourceStart> {
    sql = postgres(
      clientOptions(options.connection, { max: 3, applicationName: "flusso" }),
    );
    const [{ v }] = await sql<{ v: string }[]>`SELECT current_setting('server_version_num') AS v`;
    protoVersion = Number(v) >= 140000 ? 2 : 1;
    await ensurePublication(
      sql,
      options.publication,
      options.tables,
      options.managePublication,
      logger,
    );
    await loadPrimaryKeys();

    const existing = options.temporarySlot ? undefined : await inspectSlot(sql, options.slot);
    let start: SourceStart;
    if (existing) {
      assertUsableSlot(existing, options.connection.database);
      const startLsn = existing.confirmedFlushLsn ?? 0n;
      start = { slotCreated: false, startLsn };
      logger.info("resuming from replication slot", { lsn: formatLsn(startLsn) });
    } else {
      const replication = openReplicationClient(options.connection, "flusso");
      try {
        const created = await createSlot(
          replication,
          options.slot,
          true,
          options.temporarySlot === true,
        );
        // The exported snapshot dies with the replication connection's next command: import it
        // into a transaction we hold, and hand out that transaction's own export instead.
        const snapshot = await holdSnapshot(created.snapshotName!);
        pendingReplication = replication;
        start = { slotCreated: true, startLsn: created.consistentPoint, snapshot };
        logger.info("created replication slot", { lsn: formatLsn(created.consistentPoint) });
      } catch (error) {
        await replication.end({ timeout: 1 }).catch(() => {});
        throw error;
      }
    }
    watermark = createAckWatermark(start.startLsn);

    statusTimer = setInterval(() => {
      // When idle, ask for a keepalive: its WAL position is what an idle slot may confirm.
      sendStatus(quiet() && watermark!.caughtUp);
    }, statusIntervalMs);
    (statusTimer as { unref?: () => void }).unref?.();
    if (options.heartbeatMs && options.heartbeatMs > 0) {
      let warned = false;
      heartbeatTimer = setInterval(() => {
        // Non-transactional: it moves the WAL position without producing a transaction.
        if (!sql) return;
        sql`SELECT pg_catalog.pg_logical_emit_message(false, ${HEARTBEAT_PREFIX}, '')`.catch(
          (error) => {
            // Warn once (e.g. missing EXECUTE privilege), not every interval.
            (warned ? logger.debug : logger.warn)("heartbeat failed", { error: String(error) });
            warned = true;
          },
        );
      }, options.heartbeatMs);
      (heartbeatTimer as { unref?: () => void }).unref?.();
    }
    return start;
  }

  async function* events(signal: AbortSignal): AsyncGenerator<SourceEvent[]> {
    if (!sql || !watermark) throw new Error("ChangeSource.events() called before open()");
    const wm = watermark;
    const assembler = createTransactionAssembler({
      memoryLimitBytes: options.transactionMemoryBytes ?? 16 * 1024 * 1024,
      spillDirectory: options.spillDirectory,
      primaryKey: (table) => primaryKeys.get(tableKey(table)),
    });
    assemblerOpen = () => assembler.open;
    const columns = options.columns;
    const decoder = createPgoutputDecoder(
      columns &&
        ((schema, name) => {
          const keep = new Set(columns({ schema, name }));
          for (const c of primaryKeys.get(tableKey({ schema, name })) ?? []) keep.add(c);
          return keep;
        }),
    );
    const onAbort = () => void tearDownSession();
    signal.addEventListener("abort", onAbort, { once: true });
    const stopped = () => closed || signal.aborted;
    let attempt = 0;
    try {
      while (!stopped()) {
        try {
          const client = pendingReplication ?? openReplicationClient(options.connection, "flusso");
          pendingReplication = undefined;
          session = { client };
          const stream = await startReplication(client, {
            slot: options.slot,
            publication: options.publication,
            startLsn: wm.confirmed,
            protoVersion,
          });
          if (stopped()) break;
          session.stream = stream;
          logger.info("streaming", { from: formatLsn(wm.confirmed), protoVersion });
          const reader = readChunks(stream, MAX_BUFFERED_BYTES, (chunk) => {
            // Answer right away when asked, with the safe position, even mid-transaction.
            if (chunk[0] === 0x6b && chunk.length >= 18 && chunk[17] === 1) sendStatus(false);
          });
          for (;;) {
            const chunk = await reader.next();
            if (chunk === undefined) break;
            const message = parseCopyData(chunk);
            if (message.kind === "keepalive") {
              if (wm.advanceIdle(message.walEnd, quiet())) sendStatus(false);
              continue;
            }
            attempt = 0;
            const tx = assembler.feed(decoder.decode(message.payload));
            if (!tx) continue;
            replaying = true;
            wm.markDelivered(tx.lsn);
            try {
              // Each run is handed on one step late, so the last one can carry the commit.
              let held: SourceEvent[] | undefined;
              for await (const run of tx.buffer.replay()) {
                if (held) yield held;
                held = new Array<SourceEvent>(run.length);
                for (let i = 0; i < run.length; i++) {
                  // The buffer's change objects are its own and used once: stamping the
                  // commit LSN in place saves a copy per change.
                  const change = run[i] as { lsn?: Lsn };
                  change.lsn = tx.lsn;
                  held[i] = { kind: "change", change: change as Change };
                }
              }
              // Delete the spill file before the consumer sees the commit, not after its next pull.
              tx.buffer.discard();
              const commit: SourceEvent = {
                kind: "commit",
                lsn: tx.lsn,
                commitTime: tx.commitTime,
              };
              if (held) held.push(commit);
              yield held ?? [commit];
            } finally {
              tx.buffer.discard();
              replaying = false;
            }
          }
          if (!stopped()) throw new TransientSourceError("the replication stream ended");
        } catch (error) {
          if (stopped()) break;
          const fatal = await fatalCause(error);
          if (fatal) {
            logger.error("replication failed for good", { error: fatal.message });
            await tearDownSession();
            throw fatal;
          }
          const delay = Math.min(maxBackoff, initialBackoff * 2 ** Math.min(attempt, 20)) *
            (0.5 + Math.random() / 2);
          attempt++;
          logger.warn("replication connection lost; reconnecting", {
            error: String((error as Error)?.message ?? error),
            attempt,
            delayMs: Math.round(delay),
            connection: describeConnection(options.connection),
          });
          assembler.reset();
          decoder.reset();
          await tearDownSession();
          await sleep(delay, signal);
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      // A consumer that stops iterating releases the slot; a new `events()` resumes from it.
      await tearDownSession();
      assembler.reset();
      assemblerOpen = () => false;
      replaying = false;
    }
  }

  return {
    open,
    events: (signal) => events(signal),
    interrupt(reason: string) {
      const stream = session?.stream;
      if (!stream || stream.destroyed) return;
      logger.warn("dropping the replication connection", { reason });
      stream.destroy();
    },
    confirm(lsn: Lsn) {
      if (!watermark) return;
      const before = watermark.confirmed;
      watermark.confirm(lsn);
      // Tell Postgres at once (one 34-byte message per flushed batch): waiting for the status
      // timer would leave confirmed_flush_lsn, and so the WAL the slot holds, seconds behind.
      if (watermark.confirmed !== before) sendStatus(false);
    },
    async close() {
      if (closed) return;
      closed = true;
      wakeSleep?.();
      clearInterval(statusTimer);
      clearInterval(heartbeatTimer);
      await tearDownSession();
      await pendingReplication?.end({ timeout: 1 }).catch(() => {});
      pendingReplication = undefined;
      await snapshotHolder?.release().catch(() => {});
      await sql?.end({ timeout: 2 }).catch(() => {});
      sql = undefined;
    },
    async lag() {
      if (!sql) throw new Error("ChangeSource.lag() called before open()");
      return await sampleSlotLag(sql, options.slot);
    },
  };
}
