/**
 * The indexes document builds and change resolution lean on. Every relation reads rows by
 * columns other than a primary key: a has_one/has_many/aggregate reads the related rows by
 * their foreign key, a many_to_many reads junction rows by their left key, and resolution
 * finds the parents of a changed belongs_to target (or far-side row) by the referencing
 * column. Without an index each of those reads scans the whole table, once per document or
 * per batch; `flusso check` warns with the CREATE INDEX that fixes it.
 */
import type { Field, IndexConfig, TableRef } from "../config/model.ts";
import { catalogKey, type CatalogTable } from "../postgres/catalog.ts";
import { quoteIdent, quoteTable } from "../postgres/identifiers.ts";
import type { Finding } from "./check_findings.ts";

/** Columns of one table some relation reads rows by, and why. */
export interface IndexNeed {
  readonly table: TableRef;
  readonly columns: readonly string[];
  /** Index names needing it. */
  readonly indexes: readonly string[];
  /** What reads by these columns, e.g. `each customers document reads its orders`. */
  readonly reason: string;
}

/** The (table, columns) pairs `indexes` read rows by, each once. */
export function indexNeeds(indexes: readonly IndexConfig[]): IndexNeed[] {
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
  for (const index of indexes) {
    const walk = (fields: readonly Field[], owner: TableRef, path: string) => {
      for (const f of fields) {
        const at = `${path}${f.name}`;
        if (f.kind === "object") walk(f.fields, owner, `${at}.`);
        if (f.kind === "belongs_to") {
          add(
            index.name,
            owner,
            f.column ?? [],
            `a change to ${name(f.table)} finds the ${name(owner)} rows that point at it (${at})`,
          );
          walk(f.fields, f.table, `${at}.`);
        } else if (
          f.kind === "has_one" || f.kind === "has_many" || f.kind === "many_to_many" ||
          f.kind === "aggregate"
        ) {
          if (f.through) {
            const j = f.through;
            add(index.name, j.table, [j.leftKey], `each ${index.name} document reads them (${at})`);
            add(
              index.name,
              j.table,
              [j.rightKey],
              `a change to ${name(f.table)} finds the ${index.name} documents through them (${at})`,
            );
          } else {
            add(
              index.name,
              f.table,
              f.foreignKey ?? [],
              `each ${index.name} document reads these rows (${at})`,
            );
          }
          if (f.kind !== "aggregate") walk(f.fields, f.table, `${at}.`);
        }
      }
    };
    walk(index.model.fields, index.model.table, "");
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
  indexes: readonly IndexConfig[],
  tables: ReadonlyMap<string, CatalogTable>,
  out: Finding[],
): void {
  for (const need of indexNeeds(indexes)) {
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
