/**
 * The pgoutput logical replication messages (protocol versions 1 and 2), as decoded by
 * `decoder.ts`. Field names follow PostgreSQL's "Logical Replication Message Formats".
 * Messages sent inside a streamed transaction block carry the (sub)transaction's `xid`.
 */
import type { Lsn } from "../../engine/change.ts";

/** One column value of a tuple. */
export type TupleValue =
  | { readonly kind: "null" }
  /** An unchanged TOASTed value: Postgres did not send it; it must never become a value. */
  | { readonly kind: "unchanged" }
  /** A value the decoder was told nobody reads: stepped over, never decoded. */
  | { readonly kind: "skipped" }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly bytes: Uint8Array };

/** A tuple: one entry per column of the relation, in attribute order. */
export type TupleData = readonly TupleValue[];

/** One column of a Relation message. */
export interface RelationColumn {
  readonly name: string;
  /** Part of the replica identity (every column under REPLICA IDENTITY FULL). */
  readonly isKey: boolean;
  readonly typeOid: number;
  readonly typeMod: number;
}

/** `REPLICA IDENTITY` setting: d(efault), n(othing), f(ull), i(ndex). */
export type ReplicaIdentity = "d" | "n" | "f" | "i";

/** Begin of a (non-streamed) transaction. */
export interface BeginMessage {
  readonly type: "begin";
  /** LSN of the commit record. */
  readonly finalLsn: Lsn;
  readonly commitTime: Date;
  readonly xid: number;
}

/** Commit of a (non-streamed) transaction. */
export interface CommitMessage {
  readonly type: "commit";
  readonly flags: number;
  readonly commitLsn: Lsn;
  /** End of the commit record: the position to confirm once the transaction is durable. */
  readonly endLsn: Lsn;
  readonly commitTime: Date;
}

/** Replication origin of the current transaction. */
export interface OriginMessage {
  readonly type: "origin";
  readonly lsn: Lsn;
  readonly name: string;
}

/** Describes a relation before its first change (and after every schema change). */
export interface RelationMessage {
  readonly type: "relation";
  readonly xid?: number;
  readonly relationId: number;
  /** Namespace; pgoutput sends "" for pg_catalog. */
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly RelationColumn[];
}

/** Describes a non-builtin data type. */
export interface TypeMessage {
  readonly type: "type";
  readonly xid?: number;
  readonly typeOid: number;
  readonly schema: string;
  readonly name: string;
}

/** A row inserted. */
export interface InsertMessage {
  readonly type: "insert";
  readonly xid?: number;
  readonly relationId: number;
  readonly newTuple: TupleData;
}

/** A row updated; `oldKind` says whether `oldTuple` is the key ('K') or the full row ('O'). */
export interface UpdateMessage {
  readonly type: "update";
  readonly xid?: number;
  readonly relationId: number;
  readonly oldKind?: "K" | "O";
  readonly oldTuple?: TupleData;
  readonly newTuple: TupleData;
}

/** A row deleted; the old tuple is the key ('K') or the full row ('O'). */
export interface DeleteMessage {
  readonly type: "delete";
  readonly xid?: number;
  readonly relationId: number;
  readonly oldKind: "K" | "O";
  readonly oldTuple: TupleData;
}

/** One TRUNCATE statement over one or more relations. */
export interface TruncateMessage {
  readonly type: "truncate";
  readonly xid?: number;
  readonly cascade: boolean;
  readonly restartIdentity: boolean;
  readonly relationIds: readonly number[];
}

/** A `pg_logical_emit_message` message. */
export interface LogicalMessage {
  readonly type: "message";
  readonly xid?: number;
  readonly transactional: boolean;
  readonly lsn: Lsn;
  readonly prefix: string;
  readonly content: Uint8Array;
}

/** Start of a block of a streamed (in-progress) transaction (v2). */
export interface StreamStartMessage {
  readonly type: "stream_start";
  readonly xid: number;
  readonly firstSegment: boolean;
}

/** End of a streamed block (v2). */
export interface StreamStopMessage {
  readonly type: "stream_stop";
}

/** Commit of a streamed transaction (v2). */
export interface StreamCommitMessage {
  readonly type: "stream_commit";
  readonly xid: number;
  readonly flags: number;
  readonly commitLsn: Lsn;
  readonly endLsn: Lsn;
  readonly commitTime: Date;
}

/** Abort of a streamed transaction (`subXid === xid`) or of one of its subtransactions (v2). */
export interface StreamAbortMessage {
  readonly type: "stream_abort";
  readonly xid: number;
  readonly subXid: number;
}

/** Any pgoutput message. */
export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage
  | StreamStartMessage
  | StreamStopMessage
  | StreamCommitMessage
  | StreamAbortMessage;
