/** The decision to re-execute the compiled binary with JavaScriptCore's heap tuning. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FORCED_RAM_BYTES,
  FORCED_RAM_ENV,
  needsHeapTuning,
  tunedEnvironment,
} from "../../src/cli/heap_tuning.ts";

describe("heap tuning", () => {
  it("re_executes_only_a_compiled_bun_binary_on_linux_without_the_variable_set", () => {
    const compiled = { isCompiledBun: true, platform: "linux", env: {} };
    assert.equal(needsHeapTuning(compiled), true);
    assert.equal(needsHeapTuning({ ...compiled, isCompiledBun: false }), false, "Deno, bun src");
    assert.equal(needsHeapTuning({ ...compiled, platform: "darwin" }), false);
    // Already re-executed, or the user's own value (0 turns the tuning off): never again.
    assert.equal(needsHeapTuning({ ...compiled, env: { [FORCED_RAM_ENV]: "0" } }), false);
  });

  it("keeps_every_variable_and_sets_the_ram_size_once", () => {
    const env = tunedEnvironment({ PATH: "/bin", EMPTY: "", GONE: undefined, A: "x=y" });
    assert.deepEqual(env, [
      "PATH=/bin",
      "EMPTY=",
      "A=x=y",
      `${FORCED_RAM_ENV}=${FORCED_RAM_BYTES}`,
    ]);
  });
});
