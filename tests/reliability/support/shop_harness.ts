/**
 * One reliability scenario's world: a fresh database with the examples/shop schema and seed,
 * an in-process OpenSearch emulator (fault injection, request log), a temp copy of
 * examples/shop/flusso.toml pointed at both, and the compiled `flusso sync` started and
 * restarted on demand (tests/support/flusso_process.ts).
 *
 *     const h = await startShopHarness({ label: "crash", customers: 300,
 *       sink: { timeout_secs: 2 }, pipeline: { max_delay: "20ms" } });
 *     await h.start();                     // spawns dist/flusso sync, waits until live
 *     ... h.emulator.faults.failNext(5, 429) ... await h.flusso!.kill9(); await h.start();
 *     await h.quiesce();                   // slot caught up and every index live
 *     assertGroundTruth(await h.groundTruth());
 *     await h.close();                     // in `after`
 */
import { readFileSync, writeFileSync } from "node:fs";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/model.ts";
import { type Emulator, startEmulator } from "../../support/opensearch/emulator.ts";
import {
  type FlussoProcess,
  startSync,
  type SyncConfig,
  writeSyncConfig,
} from "../../support/flusso_process.ts";
import { type TestDatabase, testDatabase } from "../../support/postgres.ts";
import { checkGroundTruth, type GroundTruthReport } from "./ground_truth.ts";
import { type QuiesceResult, waitForQuiescence } from "./quiesce.ts";
import { prepareShop } from "./workload.ts";

/** A TOML scalar written into the config copy. */
export type TomlValue = string | number | boolean;

/** Options of `startShopHarness`. */
export interface ShopHarnessOptions {
  /** Names the test database. */
  readonly label: string;
  /** `shop_seed(n)` size (default 200). */
  readonly customers?: number;
  /** Keys set in `[sinks.search]` (e.g. `{ timeout_secs: 2, max_retries: 20 }`). */
  readonly sink?: Readonly<Record<string, TomlValue>>;
  /** Keys set in `[pipeline]` (e.g. `{ max_delay: "20ms" }`). */
  readonly pipeline?: Readonly<Record<string, TomlValue>>;
  /** Keys set in `[source]` (default `{ heartbeat_interval: "1s" }`, so an idle slot catches up fast). */
  readonly source?: Readonly<Record<string, TomlValue>>;
  /** Root keys (e.g. `{ on_error: "skip" }`). */
  readonly root?: Readonly<Record<string, TomlValue>>;
  /** Use this emulator instead of starting one (the harness then does not close it). */
  readonly emulator?: Emulator;
  /** Point the sink at this URL instead of the emulator's (e.g. a TLS proxy in front of it). */
  readonly opensearchUrl?: string;
  /** The private surface's bearer token (default a fixed test token). */
  readonly token?: string;
}

/** A running scenario world; see the module comment. */
export interface ShopHarness {
  readonly db: TestDatabase;
  readonly emulator: Emulator;
  readonly config: SyncConfig;
  /** The config as flusso loads it (indexes, models, prefix) — what the ground truth needs. */
  readonly loaded: Config;
  readonly token: string;
  /** The current flusso process (the last one `start` spawned). */
  readonly flusso: FlussoProcess | undefined;
  /** Every process spawned so far (their captured output, e.g. for secret greps). */
  readonly processes: readonly FlussoProcess[];
  /**
   * Spawns `flusso sync`; by default waits until it is live (`wait: "ready"` waits for
   * /readyz only, `"none"` returns at once, e.g. to kill it during backfill).
   */
  start(
    options?: {
      wait?: "live" | "ready" | "none";
      env?: Record<string, string>;
      timeoutMs?: number;
    },
  ): Promise<FlussoProcess>;
  /** The private surface's base URL of the current process. */
  privateUrl(): Promise<string>;
  /** `POST /reindex?index=` on the private surface with the token; resolves with the HTTP status. */
  reindex(index: string): Promise<number>;
  /**
   * Waits until the slot caught up and every index is live (see quiesce.ts); with `stallMs`,
   * for as long as flusso makes progress (up to `timeoutMs`) but no longer than `stallMs`
   * without any.
   */
  quiesce(timeoutMs?: number, stallMs?: number): Promise<QuiesceResult>;
  /** Runs the ground-truth check over every enabled index. */
  groundTruth(): Promise<GroundTruthReport>;
  /** Stops the process (kill -9 if needed), closes the emulator and drops the database. */
  close(): Promise<void>;
}

const DEFAULT_TOKEN = "reliability-test-token-0123456789";

/** Sets `key = value` lines in `[table]` of a TOML text (added at the table's end when absent). */
export function setTomlKeys(
  text: string,
  table: string,
  values: Readonly<Record<string, TomlValue>>,
): string {
  const lines = text.split("\n");
  const render = (k: string, v: TomlValue) =>
    `${k} = ${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
  let start = table === "" ? 0 : lines.findIndex((l) => l.trim() === `[${table}]`);
  if (start < 0) {
    lines.push("", `[${table}]`);
    start = lines.length - 1;
  }
  let end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  if (end < 0) end = lines.length;
  if (table === "") end = lines.findIndex((l) => /^\s*\[/.test(l));
  for (const [k, v] of Object.entries(values)) {
    const at = lines.findIndex((l, i) =>
      i >= start && i < end && new RegExp(`^\\s*${k}\\s*=`).test(l)
    );
    if (at >= 0) lines[at] = render(k, v);
    else {
      let insert = end;
      while (insert > start + 1 && lines[insert - 1].trim() === "") insert--;
      lines.splice(insert, 0, render(k, v));
      end++;
    }
  }
  return lines.join("\n");
}

/** Builds the world; see the module comment. */
export async function startShopHarness(options: ShopHarnessOptions): Promise<ShopHarness> {
  const db = await testDatabase(options.label);
  const ownEmulator = options.emulator === undefined;
  const emulator = options.emulator ?? await startEmulator();
  const token = options.token ?? DEFAULT_TOKEN;
  let config: SyncConfig | undefined;
  try {
    await prepareShop(db.sql, options.customers ?? 200);
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
    writeFileSync(config.path, text);
    const loaded = await loadConfig(config.path, {
      env: { DATABASE_URL: db.url, FLUSSO_TOKEN: token },
    });
    const processes: FlussoProcess[] = [];
    const cfg: SyncConfig = config;

    const harness: ShopHarness = {
      db,
      emulator,
      config: cfg,
      loaded,
      token,
      get flusso() {
        return processes.at(-1);
      },
      processes,
      async start(startOptions = {}) {
        const proc = startSync({
          config: cfg,
          databaseUrl: db.url,
          token,
          env: startOptions.env,
          keepOutputChars: 200_000,
        });
        processes.push(proc);
        const wait = startOptions.wait ?? "live";
        if (wait === "live") await proc.waitLive(startOptions.timeoutMs ?? 60_000);
        else if (wait === "ready") await proc.waitReady(startOptions.timeoutMs ?? 60_000);
        return proc;
      },
      privateUrl() {
        // The config pins the private port (writeSyncConfig picks a free one once).
        return Promise.resolve(`http://${loaded.server.privateAddress}`);
      },
      async reindex(index) {
        const url = await harness.privateUrl();
        const res = await fetch(`${url}/reindex?index=${encodeURIComponent(index)}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        await res.body?.cancel();
        return res.status;
      },
      async quiesce(timeoutMs = 60_000, stallMs) {
        const proc = processes.at(-1);
        return await waitForQuiescence({
          sql: db.sql,
          slot: db.slot,
          statusUrl: proc ? await proc.publicUrl() : undefined,
          timeoutMs,
          stallMs,
        });
      },
      groundTruth: () =>
        checkGroundTruth({ sql: db.sql, opensearchUrl: emulator.url, config: loaded }),
      async close() {
        for (const p of processes) {
          try {
            await p.kill9();
          } catch { /* already gone */ }
        }
        cfg.remove();
        if (ownEmulator) await emulator.close();
        await db.drop();
      },
    };
    return harness;
  } catch (error) {
    config?.remove();
    if (ownEmulator) await emulator.close();
    await db.drop();
    throw error;
  }
}
