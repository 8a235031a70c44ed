/**
 * Quiescence: once the workload stopped, wait (bounded) until flusso has caught up — the
 * slot's `confirmed_flush_lsn` reached the WAL *insert* position current when the wait began
 * (not `pg_current_wal_lsn()`, the write position: with `synchronous_commit = off`, as the
 * test cluster runs, it can lag behind commits that already returned), and
 * (when a `/status` URL is given) every index is `live` (no backfill or rebuild running).
 * Only then is a ground-truth check meaningful.
 *
 * With `stallMs`, the wait scales with the backlog: it goes on while flusso makes progress (the
 * confirmed LSN advances, or a rebuild pages on) and fails once nothing moved for `stallMs`
 * (`timeoutMs` stays an overall cap). A backlog of hundreds of MB of WAL after a crash storm
 * takes minutes to replay; a stall is what must fail fast.
 *
 *     await waitForQuiescence({ sql: db.sql, slot: db.slot, statusUrl: proc.publicUrl });
 */
import type postgres from "postgres";
import { formatLsn, type Lsn, parseLsn } from "../../../src/engine/change.ts";

/** Options of `waitForQuiescence`. */
export interface QuiesceOptions {
  readonly sql: postgres.Sql;
  readonly slot: string;
  /** flusso's public surface, e.g. `http://127.0.0.1:9464`: also wait for every index `live`. */
  readonly statusUrl?: string;
  /** Give up after this many ms (default 60 000). */
  readonly timeoutMs?: number;
  /** Also give up once neither the confirmed LSN nor a rebuild moved for this many ms. */
  readonly stallMs?: number;
  /** Poll period (default 100 ms). */
  readonly pollMs?: number;
}

/** What the wait observed when it ended. */
export interface QuiesceResult {
  readonly targetLsn: Lsn;
  readonly confirmedLsn: Lsn;
  readonly waitedMs: number;
  /** Where the slot was when the wait began (the backlog is target − this). */
  readonly startLsn: Lsn | null;
}

/** Thrown when flusso does not catch up in time: says how far it got. */
export class QuiescenceTimeoutError extends Error {
  constructor(
    readonly slot: string,
    readonly targetLsn: Lsn,
    readonly confirmedLsn: Lsn | null,
    readonly lastStatus: unknown,
    timeoutMs: number,
    stalledMs?: number,
  ) {
    super(
      `flusso did not quiesce ${
        stalledMs === undefined
          ? `within ${timeoutMs} ms`
          : `: no progress for ${stalledMs} ms (the confirmed LSN stopped advancing)`
      }: slot ${slot} confirmed ${
        confirmedLsn === null ? "nothing (slot missing?)" : formatLsn(confirmedLsn)
      }, target ${formatLsn(targetLsn)}; last /status: ${
        JSON.stringify(lastStatus)?.slice(0, 600)
      }`,
    );
    this.name = "QuiescenceTimeoutError";
  }
}

/** The slot's confirmed_flush_lsn (null when the slot does not exist or has none). */
export async function confirmedFlushLsn(sql: postgres.Sql, slot: string): Promise<Lsn | null> {
  const rows = await sql<{ lsn: string | null }[]>`
    SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = ${slot}`;
  const text = rows[0]?.lsn;
  return text ? parseLsn(text) : null;
}

/**
 * pg_current_wal_insert_lsn() now: at or past the end of every commit that has returned
 * (pg_current_wal_lsn(), the write position, is not, under synchronous_commit = off).
 */
export async function currentWalLsn(sql: postgres.Sql): Promise<Lsn> {
  const [{ lsn }] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
  return parseLsn(lsn);
}

interface StatusShape {
  phase?: string;
  indexes?: {
    name: string;
    state: string;
    generation?: number;
    backfill?: { rowsDone?: number } | null;
  }[];
}

/** What moves while a rebuild runs (generation, rows paged), as a comparable string. */
function rebuildProgress(status: unknown): string {
  const indexes = (status as StatusShape | undefined)?.indexes ?? [];
  return JSON.stringify(indexes.map((i) => [i.name, i.generation, i.backfill?.rowsDone]));
}

async function statusIsLive(url: string): Promise<{ live: boolean; status: unknown }> {
  try {
    const res = await fetch(`${url}/status`);
    const status = await res.json() as StatusShape;
    const live = status.phase === "live" &&
      (status.indexes ?? []).every((i) => i.state === "live");
    return { live, status };
  } catch (error) {
    return { live: false, status: String(error) };
  }
}

/** Waits until flusso caught up; see the module comment. Throws QuiescenceTimeoutError. */
export async function waitForQuiescence(options: QuiesceOptions): Promise<QuiesceResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 100;
  const started = Date.now();
  const target = await currentWalLsn(options.sql);
  const startLsn = await confirmedFlushLsn(options.sql, options.slot);
  let confirmed: Lsn | null = startLsn;
  let lastStatus: unknown = undefined;
  let progressAt = started;
  let progress = "";
  while (Date.now() - started < timeoutMs) {
    const previous = confirmed;
    confirmed = await confirmedFlushLsn(options.sql, options.slot);
    let live = true;
    if (options.statusUrl) ({ live, status: lastStatus } = await statusIsLive(options.statusUrl));
    if (confirmed !== null && confirmed >= target && live) {
      return {
        targetLsn: target,
        confirmedLsn: confirmed,
        waitedMs: Date.now() - started,
        startLsn,
      };
    }
    const rebuild = rebuildProgress(lastStatus);
    if ((confirmed ?? 0n) > (previous ?? 0n) || rebuild !== progress) {
      progressAt = Date.now();
      progress = rebuild;
    } else if (options.stallMs !== undefined && Date.now() - progressAt >= options.stallMs) {
      throw new QuiescenceTimeoutError(
        options.slot,
        target,
        confirmed,
        lastStatus,
        timeoutMs,
        Date.now() - progressAt,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new QuiescenceTimeoutError(options.slot, target, confirmed, lastStatus, timeoutMs);
}
