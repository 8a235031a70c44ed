import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installService, ServiceInstallError } from "../../src/cli/service.ts";
import { DEFAULT_UNIT_OPTIONS, renderUnit } from "../../src/ops/systemd_unit.ts";

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("ops service install", () => {
  let dir: string;
  let binary: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "flusso-service-"));
    binary = join(dir, "flusso");
    writeFileSync(binary, "#!/bin/sh\nexit 0\n");
    chmodSync(binary, 0o755);
    writeFileSync(join(dir, "flusso.toml"), "");
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("deploy_unit_is_exactly_the_rendered_default", () => {
    const file = readFileSync(new URL("../../deploy/flusso.service", import.meta.url), "utf8");
    assert.equal(file, renderUnit(DEFAULT_UNIT_OPTIONS));
  });

  it("writes_the_unit_for_the_binary_and_an_absolute_config_path", () => {
    const printed: string[] = [];
    installService({
      config: "flusso.toml",
      user: "flusso",
      output: "out.service",
      dryRun: false,
      execPath: binary,
      cwd: dir,
      print: (t) => printed.push(t),
    });
    const unit = readFileSync(join(dir, "out.service"), "utf8");
    assert.match(unit, new RegExp(`^ExecStart=${binary} sync --config ${dir}/flusso.toml$`, "m"));
    assert.match(
      printed.join(""),
      /systemctl daemon-reload && systemctl enable --now out\.service/,
    );
  });

  it("dry_run_prints_and_writes_nothing", () => {
    const printed: string[] = [];
    installService({
      config: "flusso.toml",
      user: "flusso",
      output: "never.service",
      dryRun: true,
      execPath: binary,
      cwd: dir,
      print: (t) => printed.push(t),
    });
    assert.match(printed.join(""), /^Type=notify$/m);
    assert.throws(() => readFileSync(join(dir, "never.service")));
  });

  it("reports_an_unwritable_output_as_a_non_usage_error", () => {
    assert.throws(
      () =>
        installService({
          config: "flusso.toml",
          user: "flusso",
          output: join(dir, "missing-dir", "x.service"),
          dryRun: false,
          execPath: binary,
          cwd: dir,
          print: () => {},
        }),
      (e: unknown) => e instanceof ServiceInstallError && !e.usage,
    );
  });

  it("renders_a_unit_systemd_analyze_accepts", {
    skip: hasSystemdAnalyze() ? false : "systemd-analyze is not installed",
  }, () => {
    const unit = installService({
      config: "flusso.toml",
      user: "root",
      output: "flusso.service",
      dryRun: false,
      execPath: binary,
      cwd: dir,
      print: () => {},
    });
    assert.match(unit, /Type=notify/);
    const result = spawnSync("systemd-analyze", ["verify", join(dir, "flusso.service")], {
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
  });
});
