/**
 * The indexes document builds and change resolution lean on. Every relation reads rows by
 * columns other than a primary key: a has_one/has_many/aggregate reads the related rows by
 * their foreign key, a many_to_many reads junction rows by their left key, and resolution
 * finds the parents of a changed belongs_to target (or far-side row) by the referencing
 * column. Without an index each of those reads scans the whole table, once per document or
 * per batch; `flusso check` warns with the CREATE INDEX that fixes it.
 */
import type { TableRef } from "../config/model.ts";
import type { RelationGraph } from "../model/relation_graph.ts";
import { catalogKey, type CatalogTable } from "../postgres/catalog.ts";
import { quoteIdent, quoteTable } from "../postgres/identifiers.ts";
import type { Finding } from "./check_findings.ts";

/** Columns of one table some relation reads rows by, and why. */
export interface IndexNeed {
  readonly table: TableRef;
  readonly columns: readonly string[];
  /** Index names needing it. */
  readonly indexes: readonly string[];
  /** What reads by these columns, e.g. `each customers document reads these rows (orders)`. */
  readonly reason: string;
}

/** The (table, columns) pairs the indexes of `graphs` read rows by, each once. */
export function indexNeeds(graphs: readonly RelationGraph[]): IndexNeed[] {
  const needs = new Map<string, { need: IndexNeed; indexes: Set<string> }>();
  const add = (index: string, table: TableRef, columns: readonly string[], reason: string) => {
    if (columns.length === 0) return;
    const key = JSON.stringify([catalogKey(table), [...columns].sort()]);
    const found = needs.get(key);
    if (found) {
      found.indexes.add(index);
      return;
    }
    needs.set(key, { need: { table, columns, indexes: [], reason }, indexes: new Set([index]) });
  };
  const name = (t: TableRef) => `${t.schema}.${t.name}`;
  // Each link of the relation graph is one read by non-key columns: the build reads a node's
  // rows by its link, and resolution walks the same link upwards from a changed row.
  for (const graph of graphs) {
    const index = graph.index;
    for (const node of graph.nodes) {
      const link = node.link;
      if (!link) continue;
      const at = node.path;
      switch (link.kind) {
        case "child":
          add(
            index,
            node.table,
            link.foreignKey,
            `each ${index} document reads these rows (${at})`,
          );
          break;
        case "target":
          add(
            index,
            link.parent.table,
            link.column,
            `a change to ${name(node.table)} finds the ${name(link.parent.table)} rows that ` +
              `point at it (${at})`,
          );
          break;
        case "through":
          add(
            index,
            link.through.table,
            [link.through.leftKey],
            `each ${index} document reads them (${at})`,
          );
          add(
            index,
            link.through.table,
            [link.through.rightKey],
            `a change to ${name(node.table)} finds the ${index} documents through them (${at})`,
          );
          break;
      }
    }
  }
  return [...needs.values()].map(({ need, indexes }) => ({ ...need, indexes: [...indexes] }));
}

/** Whether an index of `table` starts with exactly `columns` (in any order). */
export function hasIndexOn(table: CatalogTable, columns: readonly string[]): boolean {
  const wanted = new Set(columns);
  return table.indexes.some((cols) =>
    cols.length >= wanted.size && cols.slice(0, wanted.size).every((c) => wanted.has(c))
  );
}

/** Warnings for the needs no index serves; tables that are missing or cannot be indexed are skipped. */
export function checkIndexes(
  graphs: readonly RelationGraph[],
  tables: ReadonlyMap<string, CatalogTable>,
  out: Finding[],
): void {
  for (const need of indexNeeds(graphs)) {
    const table = tables.get(catalogKey(need.table));
    // Views and foreign tables cannot be indexed here; a missing table is its own finding.
    if (!table || (table.kind !== "r" && table.kind !== "p" && table.kind !== "m")) continue;
    if (!need.columns.every((c) => table.columns.has(c))) continue;
    if (hasIndexOn(table, need.columns)) continue;
    const columns = need.columns.map(quoteIdent).join(", ");
    out.push({
      severity: "warning",
      code: "index",
      index: need.indexes.join(", "),
      message: `${need.table.schema}.${need.table.name} has no index on (${
        need.columns.join(", ")
      }): ${need.reason}, so every such read scans the whole table`,
      sql: `CREATE INDEX ON ${quoteTable(need.table)} (${columns});`,
    });
  }
}
