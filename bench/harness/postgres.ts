/**
 * The benchmarks' PostgreSQL: one private throwaway cluster per `make bench` run (started on
 * first use, removed at exit), and one fresh database per scenario inside it. Also the few
 * position queries every scenario needs: WAL insert position, slot confirmed position.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import postgres from "postgres";
import { type PostgresCluster, startCluster } from "../../tests/support/postgres_cluster.ts";
import { parseLsn } from "./lsn.ts";
import { dropDatabaseWithSlots } from "../../tests/support/postgres.ts";

/** Raised when a setup step against the bench cluster fails; names the step. */
export class BenchPostgresError extends Error {
  constructor(step: string, detail: string) {
    super(`bench postgres: ${step} failed: ${detail}`);
    this.name = "BenchPostgresError";
  }
}

let cluster: Promise<PostgresCluster> | undefined;

/**
 * The run's cluster. Settings lean towards throughput the way a tuned production server would
 * (the anchor and flusso share them, so the ratio is unaffected): large WAL so no checkpoint
 * lands mid-measurement, and autovacuum off so it does not compete for the two cores.
 * `synchronous_commit` is back on (the test clusters turn it off): with it off, a commit's WAL
 * reaches a walsender only at the WAL writer's next round (up to 200 ms later), which would
 * be measured as replication latency. fsync stays off, so a commit costs a write, not a flush.
 */
export function benchCluster(): Promise<PostgresCluster> {
  cluster ??= (async () => {
    const started = await startCluster({
      max_wal_size: "16GB",
      checkpoint_timeout: "30min",
      autovacuum: "off",
      synchronous_commit: "on",
      wal_sender_timeout: "60s",
    });
    // Node's "exit" does not fire on Deno.exit(); Deno's "unload" does. stop() is idempotent.
    process.on("exit", () => started.stop());
    globalThis.addEventListener?.("unload", () => started.stop());
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        started.stop();
        process.exit(130);
      });
    }
    return started;
  })();
  return cluster;
}

/** A scenario's own database. */
export interface BenchDatabase {
  readonly name: string;
  /** Superuser URL of this database. */
  readonly url: string;
  readonly binDir: string;
  /** A small pool for setup and polling. */
  readonly sql: postgres.Sql;
  /** Drops the database with its slots. */
  drop(): Promise<void>;
}

let counter = 0;

/** Creates a fresh database in the bench cluster and runs `setupSql` in it (via psql). */
export async function benchDatabase(label: string, setupSql?: string): Promise<BenchDatabase> {
  const c = await benchCluster();
  const name = `bench_${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${++counter}`;
  const admin = postgres(c.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = c.url.replace(/\/postgres$/, `/${name}`);
  if (setupSql) await psql(c.binDir, url, setupSql);
  const sql = postgres(url, { max: 4, onnotice: () => {}, idle_timeout: 30 });
  return {
    name,
    url,
    binDir: c.binDir,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      await dropDatabaseWithSlots(c.url, name);
    },
  };
}

/**
 * Runs SQL through psql (simple protocol, so procedures may COMMIT inside loops) and returns
 * its unaligned, tuples-only output. Stops at the first error.
 */
export function psql(binDir: string, url: string, sqlText: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(binDir, "psql"),
      ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => out += d);
    child.stderr.setEncoding("utf8").on("data", (d: string) => err += d);
    child.on("error", (e) => reject(new BenchPostgresError("psql", String(e))));
    child.on("close", (code) => {
      if (code === 0) resolve(out.trim());
      else reject(new BenchPostgresError("psql", `exit ${code}: ${err.trim().slice(0, 2000)}`));
    });
    child.stdin.end(sqlText);
  });
}

/** Creates a pgoutput slot now (for the anchor, which must see the same backlog as flusso). */
export async function createPgoutputSlot(sql: postgres.Sql, slot: string): Promise<void> {
  await sql`SELECT pg_create_logical_replication_slot(${slot}, 'pgoutput')`;
}

/** Drops a slot if it exists. */
export async function dropSlot(sql: postgres.Sql, slot: string): Promise<void> {
  await sql`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${slot} AND NOT active`;
}

/** The slot's `confirmed_flush_lsn`, or undefined when the slot does not exist (yet). */
export async function confirmedFlushLsn(
  sql: postgres.Sql,
  slot: string,
): Promise<bigint | undefined> {
  const rows = await sql<{ lsn: string | null }[]>`
    SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = ${slot}`;
  const text = rows[0]?.lsn;
  return text ? parseLsn(text) : undefined;
}

/** The current WAL insert position: the end of the last record written by anyone. */
export async function walInsertLsn(sql: postgres.Sql): Promise<bigint> {
  const [{ lsn }] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
  return parseLsn(lsn);
}
