/**
 * OpenSearch's own REST YAML tests (../shared/opensearch-rest-tests, run by
 * ../shared/tools/os-rest-conformance/run.ts) against a fresh emulator: no in-scope test may
 * fail, and at least 80% of all tests must pass. The tests listed as out of scope in
 * tests/support/opensearch/CONFORMANCE.md are the only ones allowed not to pass.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { type Emulator, startEmulator } from "../support/opensearch/emulator.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const shared = join(repoRoot, "..", "shared");
const runner = join(shared, "tools", "os-rest-conformance", "run.ts");

/** Tests that may skip or fail, with why they are out of scope (mirrors CONFORMANCE.md). */
const OUT_OF_SCOPE: Record<string, string> = {
  "get/50_with_headers.yml :: REST test with headers":
    "YAML response format; flusso only speaks JSON",
  "indices.put_mapping/10_basic.yml :: Put mappings with explicit _doc type bwc":
    "pre-2.0 message (node_selector)",
};

interface Result {
  file: string;
  test: string;
  status: "PASS" | "FAIL" | "SKIP";
  message?: string;
}

function skipReason(): string | false {
  if (!("Deno" in globalThis)) {
    return "the conformance runner is a Deno script; run this file with deno test";
  }
  if (!existsSync(runner)) {
    return `the shared conformance kit is missing (${runner}); it sits beside the clone in CI`;
  }
  return false;
}

function runConformance(url: string, jsonFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        runner,
        "--url",
        url,
        "--json",
        jsonFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}

describe("opensearch conformance", { skip: skipReason() }, () => {
  let emulator: Emulator;
  let dir: string;

  before(async () => {
    emulator = await startEmulator({ logRequests: false });
    dir = mkdtempSync(join(tmpdir(), "flusso-conformance-"));
  });

  after(async () => {
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("passes_every_in_scope_opensearch_rest_test", async () => {
    const jsonFile = join(dir, "results.json");
    const { output } = await runConformance(emulator.url, jsonFile);
    assert.ok(existsSync(jsonFile), `the runner wrote no results:\n${output.slice(-2000)}`);
    const results = (JSON.parse(readFileSync(jsonFile, "utf8")) as { results: Result[] }).results;
    const key = (r: Result) => `${r.file} :: ${r.test}`;
    const failed = results.filter((r) => r.status === "FAIL" && !(key(r) in OUT_OF_SCOPE));
    assert.deepEqual(failed.map((r) => `${key(r)} -- ${r.message}`), []);
    const unexplained = results.filter((r) => r.status === "SKIP" && !(key(r) in OUT_OF_SCOPE));
    assert.deepEqual(unexplained.map(key), [], "every skipped test is listed as out of scope");
    const passed = results.filter((r) => r.status === "PASS").length;
    assert.ok(passed / results.length >= 0.8, `${passed}/${results.length} passed, below 80%`);
  });
});
