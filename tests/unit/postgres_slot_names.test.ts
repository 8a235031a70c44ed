/** The replication commands and names flusso gives Postgres for its slots. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSlotCommand, dryRunSlotName } from "../../src/postgres/slot.ts";

describe("slot commands and names", () => {
  it("creates_a_temporary_slot_only_when_asked", () => {
    assert.equal(
      createSlotCommand("flusso", true),
      `CREATE_REPLICATION_SLOT "flusso" LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    assert.equal(
      createSlotCommand("flusso", true, true),
      `CREATE_REPLICATION_SLOT "flusso" TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
  });

  it("names_a_dry_runs_slot_apart_from_the_configured_one_within_63_bytes", () => {
    assert.equal(dryRunSlotName("flusso", 4242), "flusso_dry_run_4242");
    const long = dryRunSlotName("s".repeat(63), 4194304);
    assert.equal(long.length, 63);
    assert.ok(long.endsWith("_dry_run_4194304"));
    assert.notEqual(dryRunSlotName("flusso", 1), dryRunSlotName("flusso", 2));
  });
});
