/**
 * Typed failures of the replication stream. Each says what happened, where, and what an
 * operator can do about it; `retryable` tells the source whether a reconnect may help.
 */

/** A pgoutput or CopyData payload that cannot be decoded (truncated, unknown type, bad field). */
export class PgoutputDecodeError extends Error {
  /** Byte offset inside the payload where decoding stopped. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`cannot decode pgoutput message at byte ${offset}: ${message}`);
    this.name = "PgoutputDecodeError";
    this.offset = offset;
  }
}

/** The replication slot does not exist (dropped by someone, or never created). Not retried. */
export class SlotMissingError extends Error {
  readonly slot: string;
  constructor(slot: string) {
    super(
      `replication slot "${slot}" no longer exists: changes since the last confirmed position ` +
        `are lost. Re-seed: restart flusso so it creates the slot again and backfills every ` +
        `index (or run \`flusso reindex\` for each index).`,
    );
    this.name = "SlotMissingError";
    this.slot = slot;
  }
}

/**
 * A dry run's replication connection ended: its temporary slot ended with it, so the stream
 * cannot resume. Nothing a real sync uses was touched. Not retried.
 */
export class DryRunStreamEndedError extends Error {
  readonly slot: string;
  constructor(slot: string, cause: string) {
    super(
      `the dry run's replication connection ended (${cause}), and its temporary slot "${slot}" ` +
        `with it; nothing a real sync uses was changed. Run the dry run again.`,
    );
    this.name = "DryRunStreamEndedError";
    this.slot = slot;
  }
}

/** The slot's WAL was removed (`wal_status = lost`): it can never stream again. Not retried. */
export class SlotLostError extends Error {
  readonly slot: string;
  constructor(slot: string, detail = "wal_status = lost") {
    super(
      `replication slot "${slot}" has lost required WAL (${detail}), usually because ` +
        `max_slot_wal_keep_size was exceeded while flusso was behind. Drop it with ` +
        `\`flusso slot drop --config <file>\`, then restart flusso: it creates a new slot and ` +
        `re-seeds every index.`,
    );
    this.name = "SlotLostError";
    this.slot = slot;
  }
}

/** The slot exists but decodes with another output plugin, or belongs to another database. */
export class SlotMismatchError extends Error {
  readonly slot: string;
  constructor(slot: string, what: string) {
    super(
      `replication slot "${slot}" cannot be used by flusso: ${what}. Choose another slot ` +
        `name in [source] slot, or drop this slot if nothing else uses it.`,
    );
    this.name = "SlotMismatchError";
    this.slot = slot;
  }
}

/** The server sent something the protocol does not allow here (e.g. Commit without Begin). */
export class ReplicationProtocolError extends Error {
  constructor(message: string) {
    super(`unexpected replication stream: ${message}`);
    this.name = "ReplicationProtocolError";
  }
}
