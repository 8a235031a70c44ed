/**
 * `make demo` in its non-interactive mode (DEMO_CHECK=1), as CI runs it: it must start its own
 * Postgres and emulator, get flusso live, find a document by search, see a change arrive, say
 * so, exit 0 — and leave no flusso, emulator or Postgres process behind.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { REPO_ROOT } from "../support/flusso_process.ts";

/** Generous: a cold `make demo` may build the binary first. */
const DEMO_TIMEOUT_MS = 240_000;

interface DemoRun {
  readonly code: number | null;
  readonly output: string;
}

function runDemo(env: Record<string, string | undefined>): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("make", ["--no-print-directory", "demo"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so a timeout can stop the demo and everything it started.
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += String(chunk)));
    child.stderr.on("data", (chunk) => (output += String(chunk)));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
    }, DEMO_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

describe("make demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "flusso-demo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs_non_interactively_to_a_searched_change_and_leaves_no_process_behind", async () => {
    const state = join(dir, "demo.json");
    const env: Record<string, string | undefined> = {
      ...process.env,
      DEMO_CHECK: "1",
      DEMO_PG_STATE: state,
      // Keeps the demo's indexes apart when OPENSEARCH_URL points at a shared real cluster.
      FLUSSO_PREFIX: `demo${process.pid}_`,
    };
    // The test run's own cluster must not be touched by the demo.
    delete env.FLUSSO_PG_STATE;
    delete env.FLUSSO_TEST_PG_CLUSTER;
    const run = await runDemo(env);
    assert.equal(run.code, 0, `make demo failed:\n${run.output}`);
    assert.match(run.output, /^demo check passed: /m);

    const pids = run.output.match(/pids: flusso (\d+), emulator (\d+|none), postgres (\d+|none)/);
    assert.ok(pids, `the demo did not report its pids:\n${run.output}`);
    const started = pids.slice(1).filter((p) => p !== "none").map(Number);
    assert.ok(started.length >= 1, "at least flusso was started");
    assert.deepEqual(
      started.filter(isAlive),
      [],
      `processes the demo started are still running:\n${run.output}`,
    );
    assert.equal(existsSync(state), false, "the demo's Postgres state was not removed");
  });
});
