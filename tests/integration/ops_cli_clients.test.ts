import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type HttpSurface, startHttpSurface } from "../../src/ops/http_server.ts";
import { privateRoutes, publicRoutes } from "../../src/ops/routes.ts";
import { createTelemetry } from "../../src/ops/telemetry.ts";
import { silentLogger } from "../../src/ops/logger.ts";
import { Secret } from "../../src/config/secret.ts";
import type { ServerConfig } from "../../src/config/model.ts";
import {
  OpsClientError,
  requestInstance,
  resolveTarget,
  urlForAddress,
} from "../../src/ops/ops_client.ts";
import { targetFor } from "../../src/cli/instance.ts";
import { statusCommand } from "../../src/cli/status_command.ts";
import { indexesCommand } from "../../src/cli/indexes_command.ts";
import { reindexCommand } from "../../src/cli/reindex_command.ts";

const TOKEN = "client-test-token-1";

/** Runs a command with its stdout/stderr captured and the exit code restored afterwards. */
async function runCommand(
  command: { parseAsync(argv: readonly string[], options: { from: "user" }): Promise<unknown> },
  args: string[],
) {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write =
    ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write =
    ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  const before = process.exitCode;
  // Bun does not reset exitCode on `= undefined`, so success is read as 0.
  process.exitCode = 0;
  let exitCode: number | undefined;
  try {
    await command.parseAsync(args, { from: "user" });
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    exitCode = Number(process.exitCode ?? 0);
    process.exitCode = before ?? 0;
  }
  return { out: out.join(""), err: err.join(""), exitCode };
}

describe("ops cli clients", () => {
  let pub: HttpSurface;
  let priv: HttpSurface;
  const reindexed: string[] = [];
  before(async () => {
    const telemetry = createTelemetry({ logger: silentLogger, version: "9.9.9" });
    telemetry.observer.emit({
      type: "indexes_ensured",
      indexes: [{ index: "users", generation: 1, seeded: true }],
    });
    telemetry.observer.emit({ type: "phase", phase: "streaming" });
    pub = await startHttpSurface({
      name: "public",
      address: "127.0.0.1:0",
      logger: silentLogger,
      routes: publicRoutes(telemetry.publicProviders()),
    });
    priv = await startHttpSurface({
      name: "private",
      address: "127.0.0.1:0",
      logger: silentLogger,
      auth: { token: new Secret(TOKEN) },
      routes: privateRoutes({
        indexes: () => [{ name: "users", generation: 1, seeded: true }],
        reindex: (index) => void reindexed.push(index),
        dlq: () => [],
      }),
    });
  });
  after(async () => {
    await Promise.all([pub?.close(), priv?.close()]);
  });

  it("status_prints_a_summary_of_the_running_instance", async () => {
    const r = await runCommand(statusCommand(), ["--url", pub.url]);
    assert.equal(r.exitCode, 0);
    assert.match(r.out, /^flusso 9\.9\.9: live \(ready\)/);
    assert.match(r.out, /users {2}live, generation 1/);
  });

  it("status_json_prints_the_document", async () => {
    const r = await runCommand(statusCommand(), ["--url", pub.url, "--json"]);
    assert.equal(JSON.parse(r.out).phase, "live");
  });

  it("status_fails_with_exit_1_and_a_hint_when_nothing_listens", async () => {
    const r = await runCommand(statusCommand(), ["--url", "http://127.0.0.1:1"]);
    assert.equal(r.exitCode, 1);
    assert.match(r.err, /no flusso instance answered at http:\/\/127\.0\.0\.1:1/);
  });

  it("indexes_and_reindex_use_the_token_and_fail_clearly_without_it", async () => {
    const ok = await runCommand(indexesCommand(), ["--url", priv.url, "--token", TOKEN]);
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.out, "name   generation  seeded\nusers  1           true\n");
    const refused = await runCommand(indexesCommand(), [
      "--url",
      priv.url,
      "--token",
      "wrong-token-9",
    ]);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.err, /refused the token/);
    assert.ok(!refused.err.includes("wrong-token-9"));
    const r = await runCommand(reindexCommand(), ["users", "--url", priv.url, "--token", TOKEN]);
    assert.equal(r.exitCode, 0);
    assert.match(r.out, /reindex of users started/);
    assert.deepEqual(reindexed, ["users"]);
  });

  it("reads_addresses_and_token_from_the_server_config", async () => {
    const server: ServerConfig = {
      publicAddress: `0.0.0.0:${pub.address.port}`,
      privateAddress: `127.0.0.1:${priv.address.port}`,
      token: new Secret(TOKEN),
    };
    const load = () => Promise.resolve({ server });
    const publicTarget = await targetFor("public", { config: "x.toml" }, load);
    assert.equal(publicTarget.url, `http://127.0.0.1:${pub.address.port}`);
    const privateTarget = await targetFor("private", { config: "x.toml" }, load);
    assert.equal(privateTarget.url, priv.url);
    assert.deepEqual(await requestInstance(privateTarget, "GET", "/indexes"), [
      { name: "users", generation: 1, seeded: true },
    ]);
  });

  it("answers_without_a_token_name_the_ways_to_pass_one", async () => {
    await assert.rejects(
      requestInstance(resolveTarget({ surface: "private", url: priv.url }), "GET", "/indexes"),
      (e: unknown) =>
        e instanceof OpsClientError && e.status === 401 && /FLUSSO_TOKEN/.test(e.message),
    );
  });

  it("maps_wildcard_binds_to_loopback", () => {
    assert.equal(urlForAddress("0.0.0.0:9464"), "http://127.0.0.1:9464");
    assert.equal(urlForAddress("[::]:9464"), "http://[::1]:9464");
    assert.equal(urlForAddress("10.0.0.5:9464"), "http://10.0.0.5:9464");
  });
});
