import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_UNIT_OPTIONS, renderUnit, UnitOptionError } from "../../src/ops/systemd_unit.ts";
import { resolveBinary, ServiceInstallError } from "../../src/cli/service.ts";

function directives(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

describe("ops systemd unit", () => {
  it("is_a_hardened_notify_service_with_watchdog_and_restart", () => {
    const d = directives(renderUnit(DEFAULT_UNIT_OPTIONS));
    const one = (k: string) => d.get(k)?.[0];
    assert.equal(one("Type"), "notify");
    assert.equal(one("NotifyAccess"), "all");
    assert.match(one("WatchdogSec") ?? "", /^\d+s$/);
    assert.equal(one("Restart"), "on-failure");
    assert.equal(one("User"), "flusso");
    assert.equal(one("ExecStart"), "/usr/local/bin/flusso sync --config /etc/flusso/flusso.toml");
    for (const k of ["NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome"]) {
      assert.equal(one(k), "yes", k);
    }
    assert.equal(one("ProtectSystem"), "strict");
    assert.equal(one("RestartPreventExitStatus"), "2");
    assert.equal(d.get("MemoryDenyWriteExecute"), undefined);
  });

  it("quotes_paths_with_spaces_and_escapes_specifiers", () => {
    const unit = renderUnit({
      binary: "/opt/my apps/flusso",
      config: "/etc/flusso/100%.toml",
      user: "search",
    });
    assert.equal(
      directives(unit).get("ExecStart")?.[0],
      '"/opt/my apps/flusso" sync --config /etc/flusso/100%%.toml',
    );
  });

  it("relaxes_protect_home_only_for_files_under_home", () => {
    const unit = renderUnit({ binary: "/home/me/flusso", config: "/etc/f.toml", user: "me" });
    assert.equal(directives(unit).get("ProtectHome")?.[0], "read-only");
  });

  it("refuses_relative_paths_and_invalid_users", () => {
    assert.throws(
      () => renderUnit({ ...DEFAULT_UNIT_OPTIONS, config: "flusso.toml" }),
      UnitOptionError,
    );
    assert.throws(
      () => renderUnit({ ...DEFAULT_UNIT_OPTIONS, user: "Root User" }),
      UnitOptionError,
    );
  });

  it("uses_this_binary_only_when_compiled", () => {
    assert.equal(resolveBinary(undefined, "/usr/local/bin/flusso", "/x"), "/usr/local/bin/flusso");
    assert.equal(resolveBinary("bin/flusso", "/usr/bin/deno", "/srv"), "/srv/bin/flusso");
    assert.throws(() => resolveBinary(undefined, "/usr/bin/deno", "/x"), ServiceInstallError);
    assert.throws(() => resolveBinary(undefined, "/x/bun", "/x"), ServiceInstallError);
  });
});
