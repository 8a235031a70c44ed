/**
 * The JSON Schemas (`flusso schema config|index`) agree with the loader: every valid file
 * (the example shop, the valid fixtures) passes both, and every corpus file the loader
 * refuses for its shape (unknown key, missing key, wrong type or value) fails the JSON Schema.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { getStaticTOMLValue, parseTOML } from "toml-eslint-parser";
import { FIXTURES, REPO } from "./config_paths.ts";
import { jsonSchemaErrors } from "./config_json_schema_subset.ts";
import { schemaText } from "../../src/cli/schema.ts";
import { ConfigErrors } from "../../src/config/errors.ts";
import { loadConfig, loadDocumentModel } from "../../src/config/load.ts";

const indexSchema = JSON.parse(schemaText("index"));
const configSchema = JSON.parse(schemaText("config"));
const SHAPE_CODES = new Set(["unknown_key", "missing_key", "invalid_type", "invalid_value"]);
/** Rules a JSON Schema cannot state, with why; the loader alone enforces them. */
const BEYOND_JSON_SCHEMA = new Map([
  ["connection_missing.toml", "DATABASE_URL may supply the connection"],
  ["opensearch_sink_without_url.toml", "<SINK>_OPENSEARCH_URL may supply the url"],
  ["several_sinks_without_choice.toml", "depends on how many sinks are declared"],
  ["same_server_addresses.toml", "compares two values"],
  ["live_refresh_wait_for_without_refresh.toml", "compares two values"],
]);

const yamlOf = (file: string) => parseYaml(readFileSync(file, "utf8"));
const tomlOf = (file: string) => getStaticTOMLValue(parseTOML(readFileSync(file, "utf8")));

async function loaderCodes(file: string): Promise<string[] | undefined> {
  try {
    if (file.endsWith(".toml")) await loadConfig(file, { env: {} });
    else await loadDocumentModel(file);
    return [];
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => e.code);
    throw error;
  }
}

describe("json schema", () => {
  it("validates_the_example_shop_schema_files_with_flusso_schema_index_output", () => {
    const dir = `${REPO}/examples/shop/schemas/`;
    const files = readdirSync(dir).filter((f) => f.endsWith(".schema.yml"));
    assert.ok(files.length >= 2);
    for (const f of files) assert.deepEqual(jsonSchemaErrors(indexSchema, yamlOf(dir + f)), [], f);
    assert.deepEqual(
      jsonSchemaErrors(configSchema, tomlOf(`${REPO}/examples/shop/flusso.toml`)),
      [],
    );
  });

  it("accepts_every_valid_fixture", () => {
    for (const f of readdirSync(`${FIXTURES}valid`)) {
      const file = `${FIXTURES}valid/${f}`;
      if (f.endsWith(".schema.yml")) {
        assert.deepEqual(jsonSchemaErrors(indexSchema, yamlOf(file)), [], f);
      } else if (f.endsWith(".toml")) {
        assert.deepEqual(jsonSchemaErrors(configSchema, tomlOf(file)), [], f);
      }
    }
  });

  it("rejects_every_corpus_file_the_loader_rejects_for_its_shape", async () => {
    let compared = 0;
    for (const dir of ["schema", "toml"]) {
      for (const f of readdirSync(FIXTURES + dir)) {
        if (!f.endsWith(".schema.yml") && !f.endsWith(".toml")) continue;
        const file = `${FIXTURES}${dir}/${f}`;
        const codes = await loaderCodes(file);
        // Semantic errors (secrets, cron, duplicates, references) are beyond a JSON Schema.
        if (!codes?.length || !codes.every((c) => SHAPE_CODES.has(c))) continue;
        if (BEYOND_JSON_SCHEMA.has(f)) continue;
        let value: unknown;
        try {
          value = f.endsWith(".toml") ? tomlOf(file) : yamlOf(file);
        } catch {
          continue; // a syntax error: neither can read it
        }
        const errors = jsonSchemaErrors(f.endsWith(".toml") ? configSchema : indexSchema, value);
        assert.notDeepEqual(errors, [], `${dir}/${f} passes the JSON Schema but not the loader`);
        compared++;
      }
    }
    assert.ok(compared >= 25, `only ${compared} shape cases compared`);
  });
});
