/** `flusso check` server findings, from catalog facts alone (no database). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAgainstCatalog } from "../../src/cli/check_findings.ts";
import type { Config } from "../../src/config/model.ts";

const config = {
  file: "flusso.toml",
  source: { publication: "pub", managePublication: false },
  indexes: [],
} as unknown as Config;

describe("check findings", () => {
  it("requires_wal_level_logical_and_a_replication_role_with_the_sql", () => {
    const findings = checkAgainstCatalog(config, {
      server: {
        walLevel: "replica",
        serverVersion: 150000,
        role: "app",
        replication: false,
        superuser: false,
      },
      tables: new Map(),
      publication: undefined,
    });
    assert.deepEqual(findings.map((f) => [f.severity, f.code, f.sql]), [
      ["error", "wal_level", "ALTER SYSTEM SET wal_level = logical;"],
      ["error", "replication_role", 'ALTER ROLE "app" WITH REPLICATION;'],
    ]);
  });

  it("accepts_a_superuser_without_the_replication_attribute", () => {
    const findings = checkAgainstCatalog(config, {
      server: {
        walLevel: "logical",
        serverVersion: 150000,
        role: "postgres",
        replication: false,
        superuser: true,
      },
      tables: new Map(),
      publication: undefined,
    });
    assert.deepEqual(findings, []);
  });
});
