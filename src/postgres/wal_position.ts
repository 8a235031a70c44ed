/**
 * The WAL position a write that re-reads rows takes as its version (verify's repairs, dead
 * letter replays).
 */
import type postgres from "postgres";
import { type Lsn, parseLsn } from "../engine/change.ts";

/**
 * The WAL insert position: past the commit record of every transaction whose changes a read
 * that follows can see, also under `synchronous_commit = off`, where a commit is visible
 * before its WAL is written and `pg_current_wal_lsn()` (the write position) can still be
 * behind it for up to `wal_writer_delay`.
 */
export async function walInsertLsn(sql: postgres.Sql): Promise<Lsn> {
  const [row] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
  return parseLsn(row.lsn);
}
