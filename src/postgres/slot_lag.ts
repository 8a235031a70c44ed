/**
 * Slot lag sampling: how far the slot's confirmed position trails the server's WAL, and how
 * close the slot is to losing WAL (`wal_status`, `safe_wal_size`). For metrics and /status.
 */
import type postgres from "postgres";
import { type Lsn, parseLsn } from "../engine/change.ts";

/** One sample of a slot's lag. */
export interface SlotLag {
  readonly slot: string;
  /** Whether the slot exists at all. */
  readonly exists: boolean;
  /** `pg_current_wal_lsn() - confirmed_flush_lsn` in bytes (0 when missing). */
  readonly lagBytes: number;
  readonly confirmedFlushLsn: Lsn | null;
  readonly walStatus: string | null;
  /** Bytes before the slot is lost; null when `max_slot_wal_keep_size` is unlimited. */
  readonly safeWalSize: number | null;
  readonly active: boolean;
  readonly sampledAt: Date;
}

/** Samples the slot's lag now. */
export async function sampleSlotLag(sql: postgres.Sql, slot: string): Promise<SlotLag> {
  const rows = await sql<{
    lag: string | null;
    confirmed: string | null;
    wal_status: string | null;
    safe_wal_size: string | null;
    active: boolean;
  }[]>`
    SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
           confirmed_flush_lsn::text AS confirmed, wal_status, safe_wal_size::text, active
      FROM pg_catalog.pg_replication_slots WHERE slot_name = ${slot}`;
  const row = rows[0];
  if (!row) {
    return {
      slot,
      exists: false,
      lagBytes: 0,
      confirmedFlushLsn: null,
      walStatus: null,
      safeWalSize: null,
      active: false,
      sampledAt: new Date(),
    };
  }
  return {
    slot,
    exists: true,
    lagBytes: row.lag === null ? 0 : Math.max(0, Number(row.lag)),
    confirmedFlushLsn: row.confirmed ? parseLsn(row.confirmed) : null,
    walStatus: row.wal_status,
    safeWalSize: row.safe_wal_size === null ? null : Number(row.safe_wal_size),
    active: row.active,
    sampledAt: new Date(),
  };
}

/** A periodic sampler keeping the latest sample for metrics and /status. */
export interface SlotLagSampler {
  /** The latest sample (undefined before the first one succeeded). */
  latest(): SlotLag | undefined;
  stop(): void;
}

/** Samples every `intervalMs`; a failed sample keeps the previous one and calls `onError`. */
export function startSlotLagSampler(
  sql: postgres.Sql,
  slot: string,
  intervalMs: number,
  onError: (error: unknown) => void = () => {},
): SlotLagSampler {
  let latest: SlotLag | undefined;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      latest = await sampleSlotLag(sql, slot);
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(tick, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    latest: () => latest,
    stop: () => clearInterval(timer),
  };
}
