/**
 * The test run's PostgreSQL. One cluster serves the whole run: `make test` starts it and
 * passes its description in FLUSSO_TEST_PG_CLUSTER; a test file run on its own starts one
 * lazily and removes it when the process exits. Each test gets its own database, slot and
 * publication names, so tests cannot leak into each other.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import postgres from "postgres";
import type { PostgresConnection } from "../../src/config/model.ts";
import { type PostgresCluster, startCluster } from "./postgres_cluster.ts";

/** The cluster description `pg_script.ts start` writes and FLUSSO_TEST_PG_CLUSTER points at. */
export interface ClusterInfo {
  url: string;
  port: number;
  dataDir: string;
  binDir: string;
}

let shared: Promise<ClusterInfo> | undefined;

/** The run's shared cluster: the one `make test` started, or one started for this process. */
export function sharedCluster(): Promise<ClusterInfo> {
  shared ??= (async () => {
    const file = process.env.FLUSSO_TEST_PG_CLUSTER;
    if (file) return JSON.parse(readFileSync(file, "utf8")) as ClusterInfo;
    const cluster: PostgresCluster = await startCluster();
    // Deno's test runner ends without Node's "exit" event; it does dispatch "unload".
    process.on("exit", () => cluster.stop());
    globalThis.addEventListener?.("unload", () => cluster.stop());
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        cluster.stop();
        process.exit(130);
      });
    }
    return {
      url: cluster.url,
      port: cluster.port,
      dataDir: cluster.dataDir,
      binDir: cluster.binDir,
    };
  })();
  return shared;
}

/** A database of one's own inside the shared cluster. */
export interface TestDatabase {
  readonly name: string;
  /** URL of this database (superuser, trust auth). */
  readonly url: string;
  /** A slot name and a publication name unique to this database. */
  readonly slot: string;
  readonly publication: string;
  /** A pooled client for setting up and inspecting the database. */
  readonly sql: postgres.Sql;
  readonly cluster: ClusterInfo;
  /** Drops the database with its slots; call in `after`. */
  drop(): Promise<void>;
}

let counter = 0;

/** Creates a fresh database (optionally running `setupSql` in it). */
export async function testDatabase(label = "t", setupSql?: string): Promise<TestDatabase> {
  const cluster = await sharedCluster();
  const name = `flusso_${
    label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()
  }_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 63);
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = cluster.url.replace(/\/postgres$/, `/${name}`);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  if (setupSql) await sql.unsafe(setupSql);
  return {
    name,
    url,
    slot: `${name.slice(0, 50)}_slot`,
    publication: `${name.slice(0, 50)}_pub`,
    sql,
    cluster,
    async drop() {
      await sql.end({ timeout: 1 });
      await dropDatabaseWithSlots(cluster.url, name);
    },
  };
}

/** The resolved-config form of a test database URL (trust auth, no TLS). */
export function connectionOf(url: string): PostgresConnection {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    database: u.pathname.slice(1),
    sslmode: "disable",
  };
}

/**
 * Drops database `name` of the cluster at `adminUrl` with its replication slots: a slot keeps
 * its database alive, so its walsender is terminated and the slot dropped first.
 */
export async function dropDatabaseWithSlots(adminUrl: string, name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = ${name} AND active_pid IS NOT NULL`;
    for (let i = 0; i < 50; i++) {
      const [{ n }] =
        await admin`SELECT count(*)::int AS n FROM pg_replication_slots WHERE database = ${name} AND active`;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = ${name}`;
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
