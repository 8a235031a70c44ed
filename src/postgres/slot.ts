/**
 * The logical replication slot: inspect, check, create (with an exported snapshot), drop.
 * A slot pins WAL until it is confirmed, so every check here errs on the side of telling the
 * operator exactly what is wrong.
 */
import type postgres from "postgres";
import { type Lsn, parseLsn } from "../engine/change.ts";
import { quoteIdent } from "./identifiers.ts";
import { SlotLostError, SlotMismatchError } from "./replication/errors.ts";

/** What `pg_replication_slots` says about one slot. */
export interface SlotInfo {
  readonly name: string;
  readonly plugin: string | null;
  readonly slotType: string;
  readonly database: string | null;
  readonly temporary: boolean;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly restartLsn: Lsn | null;
  readonly confirmedFlushLsn: Lsn | null;
  /** reserved | extended | unreserved | lost (null on a slot that never reserved WAL). */
  readonly walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is lost; null when unlimited. */
  readonly safeWalSize: bigint | null;
}

/** The slot named `name`, or undefined when it does not exist. */
export async function inspectSlot(sql: postgres.Sql, name: string): Promise<SlotInfo | undefined> {
  const rows = await sql<{
    slot_name: string;
    plugin: string | null;
    slot_type: string;
    database: string | null;
    temporary: boolean;
    active: boolean;
    active_pid: number | null;
    restart_lsn: string | null;
    confirmed_flush_lsn: string | null;
    wal_status: string | null;
    safe_wal_size: string | null;
  }[]>`
    SELECT slot_name::text, plugin::text, slot_type, database::text, temporary, active, active_pid,
           restart_lsn::text, confirmed_flush_lsn::text, wal_status, safe_wal_size::text
      FROM pg_catalog.pg_replication_slots WHERE slot_name = ${name}`;
  const row = rows[0];
  if (!row) return undefined;
  return {
    name: row.slot_name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    temporary: row.temporary,
    active: row.active,
    activePid: row.active_pid,
    restartLsn: row.restart_lsn ? parseLsn(row.restart_lsn) : null,
    confirmedFlushLsn: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : null,
    walStatus: row.wal_status,
    safeWalSize: row.safe_wal_size === null ? null : BigInt(row.safe_wal_size),
  };
}

/**
 * Throws when an existing slot cannot serve flusso: another plugin, another database, a
 * physical slot, or its WAL is lost.
 */
export function assertUsableSlot(slot: SlotInfo, database: string): void {
  if (slot.slotType !== "logical") {
    throw new SlotMismatchError(slot.name, `it is a ${slot.slotType} slot, not a logical one`);
  }
  if (slot.plugin !== "pgoutput") {
    throw new SlotMismatchError(
      slot.name,
      `it uses the output plugin "${slot.plugin}", not pgoutput`,
    );
  }
  if (slot.database !== database) {
    throw new SlotMismatchError(
      slot.name,
      `it belongs to database "${slot.database}", not "${database}"`,
    );
  }
  if (slot.walStatus === "lost") throw new SlotLostError(slot.name);
}

/** What `CREATE_REPLICATION_SLOT` reports. */
export interface CreatedSlot {
  readonly consistentPoint: Lsn;
  /** The exported snapshot; valid only until the replication connection runs another command. */
  readonly snapshotName: string | null;
}

/**
 * Creates the slot on a replication connection. With `exportSnapshot` the result carries a
 * snapshot that sees exactly the data before the slot's first change.
 */
export async function createSlot(
  replication: postgres.Sql,
  name: string,
  exportSnapshot: boolean,
  temporary = false,
): Promise<CreatedSlot> {
  const rows = await replication.unsafe<
    { consistent_point: string; snapshot_name: string | null }[]
  >(
    createSlotCommand(name, exportSnapshot, temporary),
  );
  return {
    consistentPoint: parseLsn(rows[0].consistent_point),
    snapshotName: rows[0].snapshot_name ?? null,
  };
}

/**
 * The replication command that creates the slot (also shown to operators). A temporary slot
 * lives as long as the connection that created it and is never written to disk.
 */
export function createSlotCommand(
  name: string,
  exportSnapshot: boolean,
  temporary = false,
): string {
  return `CREATE_REPLICATION_SLOT ${quoteIdent(name)}${
    temporary ? " TEMPORARY" : ""
  } LOGICAL pgoutput ${exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"}`;
}

/**
 * The temporary slot a dry run streams from instead of `slot`: unique per process and within
 * Postgres' 63-byte name limit, so a dry run never touches the slot a real sync confirms.
 */
export function dryRunSlotName(slot: string, pid: number): string {
  const suffix = `_dry_run_${pid}`;
  return `${slot.slice(0, 63 - suffix.length)}${suffix}`;
}

/** Raised by `dropSlot` when the slot is in use and `force` was not given. */
export class SlotActiveError extends Error {
  constructor(slot: string, pid: number | null) {
    super(
      `replication slot "${slot}" is in use by process ${pid}: stop the flusso instance that ` +
        `streams from it first, or pass --force to terminate that connection.`,
    );
    this.name = "SlotActiveError";
  }
}

/**
 * Drops the slot; returns false when it did not exist. An active slot is refused unless
 * `force`, which terminates its walsender first.
 */
export async function dropSlot(
  sql: postgres.Sql,
  name: string,
  options: { force?: boolean } = {},
): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const slot = await inspectSlot(sql, name);
    if (!slot) return false;
    if (!slot.active) {
      await sql`SELECT pg_catalog.pg_drop_replication_slot(${name})`;
      return true;
    }
    if (!options.force) throw new SlotActiveError(name, slot.activePid);
    if (slot.activePid !== null) {
      await sql`SELECT pg_catalog.pg_terminate_backend(${slot.activePid})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const slot = await inspectSlot(sql, name);
  throw new SlotActiveError(name, slot?.activePid ?? null);
}
