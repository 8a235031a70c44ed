/**
 * The invalid-config corpus: every file under tests/fixtures/config/{schema,toml} must be
 * refused with exactly the errors (message and position) of its `.expected` sidecar.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { FIXTURES as ROOT } from "./config_paths.ts";
import { loadConfig, loadDocumentModel } from "../../src/config/load.ts";
import { ConfigErrors } from "../../src/config/errors.ts";
import { formatErrorLines } from "../../src/config/format.ts";

/** Every invalid case: its input file and expected error lines. */
function cases(): { name: string; input: string; expected: string[] }[] {
  const out = [];
  for (const dir of ["schema", "toml"]) {
    for (const file of readdirSync(ROOT + dir).sort()) {
      if (!file.endsWith(".expected")) continue;
      const stem = file.replace(/\.expected$/, "");
      const input = dir === "toml" ? `${dir}/${stem}.toml` : `${dir}/${stem}.schema.yml`;
      const expected = readFileSync(ROOT + dir + "/" + file, "utf8").split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"));
      out.push({ name: `${dir}/${stem}`, input, expected });
    }
  }
  return out;
}

async function errorsOf(input: string): Promise<string[]> {
  try {
    if (input.endsWith(".toml")) await loadConfig(ROOT + input, { env: {} });
    else await loadDocumentModel(ROOT + input);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    return formatErrorLines(error.errors).map((line) => line.replaceAll(ROOT, ""));
  }
  return [];
}

describe("invalid config corpus", () => {
  const all = cases();

  it("holds_at_least_forty_cases", () => {
    assert.ok(all.length >= 40, `only ${all.length} cases`);
  });

  it("refuses_every_case_with_its_expected_messages_and_positions", async () => {
    const failures: string[] = [];
    for (const c of all) {
      const actual = await errorsOf(c.input);
      try {
        assert.deepEqual(actual, c.expected);
      } catch {
        failures.push(
          `${c.name}\n  expected: ${c.expected.join("\n            ")}\n  actual:   ${
            actual.join("\n            ")
          }`,
        );
      }
    }
    assert.equal(failures.length, 0, failures.join("\n"));
  });
});
