/**
 * Reads, once at startup, the types of every column of the tables the indexes read, reducing
 * domains to their base types and arrays to their element types.
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";
import {
  type ColumnCatalog,
  columnCatalog,
  type ColumnType,
  kindOfType,
} from "../model/column_types.ts";
import { tableKey } from "../model/relation_graph.ts";
import { notATable } from "./catalog.ts";

interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typcategory: string;
  formatted: string;
}

/** The column catalog of `tables` (missing tables simply have no entry: lookups then throw). */
export async function loadColumnCatalog(
  sql: postgres.Sql,
  tables: readonly TableRef[],
): Promise<ColumnCatalog> {
  const columns = await sql.unsafe<
    { nspname: string; relname: string; attname: string; typid: number }[]
  >(
    `SELECT n.nspname, c.relname, a.attname, a.atttypid::int AS typid
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const types = new Map<number, TypeRow>();
  let wanted = new Set(columns.map((c) => c.typid));
  // Domains point at base types and arrays at elements: load until closed (a few rounds).
  while (wanted.size > 0) {
    const rows = await sql.unsafe<TypeRow[]>(
      `SELECT oid::int AS oid, typname, typtype, typbasetype::int AS typbasetype,
              typelem::int AS typelem, typcategory, format_type(oid, NULL) AS formatted
       FROM pg_type WHERE oid = ANY($1::int[])`,
      [[...wanted].map(String)],
    );
    wanted = new Set();
    for (const row of rows) types.set(row.oid, row);
    for (const row of rows) {
      for (const next of [row.typbasetype, row.typelem]) {
        if (next !== 0 && !types.has(next)) wanted.add(next);
      }
    }
  }
  const base = (oid: number): TypeRow => {
    let t = types.get(oid)!;
    while (t.typtype === "d" && types.has(t.typbasetype)) t = types.get(t.typbasetype)!;
    return t;
  };
  const tablesMap = new Map<string, Map<string, ColumnType>>();
  for (const c of columns) {
    const key = tableKey({ schema: c.nspname, name: c.relname });
    const map = tablesMap.get(key) ?? new Map<string, ColumnType>();
    tablesMap.set(key, map);
    const own = types.get(c.typid)!;
    const b = base(c.typid);
    const isArray = b.typcategory === "A" && b.typelem !== 0;
    if (isArray) {
      const element = types.get(b.typelem)!;
      map.set(c.attname, {
        castType: element.formatted,
        kind: kindOfType(base(element.oid).typname),
        array: true,
      });
    } else {
      map.set(c.attname, { castType: own.formatted, kind: kindOfType(b.typname), array: false });
    }
  }
  return columnCatalog(tablesMap);
}

/**
 * Those of `tables` that are views, materialized views or foreign tables, each with what it
 * is; plain and partitioned tables (and missing relations) are not listed.
 */
export async function relationsThatAreNotTables(
  sql: postgres.Sql,
  tables: readonly TableRef[],
): Promise<{ table: TableRef; kind: string }[]> {
  if (tables.length === 0) return [];
  const rows = await sql.unsafe<{ nspname: string; relname: string; relkind: string }[]>(
    `SELECT n.nspname, c.relname, c.relkind::text AS relkind
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.flatMap((r) => {
    const kind = notATable(r.relkind);
    return kind === undefined ? [] : [{ table: { schema: r.nspname, name: r.relname }, kind }];
  });
}
