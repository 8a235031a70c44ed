/**
 * The loader: the example shop and a file using every construct load into the resolved
 * model; defaults, overrides and their precedence; secrets that never leak; immutability.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FIXTURES, REPO } from "./config_paths.ts";
import { loadConfig, loadDocumentModel } from "../../src/config/load.ts";
import { ConfigErrors } from "../../src/config/errors.ts";
import { formatErrorsHuman, formatErrorsJson } from "../../src/config/format.ts";
import type { Field } from "../../src/config/model.ts";

const SHOP = `${REPO}/examples/shop/flusso.toml`;
const EVERYTHING = `${FIXTURES}valid/everything.toml`;
const ENV = { PGPASSWORD: "pg-secret-1", OPENSEARCH_PASSWORD: "os-secret-2" };

async function configErrors(promise: Promise<unknown>): Promise<ConfigErrors> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigErrors) return error;
    throw error;
  }
  assert.fail("expected ConfigErrors");
}

describe("config loader", () => {
  it("loads_the_example_shop_into_the_resolved_model", async () => {
    const config = await loadConfig(SHOP, {
      env: { DATABASE_URL: "postgres://shop@db:5433/shop", FLUSSO_TOKEN: "tok" },
    });
    assert.deepEqual(config.indexes.map((i) => i.name), ["customers", "products"]);
    const customers = config.indexes[0];
    assert.deepEqual(customers.model.table, { schema: "public", name: "customers" });
    assert.deepEqual(customers.model.primaryKey, ["id"]);
    assert.equal(customers.sink, "search");
    assert.equal(config.indexes[1].onError, "skip");
    const company = customers.model.fields.find((f) => f.name === "company");
    assert.ok(company?.kind === "belongs_to");
    assert.deepEqual(company.column, ["company_id"]);
    const plan = customers.model.fields.find((f) => f.name === "plan");
    assert.equal(plan?.kind === "scalar" && plan.column, "plan_code");
    const count = customers.model.fields.find((f) => f.name === "order_count");
    assert.ok(count?.kind === "aggregate");
    assert.deepEqual(count.primaryKey, ["id"]);
    assert.equal(config.source.connection.port, 5433);
    assert.equal(config.pipeline.maxDelayMs, 50);
  });

  it("resolves_every_construct_of_the_language", async () => {
    const config = await loadConfig(EVERYTHING, { env: ENV });
    const users = config.indexes[0];
    assert.equal(users.verify, "0 */6 * * *");
    assert.equal(users.onError, "skip");
    assert.equal(config.indexes[1].sink, "debug");
    assert.equal(config.indexes[1].enabled, false);
    const kinds = new Set<string>();
    const walk = (fields: readonly Field[]) => {
      for (const f of fields) {
        kinds.add(f.kind === "scalar" ? f.type : f.kind === "aggregate" ? f.fn : f.kind);
        if ("fields" in f) walk(f.fields);
      }
    };
    walk(users.model.fields);
    for (
      const k of [
        "text",
        "identifier",
        "keyword",
        "enum",
        "uuid",
        "boolean",
        "short",
        "integer",
        "long",
        "float",
        "double",
        "decimal",
        "date",
        "timestamp",
        "binary",
        "json",
        "custom",
        "object",
        "map",
        "geo",
        "constant",
        "belongs_to",
        "has_one",
        "has_many",
        "many_to_many",
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "ids",
      ]
    ) assert.ok(kinds.has(k), `missing ${k}`);
    const company = users.model.fields.find((f) => f.name === "company");
    assert.ok(company?.kind === "belongs_to");
    assert.deepEqual(company.table, { schema: "crm", name: "companies" });
    assert.deepEqual(company.column, ["tenant_id", "company_id"]);
    const orders = users.model.fields.find((f) => f.name === "orders");
    assert.ok(orders?.kind === "has_many");
    assert.equal(orders.table.schema, "app", "related tables inherit the enclosing schema");
    assert.deepEqual(orders.orderBy[1], { column: "id", direction: "asc" });
    assert.equal(config.server.token?.reveal(), "tok3n");
    assert.equal(config.source.connection.password?.reveal(), "pg-secret-1");
    assert.equal(config.pipeline.maxDelayMs, 1500);
    assert.equal(config.pipeline.maxBatchBytes, 1048576);
    assert.equal(config.sinks[0].maxBytes, 5 * 1024 * 1024);
    assert.equal(config.sinks[0].liveRefresh, "wait_for");
  });

  it("applies_defaults_when_keys_are_absent", async () => {
    const config = await loadConfig(`${FIXTURES}toml/on_error_typo.toml`, {
      env: {},
      overrides: { on_error: "stop" },
    });
    assert.equal(config.onError, "stop");
    assert.equal(config.source.slot, "flusso");
    assert.equal(config.source.managePublication, true);
    assert.equal(config.sinks[0].batchSize, 1000);
    assert.equal(config.sinks[0].maxBytes, 10 * 1024 * 1024);
    assert.equal(config.sinks[0].liveRefresh, "immediate");
    assert.equal(config.pipeline.queueBytes, 64 * 1024 * 1024);
    assert.equal(config.server.publicAddress, "127.0.0.1:9464");
    assert.equal(config.indexes[0].enabled, true);
  });

  it("gives_flags_precedence_over_environment_over_file", async () => {
    const fromEnv = await loadConfig(EVERYTHING, { env: { ...ENV, FLUSSO_SLOT: "from_env" } });
    assert.equal(fromEnv.source.slot, "from_env");
    const fromFlag = await loadConfig(EVERYTHING, {
      env: { ...ENV, FLUSSO_SLOT: "from_env" },
      overrides: { "source.slot": "from_flag" },
    });
    assert.equal(fromFlag.source.slot, "from_flag");
    const fromFile = await loadConfig(EVERYTHING, { env: ENV });
    assert.equal(fromFile.source.slot, "flusso");
  });

  it("applies_database_url_and_sink_overrides_over_the_file", async () => {
    const config = await loadConfig(EVERYTHING, {
      env: {
        ...ENV,
        DATABASE_URL: "postgresql://other:pw@elsewhere:6000/otherdb?sslmode=disable",
        SEARCH_OPENSEARCH_URL: "https://os.example:9200",
        SEARCH_OPENSEARCH_USERNAME: "robot",
        SEARCH_OPENSEARCH_PASSWORD: "env-os-pw",
      },
    });
    assert.equal(config.source.connection.host, "elsewhere");
    assert.equal(config.source.connection.database, "otherdb");
    assert.equal(config.source.connection.sslmode, "disable");
    assert.equal(config.sinks[0].url, "https://os.example:9200");
    assert.equal(config.sinks[0].username, "robot");
    assert.equal(config.sinks[0].password?.reveal(), "env-os-pw");
  });

  it("names_the_override_that_set_an_invalid_value", async () => {
    const errors = await configErrors(
      loadConfig(EVERYTHING, { env: { ...ENV, FLUSSO_MAX_DELAY: "soon" } }),
    );
    assert.equal(errors.errors.length, 1);
    assert.match(errors.errors[0].message, /pipeline\.max_delay: .*FLUSSO_MAX_DELAY/);
    assert.equal(errors.errors[0].code, "invalid_duration");
  });

  it("never_shows_secrets_in_the_config_or_its_errors", async () => {
    const config = await loadConfig(EVERYTHING, { env: ENV });
    const text = JSON.stringify(config) + String(config.source.connection.password);
    assert.ok(
      !text.includes("pg-secret-1") && !text.includes("os-secret-2") && !text.includes("tok3n"),
    );
    const errors = await configErrors(
      loadConfig(`${FIXTURES}toml/connection_url_wrong_scheme.toml`, { env: {} }),
    );
    const shown = formatErrorsHuman(errors, { excerpt: true }) + formatErrorsJson(errors);
    assert.ok(!shown.includes("hunter2"), shown);
    assert.match(shown, /\[redacted\]/);
  });

  it("returns_a_deeply_frozen_config", async () => {
    const config = await loadConfig(EVERYTHING, { env: ENV });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.indexes[0].model.fields[0]));
    assert.throws(() => {
      (config as { prefix: string }).prefix = "x";
    });
  });

  it("loads_a_composite_root_key_with_composite_foreign_keys", async () => {
    const model = await loadDocumentModel(`${FIXTURES}valid/composite.schema.yml`);
    assert.deepEqual(model.primaryKey, ["tenant_id", "id"]);
    const invoices = model.fields[2];
    assert.ok(invoices.kind === "has_many");
    assert.deepEqual(invoices.foreignKey, ["tenant_id", "account_id"]);
  });

  it("reports_a_missing_config_file_as_a_config_error", async () => {
    const errors = await configErrors(loadConfig(`${FIXTURES}nope.toml`, { env: {} }));
    assert.equal(errors.errors[0].code, "file_not_found");
  });
});
