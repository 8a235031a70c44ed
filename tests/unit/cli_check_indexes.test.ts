/**
 * Which indexes `flusso check` asks for: one per (table, columns) a relation reads rows by,
 * served by any index whose leading columns are those columns in any order.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hasIndexOn, indexNeeds } from "../../src/cli/check_indexes.ts";
import type { CatalogTable } from "../../src/postgres/catalog.ts";
import { relationGraph } from "../../src/model/relation_graph.ts";
import { customersModel, productsModel } from "../support/shop_model.ts";

function tableWith(indexes: string[][]): CatalogTable {
  return {
    table: { schema: "public", name: "t" },
    kind: "r",
    columns: new Map(),
    primaryKey: [],
    uniqueKeys: [],
    indexes,
    lacksStatistics: false,
    replicaIdentity: "d",
    replicaIdentityColumns: [],
  };
}

describe("check indexes", () => {
  it("counts_an_index_only_when_its_leading_columns_are_the_read_columns_in_any_order", () => {
    const t = tableWith([["a", "b", "c"], ["d"]]);
    assert.equal(hasIndexOn(t, ["a"]), true);
    assert.equal(hasIndexOn(t, ["b", "a"]), true);
    assert.equal(hasIndexOn(t, ["b"]), false, "b is not a leading column");
    assert.equal(hasIndexOn(t, ["d", "a"]), false);
    assert.equal(hasIndexOn(tableWith([]), ["a"]), false);
  });

  it("lists_each_table_and_columns_once_across_indexes_with_every_index_that_reads_them", () => {
    const needs = indexNeeds([
      relationGraph("customers", customersModel),
      relationGraph("products", productsModel),
    ]);
    const keyed = new Map(needs.map((n) => [`${n.table.name}(${n.columns.join(",")})`, n]));
    assert.deepEqual([...keyed.keys()].sort(), [
      "addresses(customer_id)",
      "customer_tags(customer_id)",
      "customer_tags(tag_id)",
      "customers(company_id)",
      "order_items(order_id)",
      "order_items(product_id)",
      "orders(customer_id)",
    ]);
    // orders(customer_id): the has_many and both aggregates of customers read it.
    assert.deepEqual(keyed.get("orders(customer_id)")!.indexes, ["customers"]);
    // order_items(product_id): the customers' belongs_to product and products' count.
    assert.deepEqual([...keyed.get("order_items(product_id)")!.indexes].sort(), [
      "customers",
      "products",
    ]);
  });
});
