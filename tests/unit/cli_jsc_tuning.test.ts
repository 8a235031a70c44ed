/** The decision to re-execute the compiled binary with JavaScriptCore's tuning, and its environment. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JSC_TUNING, needsJscTuning, tunedEnvironment } from "../../src/cli/jsc_tuning.ts";

const allSet = Object.fromEntries(Object.keys(JSC_TUNING).map((name) => [name, "x"]));

describe("JavaScriptCore tuning", () => {
  it("re_executes_only_a_compiled_bun_binary_on_linux_while_a_variable_is_unset", () => {
    const compiled = { isCompiledBun: true, platform: "linux", env: {} };
    assert.equal(needsJscTuning(compiled), true);
    assert.equal(needsJscTuning({ ...compiled, isCompiledBun: false }), false, "Deno, bun src");
    assert.equal(needsJscTuning({ ...compiled, platform: "darwin" }), false);
    // Already re-executed, or the user's own values: never again.
    assert.equal(needsJscTuning({ ...compiled, env: allSet }), false);
    // One left unset (a user who set only the other): once more, to add it.
    for (const name of Object.keys(JSC_TUNING)) {
      const { [name]: _, ...others } = allSet;
      assert.equal(needsJscTuning({ ...compiled, env: others }), true, `${name} unset`);
    }
  });

  it("keeps_every_variable_and_adds_each_missing_tuning_once", () => {
    const env = tunedEnvironment({ PATH: "/bin", EMPTY: "", GONE: undefined, A: "x=y" });
    assert.deepEqual(env, [
      "PATH=/bin",
      "EMPTY=",
      "A=x=y",
      "BUN_JSC_forceRAMSize=268435456",
      "BUN_JSC_useFTLJIT=false",
    ]);
  });

  it("keeps_the_users_own_value_of_a_tuned_variable", () => {
    // `0` turns the heap tuning off, `true` brings the FTL tier back: neither is overridden.
    const env = tunedEnvironment({ BUN_JSC_forceRAMSize: "0", BUN_JSC_useFTLJIT: "true" });
    assert.deepEqual(env, ["BUN_JSC_forceRAMSize=0", "BUN_JSC_useFTLJIT=true"]);
    const partial = tunedEnvironment({ BUN_JSC_useFTLJIT: "true" });
    assert.deepEqual(partial, ["BUN_JSC_useFTLJIT=true", "BUN_JSC_forceRAMSize=268435456"]);
  });
});
