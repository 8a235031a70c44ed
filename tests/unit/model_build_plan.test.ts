import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DocumentModel, Field } from "../../src/config/model.ts";
import { buildPlan } from "../../src/model/build_plan.ts";
import { columnCatalog, type ColumnType } from "../../src/model/column_types.ts";
import { UnknownColumnError } from "../../src/model/errors.ts";
import { tableKey } from "../../src/model/relation_graph.ts";
import { indexOf, scalar } from "../support/shop_model.ts";

const big: ColumnType = { castType: "bigint", kind: "int8", array: false };
const txt: ColumnType = { castType: "text", kind: "text", array: false };
const table = { schema: "app", name: 'we"ird' };
const catalog = columnCatalog(
  new Map([[
    tableKey(table),
    new Map<string, ColumnType>([["id", big], ["status", txt], ['na"me', txt]]),
  ]]),
);

function model(fields: Field[], extra: Partial<DocumentModel> = {}): DocumentModel {
  return { file: "m.yml", table, primaryKey: ["id"], filters: [], fields, ...extra };
}

describe("build plan", () => {
  it("quotes_identifiers_and_binds_filter_values_and_defaults_as_parameters", () => {
    const plan = buildPlan(
      indexOf(
        "x",
        model([scalar("keyword", "n", { column: 'na"me', default: "o'hara" })], {
          filters: [{ column: "status", op: "eq", value: "x'); DROP TABLE t; --" }],
        }),
      ),
      catalog,
    );
    assert.match(plan.sql, /"app"\."we""ird" t0/);
    assert.match(plan.sql, /t0\."na""me"/);
    assert.ok(!plan.sql.includes("DROP TABLE"));
    assert.ok(!plan.sql.includes("hara"));
    assert.deepEqual(plan.params, ["x'); DROP TABLE t; --", '"o\'hara"']);
    assert.match(plan.sql, /\$2::text::text/);
    assert.equal(plan.keyColumns, 1);
    assert.match(plan.sql, /unnest\(\$1::text\[\]\)/);
  });

  it("splits_objects_wider_than_50_fields_across_json_build_object_calls", () => {
    const fields: Field[] = Array.from({ length: 120 }, (_, i) => ({
      kind: "constant",
      name: `c${i}`,
      value: i,
    }));
    const plan = buildPlan(indexOf("x", model(fields)), catalog);
    for (const call of plan.sql.split("json_build_object(").slice(1)) {
      const args = call.slice(0, call.indexOf(")")).split(",").length;
      assert.ok(args <= 100, `a call with ${args} arguments`);
    }
    assert.equal(plan.sql.split("::jsonb").length - 1, 3);
  });

  it("names_the_missing_column_when_the_schema_does_not_match_the_table", () => {
    assert.throws(
      () => buildPlan(indexOf("x", model([scalar("keyword", "nope")])), catalog),
      (e: unknown) => e instanceof UnknownColumnError && /"nope"/.test(e.message),
    );
  });
});
