import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Change, Row } from "../../src/engine/change.ts";
import { resolveColumns } from "../../src/model/resolve_columns.ts";
import { relationGraph, tableKey, tablesOfGraph } from "../../src/model/relation_graph.ts";
import { resolveIndex } from "../../src/model/resolve_plan.ts";
import { customersModel, productsModel } from "../support/shop_model.ts";

/** A row with a value for any column, recording which columns were read. */
function recordingRow(read: Set<string>): Row {
  return new Proxy({}, {
    get: (_target, column) => {
      if (typeof column === "string") read.add(column);
      return "1";
    },
    has: (_target, column) => {
      if (typeof column === "string") read.add(column);
      return true;
    },
  }) as Row;
}

describe("resolve columns", () => {
  it("lists_every_column_resolution_reads_from_a_changed_row", async () => {
    for (
      const graph of [
        relationGraph("customers", customersModel),
        relationGraph("products", productsModel),
      ]
    ) {
      const needed = resolveColumns([graph]);
      for (const table of tablesOfGraph(graph)) {
        for (const op of ["insert", "update", "delete"] as const) {
          const read = new Set<string>();
          const change: Change = {
            op,
            table,
            ...(op !== "delete" ? { new: recordingRow(read) } : {}),
            ...(op !== "insert" ? { old: recordingRow(read), oldIsFull: true } : {}),
            lsn: 1n,
            size: 1,
          };
          await resolveIndex(graph, [change], () => Promise.resolve([["1"]]));
          const listed = needed.get(tableKey(table)) ?? new Set();
          for (const column of read) {
            assert.ok(
              listed.has(column),
              `${graph.index}: resolution read ${table.name}.${column}, not in resolveColumns`,
            );
          }
          assert.ok(read.size > 0, `${graph.index}: ${table.name} ${op} read no column`);
        }
      }
    }
  });

  it("leaves_out_columns_no_graph_reads", () => {
    const needed = resolveColumns([relationGraph("customers", customersModel)]);
    const customers = needed.get(tableKey({ schema: "public", name: "customers" }));
    assert.ok(customers?.has("id"));
    assert.ok(!customers?.has("email"), "a document-only column is not needed to resolve");
  });
});
