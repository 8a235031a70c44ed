import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DocumentModel, Field } from "../../src/config/model.ts";
import { buildPlan, PACK_ROWS, rangeParams } from "../../src/model/build_plan.ts";
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

  it("writes_field_names_as_escaped_json_inside_quoted_sql_literals", () => {
    const fields: Field[] = [
      ...Array.from(
        { length: 120 },
        (_, i): Field => ({ kind: "constant", name: `c${i}`, value: i }),
      ),
      { kind: "constant", name: `o'd"d\\`, value: 1 },
    ];
    const plan = buildPlan(indexOf("x", model(fields)), catalog);
    assert.ok(!plan.sql.includes("json_build_object("), "objects are concatenated, any width");
    for (let i = 0; i < 120; i++) assert.ok(plan.sql.includes(`'${i ? "," : "{"}"c${i}":'`));
    // JSON escapes the quote and the backslash; SQL doubles the apostrophe.
    assert.ok(plan.sql.includes(`',"o''d\\"d\\\\":'`));
  });

  it("orders_to_many_rows_by_the_primary_key_once_when_order_by_already_names_it", () => {
    const children = (orderBy: { column: string; direction: "asc" | "desc" }[]): Field => ({
      kind: "has_many",
      name: "kids",
      table,
      primaryKey: ["id"],
      foreignKey: ["id"],
      filters: [],
      orderBy,
      fields: [scalar("keyword", "status")],
    });
    const byStatus = buildPlan(
      indexOf("x", model([children([{ column: "status", direction: "desc" }])])),
      catalog,
    );
    // Ties on status fall back to the key, so the document is deterministic.
    assert.match(byStatus.sql, /ORDER BY t1\."status" DESC, t1\."id" ASC\)/);
    const byKey = buildPlan(
      indexOf("x", model([children([{ column: "id", direction: "desc" }])])),
      catalog,
    );
    assert.match(byKey.sql, /ORDER BY t1\."id" DESC\)/);
  });

  it("sends_keys_bare_only_when_their_text_needs_no_escaping", () => {
    const byId = buildPlan(indexOf("x", model([scalar("keyword", "status")])), catalog);
    const byStatus = buildPlan(
      indexOf("x", model([scalar("keyword", "status")], { primaryKey: ["status"] })),
      catalog,
    );
    for (const sql of [byId.packedSql, byId.packedPageSql, byId.packedRangeSql]) {
      assert.ok(!/string_agg\(to_json/.test(sql), sql);
    }
    for (const sql of [byStatus.packedSql, byStatus.packedPageSql, byStatus.packedRangeSql]) {
      assert.match(sql, /string_agg\(to_json\([^\n]*\)::text, E'\\n'/);
    }
    // Documents are joined by U+001E, which JSON text never holds raw, and never rescanned.
    for (const sql of [byId.packedSql, byId.packedPageSql, byId.packedRangeSql]) {
      assert.match(sql, /E'\\x1e'/);
      assert.ok(!sql.includes("replace("), sql);
    }
  });

  it("packs_a_range_by_integer_key_span_or_else_heap_page_without_numbering_its_rows", () => {
    const byId = buildPlan(indexOf("x", model([scalar("keyword", "status")])), catalog);
    assert.equal(byId.rangePacksByKeySpan, true);
    // $1 the key after, $2 the last key (no filters: no values between), $3 the span width.
    assert.match(byId.packedRangeSql, /GROUP BY t0\."id" \/ \$3::text::bigint$/);
    assert.deepEqual(rangeParams(byId, ["0"], ["2000"], 2000), ["0", "2000", String(PACK_ROWS)]);
    assert.deepEqual(rangeParams(byId, ["-5"], ["-3"], 2000), ["-5", "-3", "1"]);
    assert.deepEqual(
      rangeParams(byId, ["-9223372036854775808"], ["9223372036854775807"], 64),
      ["-9223372036854775808", "9223372036854775807", "9223372036854775807"],
    );
    const byStatus = buildPlan(
      indexOf("x", model([scalar("keyword", "status")], { primaryKey: ["status"] })),
      catalog,
    );
    assert.equal(byStatus.rangePacksByKeySpan, false);
    assert.match(byStatus.packedRangeSql, /GROUP BY t0\.tableoid, \(t0\.ctid::text::point\)\[0\]$/);
    assert.deepEqual(rangeParams(byStatus, ["a"], ["b"], 2000), ["a", "b"]);
    for (const plan of [byId, byStatus]) {
      assert.ok(!plan.packedRangeSql.includes("row_number"));
      assert.match(plan.packedPageSql, /row_number\(\) OVER/);
    }
  });

  it("names_the_missing_column_when_the_schema_does_not_match_the_table", () => {
    assert.throws(
      () => buildPlan(indexOf("x", model([scalar("keyword", "nope")])), catalog),
      (e: unknown) => e instanceof UnknownColumnError && /"nope"/.test(e.message),
    );
  });
});
