/**
 * The OpenSearch flusso writes to during a benchmark: a real cluster when
 * `FLUSSO_BENCH_OPENSEARCH_URL` is set; else the project's emulator in a child process
 * (tests/support/opensearch/main.ts, as `make emulator` runs it), so its CPU time is its own
 * and it does not share an event loop with the harness's clocks; else the emulator started in
 * this process (tests/support/opensearch/emulator.ts `startEmulator()`). Also the few read-side checks the scenarios need
 * (is the alias there, how many documents are behind it).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { freePort } from "../../tests/support/postgres_cluster.ts";
import { ownCpuMs, spawnMeasured } from "./process_stats.ts";

/** A running sink. */
export interface BenchSink {
  /** Base URL, e.g. `http://127.0.0.1:9200`. */
  readonly url: string;
  /** "emulator" or "opensearch" (a real cluster). */
  readonly kind: "emulator" | "opensearch";
  /**
   * CPU milliseconds spent by the emulator since it started, or undefined for a real cluster.
   * For an in-process emulator this is the bench process's CPU time, whose other work during
   * a measurement is a poll every few milliseconds (so an upper bound).
   */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

/** Raised when no sink can be started; says how to get one. */
export class BenchSinkError extends Error {
  constructor(detail: string) {
    super(
      `no OpenSearch for the benchmark: ${detail}. Set FLUSSO_BENCH_OPENSEARCH_URL to a cluster, ` +
        `or provide startEmulator() in tests/support/opensearch/emulator.ts`,
    );
    this.name = "BenchSinkError";
  }
}

// A computed specifier: the emulator is another engineer's module and type-checking the bench
// must not depend on its exact export shape; the adapter below narrows it at runtime.
const emulatorModule = new URL("../../tests/support/opensearch/emulator.ts", import.meta.url).href;
const emulatorMain = fileURLToPath(
  new URL("../../tests/support/opensearch/main.ts", import.meta.url),
);

/** Starts the sink for one scenario. */
export async function startBenchSink(): Promise<BenchSink> {
  const external = process.env.FLUSSO_BENCH_OPENSEARCH_URL;
  if (external) {
    return {
      url: external.replace(/\/$/, ""),
      kind: "opensearch",
      cpuMs: () => undefined,
      stop: () => Promise.resolve(),
    };
  }
  if (existsSync(emulatorMain) && process.env.FLUSSO_BENCH_EMULATOR !== "in-process") {
    return await startEmulatorChild();
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(emulatorModule);
  } catch (error) {
    throw new BenchSinkError(`the emulator module did not load (${String(error)})`);
  }
  const start = mod.startEmulator;
  if (typeof start !== "function") throw new BenchSinkError("emulator.ts has no startEmulator()");
  const handle = await start({ port: 0, logRequests: false }) as Record<string, unknown>;
  const url = emulatorUrl(handle);
  const stop = (handle.close ?? handle.stop) as (() => Promise<void> | void) | undefined;
  const cpuAtStart = ownCpuMs();
  return {
    url,
    kind: "emulator",
    cpuMs: () => ownCpuMs() - cpuAtStart,
    stop: async () => {
      if (typeof stop === "function") await stop.call(handle);
    },
  };
}

/**
 * The emulator's heap, set at start the way OpenSearch's own is (`-Xms` equal to `-Xmx` in its
 * `jvm.options`): V8 starts with room for 2 GiB of old objects instead of growing its limit
 * step by step. A backfill keeps every document, so a growing limit means repeated full
 * collections over a heap that only grows — about a tenth of the emulator's CPU in the items
 * backfill (bench/README.md, twelfth pass), on the cores flusso and Postgres share with it.
 */
export const EMULATOR_HEAP_FLAGS: readonly string[] = ["--v8-flags=--initial-old-space-size=2048"];

/**
 * Runtime flags for the emulator child: the heap above, then `FLUSSO_BENCH_EMULATOR_FLAGS` (as
 * figure 7 takes them), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it inside a
 * scenario. Deno joins several `--v8-flags`, so those can be added too.
 */
export function emulatorFlags(): string[] {
  const extra = (process.env.FLUSSO_BENCH_EMULATOR_FLAGS ?? "").split(/\s+/).filter((f) => f);
  return [...EMULATOR_HEAP_FLAGS, ...extra];
}

/**
 * Runs the emulator as `deno run -A tests/support/opensearch/main.ts --port P --no-log` (its
 * request log keeps every body: over a million-document backfill that would be measured too).
 */
async function startEmulatorChild(): Promise<BenchSink> {
  const port = await freePort();
  const child = spawnMeasured(
    process.execPath,
    ["run", "-A", ...emulatorFlags(), emulatorMain, "--port", String(port), "--no-log"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.child.stderr?.setEncoding("utf8").on(
    "data",
    (d: string) => stderr = (stderr + d).slice(-4000),
  );
  let exited = false;
  void child.exited.then(() => exited = true);
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 30_000;
  while (true) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (exited || performance.now() > deadline) {
      child.child.kill("SIGKILL");
      throw new BenchSinkError(`the emulator child did not start: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    kind: "emulator",
    cpuMs: () => child.stats().cpuMs,
    stop: async () => {
      if (exited) return;
      child.child.kill("SIGTERM");
      const timer = setTimeout(() => child.child.kill("SIGKILL"), 5000);
      await child.exited;
      clearTimeout(timer);
    },
  };
}

function emulatorUrl(handle: Record<string, unknown>): string {
  if (typeof handle.url === "string") return handle.url.replace(/\/$/, "");
  if (typeof handle.port === "number") return `http://127.0.0.1:${handle.port}`;
  throw new BenchSinkError("startEmulator() returned neither url nor port");
}

/** True when `name` is an alias (flusso points an index's alias only once it is seeded). */
export async function aliasExists(sinkUrl: string, name: string): Promise<boolean> {
  const response = await fetch(`${sinkUrl}/_alias/${encodeURIComponent(name)}`);
  await response.body?.cancel();
  return response.status === 200;
}

/** Refreshes `name` and counts its documents. */
export async function countDocuments(sinkUrl: string, name: string): Promise<number> {
  const refresh = await fetch(`${sinkUrl}/${encodeURIComponent(name)}/_refresh`, {
    method: "POST",
  });
  await refresh.body?.cancel();
  const response = await fetch(`${sinkUrl}/${encodeURIComponent(name)}/_count`);
  if (!response.ok) {
    await response.body?.cancel();
    return Number.NaN;
  }
  const body = await response.json() as { count?: number };
  return typeof body.count === "number" ? body.count : Number.NaN;
}

/**
 * Deletes the indexes matching `pattern` (e.g. a finished run's `prefix*`), if any. They are
 * deleted by name: a cluster with `action.destructive_requires_name` refuses a wildcard.
 */
export async function deleteIndexes(sinkUrl: string, pattern: string): Promise<void> {
  const listed = await fetch(`${sinkUrl}/${encodeURIComponent(pattern)}`);
  if (!listed.ok) {
    await listed.body?.cancel();
    if (listed.status === 404) return;
    throw new BenchSinkRequestError(`GET /${pattern}`, listed.status);
  }
  const names = Object.keys(await listed.json() as Record<string, unknown>);
  if (names.length === 0) return;
  const path = names.map(encodeURIComponent).join(",");
  const response = await fetch(`${sinkUrl}/${path}`, { method: "DELETE" });
  await response.body?.cancel();
  if (!response.ok && response.status !== 404) {
    throw new BenchSinkRequestError(`DELETE /${names.join(",")}`, response.status);
  }
}

/** A request the bench makes of the sink outside flusso's run failed. */
export class BenchSinkRequestError extends Error {
  constructor(readonly request: string, readonly status: number) {
    super(
      `${request} answered HTTP ${status}; is the sink at FLUSSO_BENCH_OPENSEARCH_URL healthy?`,
    );
    this.name = "BenchSinkRequestError";
  }
}
