/**
 * A hand-written decoder for pgoutput messages, protocol versions 1 and 2. It allocates only
 * the decoded values (text is decoded straight from the payload) and fails on any
 * malformed input with a `PgoutputDecodeError`.
 *
 * Version 2 prefixes data messages inside a Stream Start … Stream Stop block with the xid, so
 * the decoder tracks whether it is inside such a block.
 */
import { BufferReader } from "./buffer_reader.ts";
import { PgoutputDecodeError } from "./errors.ts";
import type {
  PgoutputMessage,
  RelationColumn,
  ReplicaIdentity,
  TupleData,
  TupleValue,
} from "./messages.ts";

/** Microseconds between the Unix epoch and Postgres' epoch (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;

/** Converts a Postgres timestamp (µs since 2000-01-01) to a Date. */
export function pgTimestampToDate(micros: bigint): Date {
  return new Date(Number(micros / 1000n) + PG_EPOCH_MS);
}

/** Converts a Date (or epoch milliseconds) to a Postgres timestamp (µs since 2000-01-01). */
export function dateToPgTimestamp(ms: number): bigint {
  return BigInt(Math.trunc(ms) - PG_EPOCH_MS) * 1000n;
}

const NULL_VALUE: TupleValue = Object.freeze({ kind: "null" });
const UNCHANGED_VALUE: TupleValue = Object.freeze({ kind: "unchanged" });
const SKIPPED_VALUE: TupleValue = Object.freeze({ kind: "skipped" });

/**
 * Which columns of a relation to decode: the set of names to keep (replica identity columns
 * are always kept), or undefined to keep every column.
 */
export type ColumnsOf = (schema: string, table: string) => ReadonlySet<string> | undefined;

/** Per relation id, true for each column whose value is decoded (absent: all of them). */
type ColumnMasks = Map<number, readonly boolean[]>;

/** Decodes pgoutput messages one at a time, remembering whether a streamed block is open. */
export interface PgoutputDecoder {
  /** Decodes one message (the payload of an XLogData). */
  decode(payload: Uint8Array): PgoutputMessage;
  /** True between Stream Start and Stream Stop. */
  readonly inStream: boolean;
  /** Forgets the streaming state (after a reconnect). */
  reset(): void;
}

/**
 * A fresh decoder, outside any streamed block. With `columnsOf`, values of the other columns
 * are skipped undecoded (their tuples hold `{ kind: "skipped" }`), which saves decoding and
 * memory for wide rows of which only keys are read.
 */
export function createPgoutputDecoder(columnsOf?: ColumnsOf): PgoutputDecoder {
  let inStream = false;
  const masks: ColumnMasks | undefined = columnsOf ? new Map() : undefined;
  return {
    decode(payload) {
      const message = decodePgoutput(payload, inStream, masks);
      if (message.type === "stream_start") inStream = true;
      else if (message.type === "stream_stop") inStream = false;
      else if (message.type === "relation" && masks && columnsOf) {
        // pgoutput's "" namespace means pg_catalog (as in relations.ts).
        const keep = columnsOf(message.schema === "" ? "pg_catalog" : message.schema, message.name);
        if (keep) {
          masks.set(
            message.relationId,
            message.columns.map((c) => c.isKey || keep.has(c.name)),
          );
        } else masks.delete(message.relationId);
      }
      return message;
    },
    get inStream() {
      return inStream;
    },
    reset() {
      inStream = false;
    },
  };
}

/**
 * Decodes one pgoutput message. `inStream` says whether it was sent inside a streamed block
 * (protocol v2), where data messages carry an xid.
 */
export function decodePgoutput(
  payload: Uint8Array,
  inStream: boolean,
  masks?: ColumnMasks,
): PgoutputMessage {
  const r = new BufferReader(payload);
  const tag = r.u8("message type");
  let message: PgoutputMessage;
  switch (tag) {
    case 0x42: // B
      message = {
        type: "begin",
        finalLsn: r.u64("final lsn"),
        commitTime: pgTimestampToDate(r.i64("commit time")),
        xid: r.u32("xid"),
      };
      break;
    case 0x43: // C
      message = {
        type: "commit",
        flags: r.u8("flags"),
        commitLsn: r.u64("commit lsn"),
        endLsn: r.u64("end lsn"),
        commitTime: pgTimestampToDate(r.i64("commit time")),
      };
      break;
    case 0x4f: // O
      message = { type: "origin", lsn: r.u64("origin lsn"), name: r.cstring("origin name") };
      break;
    case 0x52: { // R
      const xid = inStream ? r.u32("xid") : undefined;
      const relationId = r.u32("relation id");
      const schema = r.cstring("namespace");
      const name = r.cstring("relation name");
      const replicaIdentity = identity(r);
      const count = r.i16("column count");
      if (count < 0) throw new PgoutputDecodeError(`negative column count ${count}`, r.offset);
      const columns: RelationColumn[] = [];
      for (let i = 0; i < count; i++) {
        const flags = r.u8("column flags");
        columns.push({
          isKey: (flags & 1) === 1,
          name: r.cstring("column name"),
          typeOid: r.u32("type oid"),
          typeMod: r.i32("type modifier"),
        });
      }
      message = { type: "relation", xid, relationId, schema, name, replicaIdentity, columns };
      break;
    }
    case 0x59: { // Y
      const xid = inStream ? r.u32("xid") : undefined;
      message = {
        type: "type",
        xid,
        typeOid: r.u32("type oid"),
        schema: r.cstring("namespace"),
        name: r.cstring("type name"),
      };
      break;
    }
    case 0x49: { // I
      const xid = inStream ? r.u32("xid") : undefined;
      const relationId = r.u32("relation id");
      expectByte(r, 0x4e, "'N' before the new tuple");
      message = { type: "insert", xid, relationId, newTuple: tuple(r, masks?.get(relationId)) };
      break;
    }
    case 0x55: { // U
      const xid = inStream ? r.u32("xid") : undefined;
      const relationId = r.u32("relation id");
      let kind = r.u8("tuple kind");
      let oldKind: "K" | "O" | undefined;
      let oldTuple: TupleData | undefined;
      if (kind === 0x4b || kind === 0x4f) {
        oldKind = kind === 0x4b ? "K" : "O";
        oldTuple = tuple(r, masks?.get(relationId));
        kind = r.u8("tuple kind");
      }
      if (kind !== 0x4e) {
        throw new PgoutputDecodeError(
          `expected 'N' before the new tuple, got ${kind}`,
          r.offset - 1,
        );
      }
      const newTuple = tuple(r, masks?.get(relationId));
      message = { type: "update", xid, relationId, oldKind, oldTuple, newTuple };
      break;
    }
    case 0x44: { // D
      const xid = inStream ? r.u32("xid") : undefined;
      const relationId = r.u32("relation id");
      const kind = r.u8("tuple kind");
      if (kind !== 0x4b && kind !== 0x4f) {
        throw new PgoutputDecodeError(`expected 'K' or 'O' in Delete, got ${kind}`, r.offset - 1);
      }
      message = {
        type: "delete",
        xid,
        relationId,
        oldKind: kind === 0x4b ? "K" : "O",
        oldTuple: tuple(r, masks?.get(relationId)),
      };
      break;
    }
    case 0x54: { // T
      const xid = inStream ? r.u32("xid") : undefined;
      const count = r.i32("relation count");
      if (count < 0) throw new PgoutputDecodeError(`negative relation count ${count}`, r.offset);
      const options = r.u8("truncate options");
      // Check the length up front so a hostile count cannot make us loop long.
      if (r.remaining < count * 4) {
        throw new PgoutputDecodeError(`truncated relation ids: need ${count * 4}`, r.offset);
      }
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(r.u32("relation id"));
      message = {
        type: "truncate",
        xid,
        cascade: (options & 1) === 1,
        restartIdentity: (options & 2) === 2,
        relationIds,
      };
      break;
    }
    case 0x4d: { // M
      const xid = inStream ? r.u32("xid") : undefined;
      const flags = r.u8("flags");
      const lsn = r.u64("message lsn");
      const prefix = r.cstring("prefix");
      const length = r.i32("content length");
      message = {
        type: "message",
        xid,
        transactional: (flags & 1) === 1,
        lsn,
        prefix,
        content: r.bytes(length, "content"),
      };
      break;
    }
    case 0x53: // S
      message = { type: "stream_start", xid: r.u32("xid"), firstSegment: r.u8("flag") === 1 };
      break;
    case 0x45: // E
      message = { type: "stream_stop" };
      break;
    case 0x63: // c
      message = {
        type: "stream_commit",
        xid: r.u32("xid"),
        flags: r.u8("flags"),
        commitLsn: r.u64("commit lsn"),
        endLsn: r.u64("end lsn"),
        commitTime: pgTimestampToDate(r.i64("commit time")),
      };
      break;
    case 0x41: // A
      message = { type: "stream_abort", xid: r.u32("xid"), subXid: r.u32("subtransaction xid") };
      // Protocol v4 appends the abort LSN and time; they are not needed here.
      return message;
    default:
      throw new PgoutputDecodeError(
        `unknown message type ${tag} (${JSON.stringify(String.fromCharCode(tag))})`,
        0,
      );
  }
  if (r.remaining !== 0) {
    throw new PgoutputDecodeError(`${r.remaining} unexpected trailing bytes`, r.offset);
  }
  return message;
}

function identity(r: BufferReader): ReplicaIdentity {
  const c = r.u8("replica identity");
  switch (c) {
    case 0x64:
      return "d";
    case 0x6e:
      return "n";
    case 0x66:
      return "f";
    case 0x69:
      return "i";
    default:
      throw new PgoutputDecodeError(`unknown replica identity ${c}`, r.offset - 1);
  }
}

function expectByte(r: BufferReader, expected: number, what: string): void {
  const got = r.u8(what);
  if (got !== expected) throw new PgoutputDecodeError(`expected ${what}, got ${got}`, r.offset - 1);
}

function tuple(r: BufferReader, mask?: readonly boolean[]): TupleData {
  const count = r.i16("tuple column count");
  if (count < 0) throw new PgoutputDecodeError(`negative column count ${count}`, r.offset - 2);
  // Each column needs at least one byte: reject impossible counts before allocating.
  if (r.remaining < count) {
    throw new PgoutputDecodeError(`truncated tuple: ${count} columns announced`, r.offset);
  }
  const values: TupleValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = r.u8("column kind");
    switch (kind) {
      case 0x6e: // n
        values[i] = NULL_VALUE;
        break;
      case 0x75: // u
        values[i] = UNCHANGED_VALUE;
        break;
      case 0x74: // t
        if (mask && mask[i] === false) {
          r.skip(r.i32("value length"), "text value");
          values[i] = SKIPPED_VALUE;
        } else {
          values[i] = { kind: "text", text: r.text(r.i32("value length"), "text value") };
        }
        break;
      case 0x62: // b
        values[i] = { kind: "binary", bytes: r.bytes(r.i32("value length"), "binary value") };
        break;
      default:
        throw new PgoutputDecodeError(`unknown column kind ${kind}`, r.offset - 1);
    }
  }
  return values;
}
