import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildProgram } from "../../src/cli/program.ts";

describe("cli program", () => {
  it("gives_every_option_a_flusso_env_twin", () => {
    const program = buildProgram();
    const options = program.options.filter((o) => !["--version", "--help"].includes(o.long ?? ""));
    assert.ok(options.length > 0);
    for (const option of options) {
      assert.match(option.envVar ?? "", /^FLUSSO_[A-Z_]+$/, `${option.long} needs a FLUSSO_* twin`);
    }
  });
});
