/**
 * The thin change events that flow from the source through the engine. They carry keys and
 * tuples as Postgres' text output, never built documents: the document is re-read from
 * Postgres at build time, so unchanged-TOAST placeholders never reach an index.
 */

/** A WAL position (log sequence number) as an unsigned 64-bit integer. */
export type Lsn = bigint;

/** A schema-qualified table name, unquoted. */
export interface TableName {
  readonly schema: string;
  readonly name: string;
}

/**
 * One tuple: column name → the value's text output (as `format('%s', col)` prints it), or
 * null. Columns Postgres did not send (unchanged TOAST) are absent, never a placeholder.
 */
export type Row = Readonly<Record<string, string | null>>;

/** One row-level change of a committed transaction. */
export interface Change {
  readonly op: "insert" | "update" | "delete" | "truncate";
  readonly table: TableName;
  /** The new tuple (insert, update). */
  readonly new?: Row;
  /**
   * The old tuple when Postgres sent one: every column under REPLICA IDENTITY FULL, only the
   * replica identity's columns otherwise (deletes, and updates that changed the key).
   */
  readonly old?: Row;
  /** Whether `old` holds the full row (REPLICA IDENTITY FULL) rather than just the key. */
  readonly oldIsFull?: boolean;
  /** End LSN of the commit that made the change durable; the version of every write it causes. */
  readonly lsn: Lsn;
  /** Approximate size in bytes, for the queue's byte bound. */
  readonly size: number;
}

/** What a `ChangeSource` yields, in commit order. */
export type SourceEvent =
  | { readonly kind: "change"; readonly change: Change }
  | {
    /** Marks the end of a transaction: every change before it with this lsn is complete. */
    readonly kind: "commit";
    readonly lsn: Lsn;
    readonly commitTime: Date;
  };

/** Formats an LSN the way Postgres prints it (`16/B374D848`). */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${
    (lsn & 0xffffffffn).toString(16).toUpperCase()
  }`;
}

/** Parses a Postgres LSN (`16/B374D848`); throws a RangeError on anything else. */
export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new RangeError(`not an LSN: ${JSON.stringify(text)} (expected e.g. 16/B374D848)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}
