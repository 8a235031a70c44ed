/**
 * The streaming replication framing inside CopyData: XLogData ('w') and primary keepalive
 * ('k') from the server, standby status updates ('r') from us. The status update is the only
 * way the slot's confirmed position moves, so it always carries the *safe* LSN.
 */
import type { Lsn } from "../../engine/change.ts";
import { BufferReader } from "./buffer_reader.ts";
import { dateToPgTimestamp } from "./decoder.ts";
import { PgoutputDecodeError } from "./errors.ts";

/** A chunk of WAL data carrying one pgoutput message. */
export interface XLogData {
  readonly kind: "xlog";
  readonly walStart: Lsn;
  /** The server's current end of WAL. */
  readonly walEnd: Lsn;
  readonly payload: Uint8Array;
}

/** The server's keepalive. */
export interface PrimaryKeepalive {
  readonly kind: "keepalive";
  /** The server's current end of WAL (for a logical slot: how far it has decoded). */
  readonly walEnd: Lsn;
  /** The server asks for a status update now; ignoring it gets the walsender killed. */
  readonly replyRequested: boolean;
}

/** What a CopyData from the walsender carries. */
export type CopyDataMessage = XLogData | PrimaryKeepalive;

/** Parses one CopyData payload from the walsender. */
export function parseCopyData(chunk: Uint8Array): CopyDataMessage {
  const r = new BufferReader(chunk);
  const tag = r.u8("copy data type");
  if (tag === 0x77) { // w
    const walStart = r.u64("wal start");
    const walEnd = r.u64("wal end");
    r.i64("send time");
    return { kind: "xlog", walStart, walEnd, payload: chunk.subarray(r.offset) };
  }
  if (tag === 0x6b) { // k
    const walEnd = r.u64("wal end");
    r.i64("send time");
    return { kind: "keepalive", walEnd, replyRequested: r.u8("reply flag") === 1 };
  }
  throw new PgoutputDecodeError(`unknown CopyData type ${tag}`, 0);
}

/**
 * A standby status update reporting `lsn` as written, flushed and applied. `replyRequested`
 * asks the server to answer with a keepalive (which tells us its current position).
 */
export function encodeStandbyStatus(
  lsn: Lsn,
  nowMs: number,
  replyRequested = false,
): Uint8Array {
  const out = new Uint8Array(34);
  const view = new DataView(out.buffer);
  out[0] = 0x72; // r
  view.setBigUint64(1, lsn);
  view.setBigUint64(9, lsn);
  view.setBigUint64(17, lsn);
  view.setBigInt64(25, dateToPgTimestamp(nowMs));
  out[33] = replyRequested ? 1 : 0;
  return out;
}
