/**
 * Driving the compiled binary (`dist/flusso sync`) from tests, as an operator would: a temp
 * config per test, the process with its captured output, bounded waits on its HTTP surface,
 * clean and brutal stops, and readers for the two places the truth ends up (the slot's
 * `confirmed_flush_lsn` and the index contents).
 *
 *     const config = await writeSyncConfig({ example: "examples/shop", slot: db.slot,
 *       publication: db.publication, opensearchUrl: target.url });
 *     const flusso = startSync({ config, databaseUrl: db.url });
 *     await flusso.waitLive();
 *     ...
 *     await waitForConfirmedLsn(db.sql, db.slot, lsn);
 *     const docs = await readIndex(target.url, "customers");
 *     await flusso.stop();      // SIGTERM, asserts exit 0
 *     config.remove();
 *
 * Every wait is bounded and its timeout error carries the tail of the process's output, so a
 * failing test says what flusso was doing.
 */
import { Buffer } from "node:buffer";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type postgres from "postgres";

/** The repository root (this file is tests/support/flusso_process.ts). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The compiled binary `make build` produces. */
export const BINARY: string = join(REPO_ROOT, "dist", "flusso");

/** A bounded wait ran out; the message says what was awaited and what the process printed. */
export class FlussoWaitTimeout extends Error {
  constructor(what: string, ms: number, detail: string) {
    super(`timed out after ${ms} ms waiting for ${what}\n${detail}`);
    this.name = "FlussoWaitTimeout";
  }
}

/** The process ended in a way the test did not ask for (wrong code, early exit). */
export class FlussoExitError extends Error {
  constructor(message: string, detail: string) {
    super(`${message}\n${detail}`);
    this.name = "FlussoExitError";
  }
}

/** Builds `dist/flusso` with `make build` when it does not exist yet (or when `force`). */
export function ensureBinary(options: { force?: boolean } = {}): string {
  if (options.force || !existsSync(BINARY)) {
    execFileSync("make", ["--no-print-directory", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
  }
  return BINARY;
}

// ---- config ------------------------------------------------------------------------------

/** Options of `writeSyncConfig`. */
export interface SyncConfigOptions {
  /**
   * A folder holding a flusso.toml and the schema files it names (relative to it), e.g.
   * `examples/shop`; relative paths are taken from the repository root.
   */
  readonly example: string;
  /** Replication slot and publication, unique per test (`db.slot`, `db.publication`). */
  readonly slot: string;
  readonly publication: string;
  /** Written as every opensearch sink's `url` (the `<SINK>_OPENSEARCH_URL` env wins over it). */
  readonly opensearchUrl?: string;
  /** Prefix of every index/alias name; default keeps the file's. */
  readonly prefix?: string;
  /**
   * `server.public_address` (default `127.0.0.1:0`: the OS picks, `startSync` learns the port
   * from the log) and `server.private_address` (default `127.0.0.1:<a free port>`).
   */
  readonly publicAddress?: string;
  readonly privateAddress?: string;
  /** Extra TOML appended at the end of the file (e.g. a `[pipeline]` table the file lacks). */
  readonly appendToml?: string;
}

/** A temp copy of a config folder, rewritten for one test. */
export interface SyncConfig {
  /** The folder holding the copy. */
  readonly dir: string;
  /** Its flusso.toml. */
  readonly path: string;
  /** Deletes the folder; call in `after`. */
  remove(): void;
}

/**
 * Copies `example` into a fresh temp folder and rewrites its flusso.toml for one test: slot,
 * publication, server addresses, sink URLs and prefix. Only top-level `key = value` lines of
 * the tables that hold them are rewritten, so the rest of the file (and the schema files)
 * stay exactly as the example has them.
 */
export async function writeSyncConfig(options: SyncConfigOptions): Promise<SyncConfig> {
  const source = resolve(REPO_ROOT, options.example);
  // The config rejects two equal address strings, so both cannot be `127.0.0.1:0`: the public
  // one asks the OS (no race), the private one gets a port that was free a moment ago.
  const privateAddress = options.privateAddress ?? `127.0.0.1:${await freePort()}`;
  const dir = mkdtempSync(join(tmpdir(), "flusso-e2e-"));
  cpSync(source, dir, { recursive: true });
  const path = join(dir, "flusso.toml");
  const original = readFileSync(path, "utf8");
  const toml = rewriteToml(original, {
    "source.slot": options.slot,
    "source.publication": options.publication,
    "server.public_address": options.publicAddress ?? "127.0.0.1:0",
    "server.private_address": privateAddress,
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.opensearchUrl === undefined ? {} : { "sinks.*.url": options.opensearchUrl }),
  });
  writeFileSync(path, options.appendToml ? `${toml}\n${options.appendToml}\n` : toml);
  return { dir, path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port on 127.0.0.1 that was free when asked (another process may take it later). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Sets string keys in a TOML text. Keys are `table.key` (`sinks.*.url` matches any
 * `[sinks.<name>]`), or a bare key for the root table. A key the file lacks is added at the
 * end of its table (or of the file, creating the table). Values are written as TOML basic
 * strings. Deliberately line-based: the tests' configs are plain `key = value` files.
 */
export function rewriteToml(text: string, values: Readonly<Record<string, string>>): string {
  const lines = text.split("\n");
  const pending = new Map(Object.entries(values));
  const matches = (wanted: string, table: string) =>
    wanted === table || (wanted.endsWith(".*") && table.startsWith(wanted.slice(0, -1)));
  const tableOf = (dotted: string) => dotted.slice(0, Math.max(0, dotted.lastIndexOf(".")));
  const keyOf = (dotted: string) => dotted.slice(dotted.lastIndexOf(".") + 1);
  const out: string[] = [];
  let table = "";
  const done = new Set<string>();
  const closeTable = () => {
    // Keys of the table just left that it did not have: add them before the next table.
    for (const dotted of pending.keys()) {
      if (
        tableOf(dotted) !== "" && matches(tableOf(dotted), table) && !done.has(`${dotted}@${table}`)
      ) {
        insertBeforeTrailingBlank(out, `${keyOf(dotted)} = ${tomlString(pending.get(dotted)!)}`);
        done.add(`${dotted}@${table}`);
      }
    }
  };
  for (const line of lines) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header) {
      closeTable();
      table = header[1];
      out.push(line);
      continue;
    }
    const assignment = /^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$/.exec(line);
    if (assignment) {
      const [, indent, key, eq] = assignment;
      const dotted = [...pending.keys()].find((d) =>
        keyOf(d) === key && (tableOf(d) === "" ? table === "" : matches(tableOf(d), table))
      );
      if (dotted) {
        out.push(`${indent}${key}${eq}${tomlString(pending.get(dotted)!)}`);
        done.add(`${dotted}@${table}`);
        continue;
      }
    }
    out.push(line);
  }
  closeTable();
  // Root keys the file lacked go first (before any table); tables it lacked go last.
  const head: string[] = [];
  for (const [dotted, value] of pending) {
    const t = tableOf(dotted);
    if (t === "" && !done.has(`${dotted}@`)) head.push(`${dotted} = ${tomlString(value)}`);
    else if (t !== "" && !t.endsWith(".*") && ![...done].some((d) => d.startsWith(`${dotted}@`))) {
      out.push("", `[${t}]`, `${keyOf(dotted)} = ${tomlString(value)}`);
    }
  }
  return [...head, ...out].join("\n");
}

function insertBeforeTrailingBlank(out: string[], line: string): void {
  let at = out.length;
  while (at > 0 && out[at - 1].trim() === "") at--;
  out.splice(at, 0, line);
}

function tomlString(value: string): string {
  return JSON.stringify(value);
}

// ---- the process -------------------------------------------------------------------------

/** Options of `startSync`. */
export interface StartSyncOptions {
  readonly config: SyncConfig | string;
  /** Becomes DATABASE_URL. */
  readonly databaseUrl: string;
  /** Becomes FLUSSO_TOKEN (the private surface needs one); default a fixed test token. */
  readonly token?: string;
  /**
   * Extra environment (e.g. SEARCH_OPENSEARCH_URL, FLUSSO_MAX_DELAY, FLUSSO_LOG_LEVEL). The
   * child does not inherit the test's environment: it gets PATH, HOME, DATABASE_URL and
   * FLUSSO_TOKEN plus these, so a developer's shell (a stray FLUSSO_SLOT) cannot steer it.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra arguments after `sync --config <path>` (e.g. `--skip-backfill`). */
  readonly args?: readonly string[];
  /** How many characters of output to keep for error messages; default 20000. */
  readonly keepOutputChars?: number;
}

/** The `/status` document, as far as these helpers read it. */
export interface FlussoStatus {
  readonly phase: string;
  readonly ready: boolean;
  readonly confirmedLsn: string | null;
  readonly indexes: readonly {
    readonly name: string;
    readonly state: string;
    readonly seeded: boolean;
    readonly documents: number;
    readonly backfill: { readonly rowsDone: number; readonly resumed: boolean } | null;
  }[];
  readonly counters: Readonly<Record<string, number>>;
  readonly lastError: { readonly kind: string; readonly message: string } | null;
  readonly [key: string]: unknown;
}

/** A running `flusso sync`. */
export interface FlussoProcess {
  /**
   * The child process. Signal it through `stop`/`kill9` (or `process.kill(pid, …)`), not
   * `child.kill`: under Deno, a child signalled by `child.kill` is reported as killed by that
   * signal even when it caught it and exited 0.
   */
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything printed so far (stdout and stderr interleaved, trimmed to the kept size). */
  output(): string;
  /** The JSON log lines printed so far that parse (non-JSON lines are skipped). */
  logLines(): Record<string, unknown>[];
  /** The public surface's base URL, once the process has logged it. */
  publicUrl(): Promise<string>;
  /** GET /status (throws with the output tail on failure). */
  status(): Promise<FlussoStatus>;
  /** Waits until /readyz answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Waits until /status says phase "live" (every index seeded, streaming). */
  waitLive(timeoutMs?: number): Promise<FlussoStatus>;
  /** Polls /status until `predicate` holds; returns that status. `what` names it in errors. */
  waitForStatus(
    predicate: (status: FlussoStatus) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<FlussoStatus>;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited(): Promise<number | string>;
  /** SIGTERM, then waits for the exit and asserts code 0 (kills -9 after the timeout). */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL (a crash), then waits for the process to be gone. */
  kill9(): Promise<void>;
}

const DEFAULT_TOKEN = "e2e-test-token-0123456789";

/**
 * Spawns `dist/flusso --log-format json sync --config <path>` (building the binary first if it
 * is missing). The caller must `stop()` or `kill9()` it; a test-process exit kills it too.
 */
export function startSync(options: StartSyncOptions): FlussoProcess {
  const binary = ensureBinary();
  const configPath = typeof options.config === "string" ? options.config : options.config.path;
  const keep = options.keepOutputChars ?? 20_000;
  const child = spawn(
    binary,
    ["--log-format", "json", "sync", "--config", configPath, ...(options.args ?? [])],
    {
      cwd: dirname(configPath),
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? tmpdir(),
        DATABASE_URL: options.databaseUrl,
        FLUSSO_TOKEN: options.token ?? DEFAULT_TOKEN,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid === undefined) {
    // The runtime reports the errno only in a later "error" event; say what can be checked now
    // (seen once, under a parallel full run, and not reproduced alone).
    const cwd = dirname(configPath);
    throw new FlussoExitError(
      `could not spawn ${binary} (binary ${existsSync(binary) ? "present" : "missing"}, ` +
        `working directory ${cwd} ${existsSync(cwd) ? "present" : "missing"})`,
      "",
    );
  }
  const pid = child.pid;
  let text = "";
  let partial = "";
  const lines: Record<string, unknown>[] = [];
  let urlWaiters: ((url: string) => void)[] = [];
  let publicUrl: string | undefined;
  const onData = (chunk: Buffer | string) => {
    const s = chunk.toString();
    text = (text + s).slice(-keep);
    partial += s;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      if (parsed === null || typeof parsed !== "object") continue;
      lines.push(parsed);
      if (
        publicUrl === undefined && parsed.msg === "public HTTP surface listening" &&
        typeof parsed.url === "string"
      ) {
        publicUrl = parsed.url;
        for (const w of urlWaiters) w(publicUrl);
        urlWaiters = [];
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);

  let exitValue: number | string | undefined;
  const exitPromise = new Promise<number | string>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exitValue = code ?? signal ?? "unknown";
      resolveExit(exitValue);
    });
  });
  // A test that fails before stopping its process must not leave it running.
  const killOnExit = () => {
    if (exitValue === undefined) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  void exitPromise.then(() => process.removeListener("exit", killOnExit));

  const tail = () =>
    `--- flusso (pid ${pid}${
      exitValue === undefined ? ", running" : `, exited ${exitValue}`
    }) output tail ---\n${text.slice(-4000)}`;

  const getPublicUrl = (timeoutMs = 15_000): Promise<string> => {
    if (publicUrl !== undefined) return Promise.resolve(publicUrl);
    return bounded(
      new Promise<string>((r) => urlWaiters.push(r)),
      timeoutMs,
      "the public HTTP surface to be logged",
      tail,
      exitPromise,
    );
  };

  const fetchStatus = async (): Promise<FlussoStatus> => {
    const base = await getPublicUrl();
    const response = await fetch(`${base}/status`);
    const body = await response.text();
    if (!response.ok) {
      throw new FlussoExitError(`GET /status answered ${response.status}: ${body}`, tail());
    }
    return JSON.parse(body) as FlussoStatus;
  };

  const poll = async <T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (true) {
      if (exitValue !== undefined) {
        throw new FlussoExitError(`flusso exited (${exitValue}) while waiting for ${what}`, tail());
      }
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new FlussoWaitTimeout(
          what,
          timeoutMs,
          `${last ? `last error: ${last}\n` : ""}${tail()}`,
        );
      }
      await sleep(50);
    }
  };

  return {
    child,
    pid,
    output: () => text,
    logLines: () => [...lines],
    publicUrl: () => getPublicUrl(),
    status: fetchStatus,
    async waitReady(timeoutMs = 30_000) {
      const base = await getPublicUrl(timeoutMs);
      await poll("/readyz to answer 200", timeoutMs, async () => {
        const response = await fetch(`${base}/readyz`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      });
    },
    async waitLive(timeoutMs = 30_000) {
      await getPublicUrl(timeoutMs);
      let seen = "";
      try {
        return await poll(`phase "live"`, timeoutMs, async () => {
          const status = await fetchStatus();
          seen = status.phase;
          return status.phase === "live" ? status : undefined;
        });
      } catch (error) {
        if (error instanceof FlussoWaitTimeout) {
          throw new FlussoWaitTimeout(`phase "live" (last phase "${seen}")`, timeoutMs, tail());
        }
        throw error;
      }
    },
    waitForStatus(predicate, what, timeoutMs = 30_000) {
      return poll(what, timeoutMs, async () => {
        const status = await fetchStatus();
        return predicate(status) ? status : undefined;
      });
    },
    exited: () => exitPromise,
    async stop(timeoutMs = 20_000) {
      // process.kill, not child.kill: Deno's node:child_process reports a child it signalled
      // through child.kill() as killed by that signal even when the child exited 0 itself.
      if (exitValue === undefined) process.kill(pid, "SIGTERM");
      let code: number | string;
      try {
        code = await bounded(exitPromise, timeoutMs, "exit after SIGTERM", tail);
      } catch (error) {
        process.kill(pid, "SIGKILL");
        await exitPromise;
        throw error;
      }
      if (code !== 0) {
        throw new FlussoExitError(`flusso exited ${code} after SIGTERM, expected 0`, tail());
      }
    },
    async kill9() {
      if (exitValue === undefined) process.kill(pid, "SIGKILL");
      await bounded(exitPromise, 10_000, "exit after SIGKILL", tail);
    },
  };
}

/** Races `promise` against a timeout (and, optionally, against the process ending first). */
function bounded<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  tail: () => string,
  exit?: Promise<number | string>,
): Promise<T> {
  return new Promise<T>((resolveWait, reject) => {
    const timer = setTimeout(
      () => reject(new FlussoWaitTimeout(what, timeoutMs, tail())),
      timeoutMs,
    );
    promise.then((v) => {
      clearTimeout(timer);
      resolveWait(v);
    }, (e) => {
      clearTimeout(timer);
      reject(e);
    });
    exit?.then((code) => {
      clearTimeout(timer);
      reject(new FlussoExitError(`flusso exited (${code}) while waiting for ${what}`, tail()));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- Postgres ----------------------------------------------------------------------------

/** `X/Y` (as Postgres prints an LSN) → a comparable bigint. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn);
  if (!m) throw new RangeError(`not an LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/**
 * The current end of WAL as an upper bound of every commit so far: `pg_current_wal_insert_lsn()`.
 * Not `pg_current_wal_lsn()`: that is the *write* position, which lags behind a commit that
 * just returned when `synchronous_commit = off` (as in the test cluster), so a slot could
 * look "confirmed past the last commit" before that commit was even decoded.
 */
export async function currentWalLsn(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
  return row.lsn;
}

/**
 * Polls `pg_replication_slots.confirmed_flush_lsn` of `slot` until it is ≥ `lsn`; returns the
 * confirmed LSN. Throws FlussoWaitTimeout (with the last value seen) after `timeoutMs`.
 */
export async function waitForConfirmedLsn(
  sql: postgres.Sql,
  slot: string,
  lsn: string,
  timeoutMs = 20_000,
): Promise<string> {
  const target = parseLsn(lsn);
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  while (true) {
    const rows = await sql<{ lsn: string | null }[]>`
      SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = ${slot}`;
    last = rows[0]?.lsn ?? null;
    if (last !== null && parseLsn(last) >= target) return last;
    if (Date.now() > deadline) {
      throw new FlussoWaitTimeout(
        `slot "${slot}" confirmed_flush_lsn ≥ ${lsn}`,
        timeoutMs,
        rows.length === 0 ? "the slot does not exist" : `last confirmed_flush_lsn: ${last}`,
      );
    }
    await sleep(50);
  }
}

// ---- OpenSearch --------------------------------------------------------------------------

/** Options of `readIndex`. */
export interface ReadIndexOptions {
  /** A unique, sortable field (keyword/numeric, or `_id`); default `_id`. */
  readonly sortField?: string;
  /** Documents per page; default 500. */
  readonly pageSize?: number;
  /** Refresh the alias first, so every acknowledged write is visible; default true. */
  readonly refresh?: boolean;
}

/**
 * Every document of `alias` as `_id → _source`, paging `_search` with `search_after` on
 * `sortField`, and cross-checked against `_count` (a mismatch throws: the page walk lost or
 * repeated documents).
 */
export async function readIndex(
  url: string,
  alias: string,
  options: ReadIndexOptions = {},
): Promise<Map<string, Record<string, unknown>>> {
  const base = url.replace(/\/+$/, "");
  const name = encodeURIComponent(alias);
  const sortField = options.sortField ?? "_id";
  const size = options.pageSize ?? 500;
  if (options.refresh ?? true) await requestJson("POST", `${base}/${name}/_refresh`);
  const out = new Map<string, Record<string, unknown>>();
  let after: unknown[] | undefined;
  while (true) {
    const body: Record<string, unknown> = {
      size,
      query: { match_all: {} },
      sort: [{ [sortField]: { order: "asc" } }],
      ...(after ? { search_after: after } : {}),
    };
    const page = await requestJson("POST", `${base}/${name}/_search`, body) as {
      hits: { hits: { _id: string; _source: Record<string, unknown>; sort: unknown[] }[] };
    };
    const hits = page.hits.hits;
    for (const hit of hits) {
      if (out.has(hit._id)) throw new Error(`readIndex(${alias}): _id ${hit._id} seen twice`);
      out.set(hit._id, hit._source);
    }
    if (hits.length < size) break;
    after = hits[hits.length - 1].sort;
  }
  const { count } = await requestJson("POST", `${base}/${name}/_count`, {
    query: { match_all: {} },
  }) as { count: number };
  if (count !== out.size) {
    throw new Error(
      `readIndex(${alias}): _count says ${count} documents, the search walk found ${out.size}`,
    );
  }
  return out;
}

async function requestJson(method: string, url: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

// ---- comparing ---------------------------------------------------------------------------

/** How an index differs from what was expected. */
export interface IndexDiff {
  readonly missing: string[];
  readonly extra: string[];
  readonly different: { id: string; fields: string[] }[];
}

/**
 * Compares actual `_id → _source` with expected documents (ids whose document is null are
 * expected to be absent). Field paths of differences are dotted (`orders.0.items.1.price`).
 */
export function diffIndex(
  actual: ReadonlyMap<string, unknown>,
  expected: ReadonlyMap<string, unknown>,
): IndexDiff {
  const missing: string[] = [];
  const extra: string[] = [];
  const different: { id: string; fields: string[] }[] = [];
  for (const [id, doc] of expected) {
    if (doc === null || doc === undefined) {
      if (actual.has(id)) extra.push(id);
      continue;
    }
    if (!actual.has(id)) {
      missing.push(id);
      continue;
    }
    const fields = diffPaths(doc, actual.get(id), "");
    if (fields.length) different.push({ id, fields });
  }
  for (const id of actual.keys()) {
    if (!expected.has(id)) extra.push(id);
  }
  return { missing, extra, different };
}

/** True when the diff found nothing. */
export function isEmptyDiff(diff: IndexDiff): boolean {
  return diff.missing.length + diff.extra.length + diff.different.length === 0;
}

/**
 * A readable account of a diff: counts, then the first `limit` ids of each kind, and for
 * different documents the first paths with their expected and actual values.
 */
export function formatDiff(
  label: string,
  diff: IndexDiff,
  actual: ReadonlyMap<string, unknown>,
  expected: ReadonlyMap<string, unknown>,
  limit = 5,
): string {
  const lines = [
    `${label}: ${diff.missing.length} missing, ${diff.extra.length} extra, ${diff.different.length} different`,
  ];
  if (diff.missing.length) lines.push(`  missing ids: ${diff.missing.slice(0, limit).join(", ")}`);
  if (diff.extra.length) lines.push(`  extra ids: ${diff.extra.slice(0, limit).join(", ")}`);
  for (const { id, fields } of diff.different.slice(0, limit)) {
    lines.push(`  id ${id}:`);
    for (const path of fields.slice(0, limit)) {
      lines.push(
        `    ${path}: expected ${short(valueAt(expected.get(id), path))}, actual ${
          short(valueAt(actual.get(id), path))
        }`,
      );
    }
  }
  return lines.join("\n");
}

function diffPaths(a: unknown, b: unknown, path: string): string[] {
  if (Object.is(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path || "."} (length ${a.length} vs ${b.length})`];
    return a.flatMap((x, i) => diffPaths(x, b[i], join2(path, String(i))));
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      k in a && k in b ? diffPaths(a[k], b[k], join2(path, k)) : [join2(path, k)]
    );
  }
  return [path || "."];
}

function valueAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const part of path.replace(/ \(length.*\)$/, "").split(".").filter((p) => p !== "")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function join2(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function short(v: unknown): string {
  const s = v === undefined ? "(absent)" : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
