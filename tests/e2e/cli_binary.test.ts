import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { VERSION } from "../../src/version.ts";

const BINARY = "dist/flusso";

describe("compiled binary", () => {
  before(() => {
    if (!existsSync(BINARY)) {
      execFileSync("make", ["--no-print-directory", "build"], { stdio: "inherit" });
    }
  });

  it("prints_the_version_from_src_version", () => {
    const out = execFileSync(BINARY, ["--version"], { encoding: "utf8" });
    assert.equal(out.trim(), VERSION);
  });

  it("lists_global_options_with_their_env_twins_in_help", () => {
    const out = execFileSync(BINARY, ["--help"], { encoding: "utf8" });
    assert.match(out, /--log-format/);
    assert.match(out, /FLUSSO_LOG_FORMAT/);
    assert.match(out, /--log-level/);
    assert.match(out, /FLUSSO_LOG_LEVEL/);
  });

  it("exits_2_on_a_usage_error", () => {
    const result = spawnSync(BINARY, ["--no-such-flag"], { encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown option/);
  });
});
