/**
 * A reliability world on a database of the caller's choosing: the shop schema and seed, an
 * OpenSearch emulator, a temp copy of examples/shop/flusso.toml pointed at both, and the
 * compiled `flusso sync` started on demand. Part A's shop harness (support/shop_harness.ts)
 * always uses the run's shared cluster; source faults and TLS need a private cluster (to
 * restart it, stop it, reconfigure it), so this one takes any database.
 *
 *     const cluster = await startCluster();
 *     const db = await privateDatabase(cluster, "shop");
 *     const w = await startWorld({ db, customers: 200 });
 *     await w.start();  ... await w.quiesce(); assertGroundTruth(await w.groundTruth());
 *     await w.close(); cluster.stop();
 */
import { readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/model.ts";
import { type Emulator, startEmulator } from "../../support/opensearch/emulator.ts";
import {
  type FlussoProcess,
  startSync,
  type SyncConfig,
  writeSyncConfig,
} from "../../support/flusso_process.ts";
import type { PostgresCluster } from "../../support/postgres_cluster.ts";
import { testDatabase } from "../../support/postgres.ts";
import { checkGroundTruth, type GroundTruthReport } from "../support/ground_truth.ts";
import { type QuiesceResult, waitForQuiescence } from "../support/quiesce.ts";
import { parseLsn } from "../../../src/engine/change.ts";
import { setTomlKeys, type TomlValue } from "../support/shop_harness.ts";
import { prepareShop } from "../support/workload.ts";

/** A database flusso syncs from: where it is, how to reach it, its slot and publication. */
export interface WorldDatabase {
  readonly name: string;
  /** Superuser URL of the database (trust auth on 127.0.0.1). */
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  /** A pooled superuser client on the database (a new one after `reopen`). */
  readonly sql: postgres.Sql;
  /**
   * Ends the client and opens a fresh one: call `end` before stopping the server and `reopen`
   * after starting it, so no pooled connection of the test sees the shutdown.
   */
  end(): Promise<void>;
  reopen(): void;
  /** Closes the client (the cluster owner removes the data). */
  close(): Promise<void>;
}

/** Creates database `name` in a private cluster and returns a client on it. */
export async function privateDatabase(
  cluster: PostgresCluster,
  name: string,
): Promise<WorldDatabase> {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = cluster.url.replace(/\/postgres$/, `/${name}`);
  const open = () => postgres(url, { max: 4, onnotice: () => {} });
  let sql = open();
  return {
    name,
    url,
    slot: `${name}_slot`,
    publication: `${name}_pub`,
    get sql() {
      return sql;
    },
    end: () => sql.end({ timeout: 1 }),
    reopen() {
      sql = open();
    },
    close: () => sql.end({ timeout: 1 }),
  };
}

/** A database of the run's shared cluster (tests/support/postgres.ts), dropped on close. */
export async function sharedDatabase(label: string): Promise<WorldDatabase> {
  const db = await testDatabase(label);
  return {
    name: db.name,
    url: db.url,
    slot: db.slot,
    publication: db.publication,
    get sql() {
      return db.sql;
    },
    end: () => Promise.resolve(),
    reopen: () => {},
    close: () => db.drop(),
  };
}

/** Options of `startWorld`. */
export interface WorldOptions {
  readonly db: WorldDatabase;
  /** `shop_seed(n)` size (default 200); 0 skips creating the schema (caller did it). */
  readonly customers?: number;
  /** What flusso gets as DATABASE_URL (default `db.url`), e.g. a TLS URL with a password. */
  readonly databaseUrl?: string;
  /** Point the sink here instead of the emulator (e.g. a TLS proxy in front of it). */
  readonly opensearchUrl?: string;
  /** Keys set in `[sinks.search]`, `[pipeline]`, `[source]` and the root table. */
  readonly sink?: Readonly<Record<string, TomlValue>>;
  readonly pipeline?: Readonly<Record<string, TomlValue>>;
  readonly source?: Readonly<Record<string, TomlValue>>;
  readonly root?: Readonly<Record<string, TomlValue>>;
  /** Raw TOML appended to the file (e.g. `password = { env = "…" }` lines need a table). */
  readonly rewrite?: (toml: string) => string;
  /** Extra environment for every spawned process (secrets, log level). */
  readonly env?: Readonly<Record<string, string>>;
  /** FLUSSO_TOKEN of the private surface. */
  readonly token?: string;
}

/** A running world; see the module comment. */
export interface World {
  readonly db: WorldDatabase;
  readonly emulator: Emulator;
  readonly config: SyncConfig;
  readonly loaded: Config;
  readonly token: string;
  /** Every process spawned so far, in order. */
  readonly processes: readonly FlussoProcess[];
  /** The last process spawned. */
  readonly flusso: FlussoProcess | undefined;
  /** Spawns `flusso sync`; waits until live by default. */
  start(
    options?: {
      wait?: "live" | "ready" | "none";
      env?: Record<string, string>;
      args?: string[];
      timeoutMs?: number;
    },
  ): Promise<FlussoProcess>;
  /** The private surface's base URL. */
  privateUrl(): string;
  /** Waits until the slot caught up and every index is live. */
  quiesce(timeoutMs?: number): Promise<QuiesceResult>;
  /** The ground-truth check of every enabled index (read straight from the emulator). */
  groundTruth(): Promise<GroundTruthReport>;
  /** Kills every process, closes the emulator, removes the config copy, closes the client. */
  close(): Promise<void>;
}

const DEFAULT_TOKEN = "reliability-b-token-0123456789";

/** Builds the world; see the module comment. */
export async function startWorld(options: WorldOptions): Promise<World> {
  const { db } = options;
  const emulator = await startEmulator();
  const token = options.token ?? DEFAULT_TOKEN;
  const databaseUrl = options.databaseUrl ?? db.url;
  let config: SyncConfig | undefined;
  try {
    if ((options.customers ?? 200) > 0) await prepareShop(db.sql, options.customers ?? 200);
    config = await writeSyncConfig({
      example: "examples/shop",
      slot: db.slot,
      publication: db.publication,
      opensearchUrl: options.opensearchUrl ?? emulator.url,
    });
    let text = readFileSync(config.path, "utf8");
    if (options.root) text = setTomlKeys(text, "", options.root);
    text = setTomlKeys(text, "source", { heartbeat_interval: "1s", ...options.source });
    if (options.sink) text = setTomlKeys(text, "sinks.search", options.sink);
    if (options.pipeline) text = setTomlKeys(text, "pipeline", options.pipeline);
    if (options.rewrite) text = options.rewrite(text);
    writeFileSync(config.path, text);
    const loaded = await loadConfig(config.path, {
      env: { ...options.env, DATABASE_URL: databaseUrl, FLUSSO_TOKEN: token },
    });
    const processes: FlussoProcess[] = [];
    const cfg = config;
    const world: World = {
      db,
      emulator,
      config: cfg,
      loaded,
      token,
      processes,
      get flusso() {
        return processes.at(-1);
      },
      async start(startOptions = {}) {
        const proc = startSync({
          config: cfg,
          databaseUrl,
          token,
          env: { ...options.env, ...startOptions.env },
          args: startOptions.args,
          keepOutputChars: 400_000,
        });
        processes.push(proc);
        const wait = startOptions.wait ?? "live";
        if (wait === "live") await proc.waitLive(startOptions.timeoutMs ?? 60_000);
        else if (wait === "ready") await proc.waitReady(startOptions.timeoutMs ?? 60_000);
        return proc;
      },
      privateUrl: () => `http://${loaded.server.privateAddress}`,
      async quiesce(timeoutMs = 60_000) {
        const proc = processes.at(-1);
        // support/quiesce.ts targets pg_current_wal_lsn(), the WAL *write* position: with
        // synchronous_commit = off (the test clusters) it can lag behind a commit that already
        // returned, so the wait could end before flusso saw the last changes. Wait first for
        // the insert position (an upper bound of every commit so far), then for "live".
        const [{ lsn }] = await db.sql<{ lsn: string }[]>`
          SELECT pg_current_wal_insert_lsn()::text AS lsn`;
        const target = parseLsn(lsn);
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const rows = await db.sql<{ lsn: string | null }[]>`
            SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots
             WHERE slot_name = ${db.slot}`;
          const confirmed = rows[0]?.lsn ? parseLsn(rows[0].lsn) : null;
          if (confirmed !== null && confirmed >= target) break;
          if (Date.now() > deadline) {
            throw new Error(
              `flusso did not confirm ${lsn} within ${timeoutMs} ms (confirmed ${rows[0]?.lsn})`,
            );
          }
          await sleep(50);
        }
        return await waitForQuiescence({
          sql: db.sql,
          slot: db.slot,
          statusUrl: proc ? await proc.publicUrl() : undefined,
          timeoutMs: Math.max(1000, deadline - Date.now()),
        });
      },
      groundTruth: () =>
        checkGroundTruth({ sql: db.sql, opensearchUrl: emulator.url, config: loaded }),
      async close() {
        for (const p of processes) await p.kill9().catch(() => {});
        cfg.remove();
        await emulator.close();
        await db.close();
      },
    };
    return world;
  } catch (error) {
    config?.remove();
    await emulator.close();
    throw error;
  }
}

/** Resolves with the exit code when the process ends within `ms`, else undefined. */
export async function exitedWithin(
  proc: FlussoProcess,
  ms: number,
): Promise<number | string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([proc.exited(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
