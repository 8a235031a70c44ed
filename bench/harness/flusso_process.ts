/**
 * flusso under benchmark: writes a scenario's flusso.toml and schema files to a temp dir,
 * spawns the compiled binary (`flusso sync --config …`) with its stdout/stderr in a log file,
 * measures it from /proc, waits for positions, and stops it with SIGTERM like systemd would.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type postgres from "postgres";
import { freePort } from "../../tests/support/postgres_cluster.ts";
import { flussoBinary, flussoBinaryExists } from "./env.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { confirmedFlushLsn } from "./postgres.ts";
import { type MeasuredChild, type ProcessStats, spawnMeasured } from "./process_stats.ts";

/** Raised when flusso exits while a benchmark waits on it, or a wait times out. */
export class FlussoRunError extends Error {
  constructor(what: string, logTail: string) {
    super(`flusso ${what}${logTail ? `\n--- flusso log (tail) ---\n${logTail}` : ""}`);
    this.name = "FlussoRunError";
  }
}

/** The name every scenario gives its one sink (so the URL override is `SEARCH_OPENSEARCH_URL`). */
export const SINK_NAME = "search";

let syncAvailable: boolean | undefined;

/**
 * True when the binary exists and has a `sync` command. Until it does, scenarios print their
 * anchors and mark the flusso column "pending: needs flusso sync".
 */
export function flussoSyncAvailable(): boolean {
  if (syncAvailable !== undefined) return syncAvailable;
  if (!flussoBinaryExists()) return syncAvailable = false;
  const result = spawnSync(flussoBinary(), ["sync", "--help"], { encoding: "utf8" });
  return syncAvailable = result.status === 0 && /--config/.test(result.stdout ?? "");
}

/** What a scenario's config says. */
export interface ScenarioConfig {
  readonly slot: string;
  readonly publication: string;
  /** Prefix of every index name, unique per scenario so runs against a real cluster never collide. */
  readonly prefix: string;
  /** Index name → schema file contents. */
  readonly indexes: Readonly<Record<string, string>>;
  /** Extra lines for `[pipeline]` (defaults otherwise). */
  readonly pipeline?: Readonly<Record<string, string | number>>;
  /** Extra lines for `[sinks.search]`. */
  readonly sink?: Readonly<Record<string, string | number>>;
}

/** A written config: its directory and flusso.toml path. */
export interface WrittenConfig {
  readonly dir: string;
  readonly path: string;
  readonly prefix: string;
  readonly slot: string;
  /** flusso's `/status` on the config's public address. */
  readonly statusUrl: string;
  remove(): void;
}

const toml = (value: string | number) =>
  typeof value === "number" ? String(value) : JSON.stringify(value);

/**
 * Writes flusso.toml (the format in SCHEMA.md) and one schema file per index. The database
 * and OpenSearch URLs are not in the file: they come from `DATABASE_URL` and
 * `SEARCH_OPENSEARCH_URL` at start, as a deployment would pass them.
 */
export async function writeFlussoConfig(config: ScenarioConfig): Promise<WrittenConfig> {
  const dir = mkdtempSync(join(tmpdir(), "flusso-bench-"));
  const [publicPort, privatePort] = [await freePort(), await freePort()];
  const lines = [
    `prefix = ${toml(config.prefix)}`,
    "",
    "[source]",
    'type = "postgres"',
    'connection_url = { env = "DATABASE_URL" }',
    `slot = ${toml(config.slot)}`,
    `publication = ${toml(config.publication)}`,
    "manage_publication = true",
    "",
    `[sinks.${SINK_NAME}]`,
    'type = "opensearch"',
    'url = "http://127.0.0.1:9200"',
    "number_of_replicas = 0",
    ...Object.entries(config.sink ?? {}).map(([k, v]) => `${k} = ${toml(v)}`),
    "",
    "[pipeline]",
    ...Object.entries(config.pipeline ?? {}).map(([k, v]) => `${k} = ${toml(v)}`),
    "",
    "[server]",
    `public_address = "127.0.0.1:${publicPort}"`,
    `private_address = "127.0.0.1:${privatePort}"`,
    'token = { env = "FLUSSO_TOKEN" }',
  ];
  for (const [name, schema] of Object.entries(config.indexes)) {
    const file = `${name}.schema.yml`;
    writeFileSync(join(dir, file), schema);
    lines.push("", "[[index]]", `name = ${toml(name)}`, `schema = ${toml(file)}`);
  }
  const path = join(dir, "flusso.toml");
  writeFileSync(path, lines.join("\n") + "\n");
  return {
    dir,
    path,
    prefix: config.prefix,
    slot: config.slot,
    statusUrl: `http://127.0.0.1:${publicPort}/status`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A running `flusso sync`. */
export interface FlussoProcess {
  readonly measured: MeasuredChild;
  /** performance.now() at spawn. */
  readonly startedAt: number;
  /** Last lines of its log. */
  logTail(lines?: number): string;
  /** True once it exited (by itself or by stop()). */
  exited(): boolean;
  /** SIGTERM, wait (SIGKILL after `graceMs`); returns its stats taken just before the signal. */
  stop(graceMs?: number): Promise<ProcessStats>;
}

/** Starts `flusso sync --config <config>` against a database and a sink. */
export function startFlusso(options: {
  config: WrittenConfig;
  databaseUrl: string;
  sinkUrl: string;
  env?: Record<string, string>;
}): FlussoProcess {
  const logPath = join(options.config.dir, "flusso.log");
  const log = openSync(logPath, "a");
  const measured = spawnMeasured(flussoBinary(), ["sync", "--config", options.config.path], {
    stdio: ["ignore", log, log],
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      [`${SINK_NAME.toUpperCase()}_OPENSEARCH_URL`]: options.sinkUrl,
      FLUSSO_TOKEN: "bench-token",
      FLUSSO_LOG_FORMAT: "json",
      ...options.env,
    },
  });
  closeSync(log); // the child has its own copy
  let done = false;
  void measured.exited.then(() => done = true);
  const logTail = (lines = 30) => {
    try {
      return readFileSync(logPath, "utf8").split("\n").slice(-lines - 1).join("\n");
    } catch {
      return "";
    }
  };
  return {
    measured,
    startedAt: measured.startedAt,
    logTail,
    exited: () => done,
    async stop(graceMs = 15_000) {
      const stats = measured.stats();
      if (done) return stats;
      measured.child.kill("SIGTERM");
      const timer = setTimeout(() => measured.child.kill("SIGKILL"), graceMs);
      await measured.exited;
      clearTimeout(timer);
      return stats;
    },
  };
}

/**
 * Polls `check` every `intervalMs` until it returns true; returns performance.now() of the
 * successful poll. Fails fast when flusso exits, and after `timeoutMs`.
 */
export async function waitUntil(
  what: string,
  flusso: FlussoProcess,
  check: () => Promise<boolean>,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  const interval = options.intervalMs ?? 20;
  const deadline = performance.now() + (options.timeoutMs ?? 15 * 60_000);
  while (true) {
    if (await check()) return performance.now();
    if (flusso.exited()) {
      throw new FlussoRunError(`exited while waiting for ${what}`, flusso.logTail());
    }
    if (performance.now() > deadline) {
      throw new FlussoRunError(`timed out waiting for ${what}`, flusso.logTail());
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits until the slot's confirmed_flush_lsn reaches `target`; returns when it did. */
export function waitForConfirmed(
  flusso: FlussoProcess,
  sql: postgres.Sql,
  slot: string,
  target: bigint,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  return waitUntil(
    `slot ${slot} to confirm ${formatLsn(target)}`,
    flusso,
    async () => ((await confirmedFlushLsn(sql, slot)) ?? 0n) >= target,
    options,
  );
}

/** flusso's own confirmed position from `/status` (`confirmedLsn`), or undefined when unknown. */
export async function statusConfirmedLsn(statusUrl: string): Promise<bigint | undefined> {
  try {
    const response = await fetch(statusUrl);
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const body = await response.json() as { confirmedLsn?: unknown };
    return typeof body.confirmedLsn === "string" ? parseLsn(body.confirmedLsn) : undefined;
  } catch {
    return undefined;
  }
}

/** When a drain finished, seen from both sides. */
export interface DrainTimes {
  /** performance.now() when the slot's confirmed_flush_lsn reached the target (the figure). */
  readonly slotAt: number;
  /**
   * performance.now() when flusso's `/status` said it had confirmed the target internally
   * (every document durable in OpenSearch), or undefined when /status never said so. The gap
   * to `slotAt` is how long flusso takes to tell Postgres.
   */
  readonly internalAt?: number;
}

/**
 * Waits for the slot to confirm `target`, noting also when flusso's own /status did. The slot
 * (a catalog read in Postgres) is polled every `slotIntervalMs` (default 5 ms), so the figure
 * is not rounded up to a coarse poll; /status every `intervalMs` at most, since answering it
 * costs flusso CPU.
 */
export async function waitForDrain(
  flusso: FlussoProcess,
  sql: postgres.Sql,
  config: WrittenConfig,
  target: bigint,
  options: { intervalMs?: number; slotIntervalMs?: number; timeoutMs?: number } = {},
): Promise<DrainTimes> {
  let internalAt: number | undefined;
  const statusEvery = options.intervalMs ?? 20;
  let statusAt = -Infinity;
  const slotAt = await waitUntil(
    `slot ${config.slot} to confirm ${formatLsn(target)}`,
    flusso,
    async () => {
      const now = performance.now();
      if (internalAt === undefined && now - statusAt >= statusEvery) {
        statusAt = now;
        if (((await statusConfirmedLsn(config.statusUrl)) ?? 0n) >= target) {
          internalAt = performance.now();
        }
      }
      return ((await confirmedFlushLsn(sql, config.slot)) ?? 0n) >= target;
    },
    { intervalMs: options.slotIntervalMs ?? 5, timeoutMs: options.timeoutMs },
  );
  return { slotAt, internalAt: internalAt ?? slotAt };
}
