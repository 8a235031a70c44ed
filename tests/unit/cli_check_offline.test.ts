/**
 * `flusso check --offline` validates a config where its production secrets are not set (a CI
 * job checking configs): unset `{ env }` variables are reported, not fatal — and only offline,
 * and only when they are the sole problem.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CheckIo, runCheck } from "../../src/cli/check.ts";
import { ExitCode } from "../../src/cli/exit_codes.ts";

const SHOP = fileURLToPath(new URL("../../examples/shop/flusso.toml", import.meta.url));

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CheckIo = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    tty: false,
    env,
  };
  return { value, out: () => out.join(""), err: () => err.join("") };
}

describe("check --offline", () => {
  it("reports_unset_env_secrets_instead_of_failing_when_offline", async () => {
    const human = io();
    const code = await runCheck({ config: SHOP, offline: true, format: "human" }, human.value);
    assert.equal(code, ExitCode.Ok, human.err());
    assert.match(human.out(), /config is valid \(2 indexes\)/);
    assert.match(human.out(), /DATABASE_URL \(source\.connection_url\) is not set/);
    assert.match(human.out(), /FLUSSO_TOKEN \(server\.token\) is not set/);

    const json = io();
    assert.equal(await runCheck({ config: SHOP, offline: true, format: "json" }, json.value), 0);
    const report = JSON.parse(json.out());
    assert.deepEqual(report.unsetSecrets.map((u: { variable: string }) => u.variable).sort(), [
      "DATABASE_URL",
      "FLUSSO_TOKEN",
    ]);
    assert.ok(!json.out().includes("offline-placeholder"), "placeholders are never shown");
  });

  it("still_refuses_unset_secrets_when_it_connects", async () => {
    const online = io();
    const code = await runCheck({ config: SHOP, offline: false, format: "human" }, online.value);
    assert.equal(code, ExitCode.Usage);
    assert.match(online.err(), /environment variable DATABASE_URL is not set/);
  });

  it("still_fails_offline_when_another_error_comes_with_the_unset_secrets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flusso-check-"));
    try {
      const text = readFileSync(SHOP, "utf8").replace('slot = "flusso_shop"', 'slott = "x"');
      // Schema paths are relative to the config: point them back at the example.
      const shopDir = SHOP.slice(0, -"flusso.toml".length);
      writeFileSync(join(dir, "flusso.toml"), text.replaceAll('"schemas/', `"${shopDir}schemas/`));
      const bad = io();
      const code = await runCheck(
        { config: join(dir, "flusso.toml"), offline: true, format: "human" },
        bad.value,
      );
      assert.equal(code, ExitCode.Usage);
      assert.match(bad.err(), /slott/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
