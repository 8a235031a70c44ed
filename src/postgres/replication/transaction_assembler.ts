/**
 * Assembles decoded pgoutput messages into committed transactions. Changes are held (in
 * memory or spilled, see `spill_file.ts`) until their COMMIT or STREAM COMMIT, then released
 * as one transaction tagged with the commit's end LSN. Streamed transactions that abort are
 * dropped, as are the changes of aborted subtransactions.
 */
import type { Lsn } from "../../engine/change.ts";
import { ReplicationProtocolError } from "./errors.ts";
import type { PgoutputMessage } from "./messages.ts";
import { type RelationCache, rememberRelation } from "./relations.ts";
import { type BufferMark, createTransactionBuffer, type TransactionBuffer } from "./spill_file.ts";
import { type PrimaryKeyLookup, toChanges } from "./to_changes.ts";

/** A committed transaction, ready to be replayed to the consumer. */
export interface CommittedTransaction {
  readonly buffer: TransactionBuffer;
  /** End LSN of the commit record: every change's `lsn`. */
  readonly lsn: Lsn;
  readonly commitTime: Date;
}

/** How the assembler buffers. */
export interface AssemblerOptions {
  /** In-memory bytes of a non-streamed transaction before it spills to a temp file. */
  readonly memoryLimitBytes: number;
  /** In-memory bytes of a streamed transaction before it spills (default 0: spill at once). */
  readonly streamedMemoryLimitBytes?: number;
  /** Directory for spill files (default: under the OS temp dir). */
  readonly spillDirectory?: string;
  /** Primary keys, used to detect key changes under REPLICA IDENTITY FULL. */
  readonly primaryKey: PrimaryKeyLookup;
}

/** Feeds messages in stream order; returns a transaction when one commits. */
export interface TransactionAssembler {
  feed(message: PgoutputMessage): CommittedTransaction | undefined;
  /** Whether any transaction has started and not yet committed or aborted. */
  readonly open: boolean;
  /** The relation cache (kept across transactions, reset on reconnect). */
  readonly relations: RelationCache;
  /** Drops every open transaction and the relation cache (after a disconnect). */
  reset(): void;
}

interface StreamedTransaction {
  readonly buffer: TransactionBuffer;
  /** Subtransaction xid → where its first change went, to roll back on its abort. */
  readonly subtransactions: Map<number, BufferMark>;
}

/** A new assembler with an empty relation cache. */
export function createTransactionAssembler(options: AssemblerOptions): TransactionAssembler {
  const relations: RelationCache = new Map();
  let current: TransactionBuffer | undefined;
  const streamed = new Map<number, StreamedTransaction>();
  let streamXid: number | undefined;

  const newBuffer = (memoryLimitBytes: number) =>
    createTransactionBuffer({ memoryLimitBytes, directory: options.spillDirectory });

  function streamedTarget(xid: number): TransactionBuffer {
    if (streamXid === undefined) {
      throw new ReplicationProtocolError(`streamed change of xid ${xid} outside a stream block`);
    }
    const tx = streamed.get(streamXid)!;
    if (xid !== streamXid && !tx.subtransactions.has(xid)) {
      tx.subtransactions.set(xid, tx.buffer.mark());
    }
    return tx.buffer;
  }

  return {
    feed(message) {
      switch (message.type) {
        case "begin":
          if (current) throw new ReplicationProtocolError("BEGIN inside an open transaction");
          current = newBuffer(options.memoryLimitBytes);
          return undefined;
        case "commit": {
          if (!current) throw new ReplicationProtocolError("COMMIT without BEGIN");
          const buffer = current;
          current = undefined;
          return { buffer, lsn: message.endLsn, commitTime: message.commitTime };
        }
        case "relation":
          rememberRelation(relations, message);
          return undefined;
        case "insert":
        case "update":
        case "delete":
        case "truncate": {
          const target = message.xid === undefined ? current : streamedTarget(message.xid);
          if (!target) throw new ReplicationProtocolError(`${message.type} outside a transaction`);
          for (const change of toChanges(message, relations, options.primaryKey)) {
            target.push(change);
          }
          return undefined;
        }
        case "stream_start":
          if (streamXid !== undefined) {
            throw new ReplicationProtocolError("STREAM START inside a stream block");
          }
          streamXid = message.xid;
          if (!streamed.has(message.xid)) {
            // A streamed transaction is large by definition: spill from the first change.
            streamed.set(message.xid, {
              buffer: newBuffer(options.streamedMemoryLimitBytes ?? 0),
              subtransactions: new Map(),
            });
          }
          return undefined;
        case "stream_stop":
          streamXid = undefined;
          return undefined;
        case "stream_commit": {
          const tx = streamed.get(message.xid);
          streamed.delete(message.xid);
          return {
            buffer: tx?.buffer ?? newBuffer(Infinity),
            lsn: message.endLsn,
            commitTime: message.commitTime,
          };
        }
        case "stream_abort": {
          const tx = streamed.get(message.xid);
          if (!tx) return undefined;
          if (message.subXid === message.xid) {
            tx.buffer.discard();
            streamed.delete(message.xid);
            return undefined;
          }
          const mark = tx.subtransactions.get(message.subXid);
          if (mark) {
            // Everything after a subtransaction's first change belongs to it or its children.
            tx.buffer.truncate(mark);
            for (const [sub, at] of tx.subtransactions) {
              if (at.count >= mark.count) tx.subtransactions.delete(sub);
            }
          }
          return undefined;
        }
        case "type":
        case "origin":
        case "message":
          return undefined;
      }
    },
    get open() {
      return current !== undefined || streamed.size > 0;
    },
    relations,
    reset() {
      current?.discard();
      current = undefined;
      for (const tx of streamed.values()) tx.buffer.discard();
      streamed.clear();
      streamXid = undefined;
      relations.clear();
    },
  };
}
