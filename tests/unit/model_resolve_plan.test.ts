import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Change, Row } from "../../src/engine/change.ts";
import { relationGraph } from "../../src/model/relation_graph.ts";
import { type Lookup, resolveIndex } from "../../src/model/resolve_plan.ts";
import { ModelShapeError } from "../../src/model/errors.ts";
import { customersModel } from "../support/shop_model.ts";

const graph = relationGraph("customers", customersModel);
const t = (name: string) => ({ schema: "public", name });

function change(
  op: Change["op"],
  table: string,
  rows: { new?: Row; old?: Row },
  full = true,
): Change {
  return {
    op,
    table: t(table),
    ...rows,
    oldIsFull: full && rows.old !== undefined,
    lsn: 1n,
    size: 1,
  };
}

/** A lookup that records its calls and answers from a fixed table of results. */
function fakeLookup(answers: Record<string, string[][]>) {
  const calls: Lookup[] = [];
  return {
    calls,
    lookup: (l: Lookup) => {
      calls.push(l);
      return Promise.resolve(answers[`${l.table.name}:${l.match.join(",")}`] ?? []);
    },
  };
}

describe("resolve plan", () => {
  it("maps_a_root_key_change_to_both_the_old_and_the_new_document", async () => {
    const { lookup, calls } = fakeLookup({});
    const r = await resolveIndex(
      graph,
      [change("update", "customers", { new: { id: "2", name: "x" }, old: { id: "1" } }, false)],
      lookup,
    );
    assert.deepEqual(r.keys, [["2"], ["1"]]);
    assert.equal(calls.length, 0);
  });

  it("marks_a_root_key_gone_only_when_its_last_root_change_deleted_it", async () => {
    const { lookup } = fakeLookup({});
    const r = await resolveIndex(
      graph,
      [
        // 1: deleted, then recreated: built. 2: deleted last: gone, even though an address
        // change after the delete names it (a child never brings a document back).
        change("delete", "customers", { old: { id: "1" } }, false),
        change("delete", "customers", { old: { id: "2" } }, false),
        change("insert", "customers", { new: { id: "1", name: "again" } }),
        change("insert", "addresses", { new: { id: "7", customer_id: "2", city: "c" } }),
        // 3 → 4: the old key's row no longer exists; 4 does.
        change("update", "customers", { new: { id: "4", name: "x" }, old: { id: "3" } }, false),
        // 5: updated under REPLICA IDENTITY FULL, key unchanged: present.
        change("update", "customers", { new: { id: "5", name: "y" }, old: { id: "5", name: "z" } }),
      ],
      lookup,
    );
    assert.deepEqual(r.gone, [["2"], ["3"]]);
    for (const key of r.gone) assert.ok(r.keys.some((k) => k[0] === key[0]), `${key} in keys`);
  });

  it("batches_many_child_changes_into_one_lookup_per_hop", async () => {
    const { lookup, calls } = fakeLookup({ "orders:id": [["5"], ["6"]] });
    const changes = Array.from({ length: 500 }, (_, i) =>
      change("update", "order_items", {
        new: { id: String(i), order_id: String(i % 7), product_id: "1" },
        old: { id: String(i), order_id: String(i % 7), product_id: "1" },
      }));
    const r = await resolveIndex(graph, changes, lookup);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].values.length, 7);
    assert.deepEqual(calls[0].select, ["customer_id"]);
    assert.deepEqual(r.keys, [["5"], ["6"]]);
  });

  it("walks_a_belongs_to_target_up_through_its_referrers_parents", async () => {
    const { lookup, calls } = fakeLookup({
      "order_items:product_id": [["10"], ["11"]],
      "orders:id": [["3"]],
    });
    const r = await resolveIndex(
      graph,
      [change("update", "products", { new: { id: "9", sku: "s" } })],
      lookup,
    );
    assert.deepEqual(calls.map((c) => `${c.table.name}:${c.match}->${c.select}`), [
      "order_items:product_id->order_id",
      "orders:id->customer_id",
    ]);
    assert.deepEqual(r.keys, [["3"]]);
  });

  it("reads_junction_parents_from_the_tuple_and_far_side_parents_by_lookup", async () => {
    const { lookup, calls } = fakeLookup({ "customer_tags:tag_id": [["8"], ["9"]] });
    const r = await resolveIndex(graph, [
      change("delete", "customer_tags", { old: { customer_id: "4", tag_id: "1" } }, false),
      change("update", "tags", { new: { id: "1", label: "x" } }),
    ], lookup);
    assert.equal(calls.length, 1);
    assert.deepEqual(r.keys.map((k) => k[0]).sort(), ["4", "8", "9"]);
    assert.deepEqual(r.missed, []);
  });

  it("reports_a_child_delete_without_its_old_foreign_key_as_missed", async () => {
    const { lookup } = fakeLookup({});
    const r = await resolveIndex(
      graph,
      [change("delete", "addresses", { old: { id: "1" } }, false)],
      lookup,
    );
    assert.deepEqual(r.keys, []);
    assert.equal(r.missed.length, 1);
    assert.deepEqual(r.missed[0].columns, ["customer_id"]);
  });

  it("looks_up_the_current_parent_when_the_new_tuple_lacks_the_foreign_key", async () => {
    const { lookup, calls } = fakeLookup({ "orders:id": [["12"]] });
    const r = await resolveIndex(
      graph,
      [change("update", "orders", {
        new: { id: "77", status: "paid" },
        old: { id: "77", customer_id: "12" },
      })],
      lookup,
    );
    assert.equal(calls.length, 1);
    assert.deepEqual(r.keys, [["12"]]);
  });

  it("flags_truncate_and_ignores_tables_the_index_does_not_read", async () => {
    const { lookup } = fakeLookup({});
    const r = await resolveIndex(graph, [
      { op: "truncate", table: t("orders"), lsn: 1n, size: 1 },
      change("insert", "unrelated", { new: { id: "1" } }),
    ], lookup);
    assert.equal(r.truncated, true);
    assert.deepEqual(r.keys, []);
  });

  it("rejects_a_foreign_key_whose_arity_differs_from_the_parent_key", () => {
    const bad = {
      ...customersModel,
      primaryKey: ["tenant", "id"],
    };
    assert.throws(() => relationGraph("customers", bad), ModelShapeError);
  });
});
