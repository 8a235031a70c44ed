/**
 * The engine's ports. The engine depends only on these; `src/postgres` and `src/opensearch`
 * implement them and `src/cli` wires them together.
 */
import type { Change, Lsn, SourceEvent } from "./change.ts";

/** A root primary key: each column's text output, in `primary_key` order. */
export type DocKey = readonly string[];

/**
 * JSON text as a string, or as its UTF-8 bytes: documents read from Postgres stay bytes from
 * the result row to the `_bulk` body, never decoded into a string and encoded again.
 */
export type JsonText = string | Uint8Array;

/** Where streaming starts, reported by `ChangeSource.open`. */
export interface SourceStart {
  /** True when the slot did not exist and was created now (so every index needs a backfill). */
  readonly slotCreated: boolean;
  /** The slot's confirmed position: every write the backfill makes uses it as its version. */
  readonly startLsn: Lsn;
  /**
   * A snapshot consistent with the slot's start, exported by a transaction the source holds
   * open until `release()`: backfill reads under it meet the stream without a gap.
   * Present only when the slot was created now.
   */
  readonly snapshot?: { readonly name: string; release(): Promise<void> };
}

/** The source of committed changes: a logical replication slot. */
export interface ChangeSource {
  /** Connects, creates the slot and publication when missing, and reports where it starts. */
  open(): Promise<SourceStart>;
  /**
   * Committed changes in commit order, each transaction's changes followed by its commit
   * event, handed out in runs (never empty; a run may end mid-transaction or span several).
   * Runs, not single events: one step of an async iteration costs about as much as decoding
   * a change. Pull-based: while the consumer does not pull, the source stops reading
   * (Postgres keeps the WAL). Reconnects internally on transient failures and then
   * redelivers every unconfirmed transaction. Ends when `close()` is called or `signal`
   * aborts.
   */
  events(signal: AbortSignal): AsyncIterable<readonly SourceEvent[]>;
  /**
   * Every transaction with commit LSN ≤ `lsn` is durable downstream. Calls are monotonic;
   * a lower LSN than before is ignored. The source never reports a position past this
   * to Postgres while anything after it is unconfirmed.
   */
  confirm(lsn: Lsn): void;
  /** Stops streaming, sends a last status update with the confirmed position, disconnects. */
  close(): Promise<void>;
}

/** A built document, or a delete when its root row is gone, soft-deleted or filtered out. */
export interface BuiltDocument {
  readonly index: string;
  readonly key: DocKey;
  /** The deterministic `_id` derived from `key`. */
  readonly id: string;
  /** The document body, or null for a delete. */
  readonly document: Readonly<Record<string, unknown>> | null;
  /**
   * The document's JSON text when the builder has it (never for a delete), as a string or as
   * UTF-8 bytes (one line: no raw newline). Sinks send it as is instead of serialising
   * `document`, which may then be parsed lazily, on first read.
   */
  readonly json?: JsonText;
}

/** What a batch of changes means for the indexes. */
export interface Resolution {
  /** Index name → the distinct keys of every document the changes affect. */
  readonly keys: ReadonlyMap<string, readonly DocKey[]>;
  /** Indexes that a TRUNCATE touched; each must be rebuilt from current rows. */
  readonly truncated: ReadonlySet<string>;
  /**
   * Index name → keys among `keys` whose root row the changes deleted last (no later change
   * recreated it). A document exists only while its root row does, so each is a delete
   * without reading Postgres (see `DocumentBuilder.absent`). Optional: keys left out are built.
   */
  readonly gone?: ReadonlyMap<string, readonly DocKey[]>;
}

/** Turns changes into documents, by reading Postgres. */
export interface DocumentBuilder {
  /** The ids of every document, in every index, that the changes affect (set-based queries). */
  resolve(changes: readonly Change[]): Promise<Resolution>;
  /**
   * Builds the documents for these keys of one index from current rows: one document per
   * distinct key (a null document for a key without a row), in any order.
   */
  build(index: string, keys: readonly DocKey[]): Promise<BuiltDocument[]>;
  /**
   * Optional: the delete documents of keys whose root row is known to be gone
   * (`Resolution.gone`), made without reading Postgres. Without it, such keys are built.
   */
  absent?(index: string, keys: readonly DocKey[]): BuiltDocument[];
  /**
   * One page of root keys in key order, after `after`, for backfill; under `snapshot` when
   * given, else a fresh REPEATABLE READ snapshot.
   */
  scanKeys(
    index: string,
    options: { readonly after?: DocKey; readonly limit: number; readonly snapshot?: string },
  ): Promise<DocKey[]>;
  /** A catalog estimate of the root table's rows, for progress. */
  estimateRows(index: string): Promise<number>;
  /**
   * Optional, for backfill: the documents of the root rows after `after`, in key order, at
   * most `limit` (under `snapshot` when given). Rows soft-deleted or filtered out are skipped,
   * so `keys` holds only built documents' keys; fewer than `limit` means the table ends.
   * Without it, the backfill scans keys and then builds them. With `through`, the page is
   * every such row after `after` up to and including `through`, however many (`limit` aside).
   */
  buildPage?(
    index: string,
    options: {
      readonly after: DocKey;
      readonly limit: number;
      readonly through?: DocKey;
      readonly snapshot?: string;
    },
  ): Promise<{ keys: DocKey[]; documents: BuiltDocument[] }>;
  /**
   * Optional, for backfill with `buildPage`: the key of every `limit`-th root row after
   * `after`, for the next `pages` pages (under `snapshot` when given), counting every row,
   * soft-deleted and filtered ones too. Fewer than `pages` keys means the table ends within
   * them. The ranges between consecutive bounds partition the table, so the backfill builds
   * several pages at once, each with `buildPage(…, { through })`.
   */
  pageBounds?(
    index: string,
    options: {
      readonly after: DocKey;
      readonly limit: number;
      readonly pages: number;
      readonly snapshot?: string;
    },
  ): Promise<DocKey[]>;
}

/** One write to an index: an upsert of `document`, or a delete when it is null. */
export interface SinkWrite {
  readonly index: string;
  readonly id: string;
  /** External version: the commit LSN of the newest change that caused the write. */
  readonly version: Lsn;
  readonly document: Readonly<Record<string, unknown>> | null;
  /** The document's JSON text, when known (see `BuiltDocument.json`); absent for a delete. */
  readonly json?: JsonText;
}

/** A write the sink refused for a reason a retry cannot fix (e.g. a mapping error). */
export interface Rejection {
  readonly write: SinkWrite;
  /** OpenSearch's error type, e.g. `mapper_parsing_exception`. */
  readonly type: string;
  readonly reason: string;
}

/** The sink's view of one logical index. */
export interface IndexStatus {
  readonly index: string;
  /** True when the serving generation holds every row (backfill finished). */
  readonly seeded: boolean;
  readonly generation: number;
  /** Where an interrupted backfill stopped, to resume after it. */
  readonly backfillCursor?: DocKey;
}

/** What the sink needs to create one logical index. */
export interface IndexDefinition {
  readonly index: string;
  /** The create-index body: settings and `dynamic: strict` mappings with `_meta`. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Stable hash of the schema's canonical form; a new hash means a new generation. */
  readonly schemaHash: string;
}

/** Where documents go. */
export interface Sink {
  /** Creates what is missing (idempotent on every start) and reports each index's state. */
  ensure(indexes: readonly IndexDefinition[]): Promise<IndexStatus[]>;
  /**
   * Writes and waits until they are durable. Throws `TransientSinkError` when retries are
   * exhausted; returns the writes refused for good. `caughtUp` asks for immediate visibility.
   */
  write(
    writes: readonly SinkWrite[],
    options: { readonly caughtUp: boolean },
  ): Promise<readonly Rejection[]>;
  /** Stores rejected writes with their reasons in the dead-letter store. */
  quarantine(rejections: readonly Rejection[]): Promise<void>;
  /** Records backfill progress so a crash resumes after `key`. */
  saveBackfillCursor(index: string, key: DocKey): Promise<void>;
  /** Marks the building generation seeded and makes it serve reads (atomic alias swap). */
  markSeeded(index: string): Promise<void>;
  /** Starts a new generation of `index`; it needs a backfill, and live writes reach both. */
  startReindex(index: string): Promise<void>;
  close(): Promise<void>;
}

/** A sink failure that a later retry may fix (network, 429, 5xx, timeouts). */
export class TransientSinkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransientSinkError";
  }
}

/** A source failure that a reconnect may fix (connection lost, Postgres restarting). */
export class TransientSourceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransientSourceError";
  }
}
