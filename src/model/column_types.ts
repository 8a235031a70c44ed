/**
 * What the SQL plans need to know about the database's columns: the type to cast bound values
 * to, and how to turn a value into JSON. Read once from the catalog at startup
 * (`src/postgres/document_catalog.ts`); plain data here so plans stay pure and testable.
 */
import type { TableRef } from "../config/model.ts";
import { UnknownColumnError, UnknownTableError } from "./errors.ts";
import { tableKey } from "./relation_graph.ts";

/**
 * How a value becomes JSON. Domains are reduced to their base type. `text` covers every type
 * whose JSON form is its text output (text, varchar, citext, enums, uuid, inet, interval, …).
 */
export type ValueKind =
  | "int2"
  | "int4"
  | "int8"
  | "numeric"
  | "float4"
  | "float8"
  | "bool"
  | "timestamptz"
  | "timestamp"
  | "date"
  | "bytea"
  | "json"
  | "jsonb"
  | "point"
  | "text";

/** One column's type. */
export interface ColumnType {
  /** The SQL type name to cast to (`bigint`, `character varying`, `public.mood`); for arrays the element type. */
  readonly castType: string;
  /** The JSON conversion; for arrays that of the element. */
  readonly kind: ValueKind;
  /** An array column (any number of dimensions): a multi-valued field. */
  readonly array: boolean;
}

/** Column types of the tables the indexes read. */
export interface ColumnCatalog {
  /** The type of `table.column`; throws UnknownTableError / UnknownColumnError. */
  column(table: TableRef, column: string): ColumnType;
}

/** A catalog over plain maps: `tableKey(table)` → column → type. */
export function columnCatalog(
  tables: ReadonlyMap<string, ReadonlyMap<string, ColumnType>>,
): ColumnCatalog {
  return {
    column(table, column) {
      const columns = tables.get(tableKey(table));
      const name = `${table.schema}.${table.name}`;
      if (!columns) throw new UnknownTableError(name);
      const type = columns.get(column);
      if (!type) throw new UnknownColumnError(name, column, [...columns.keys()]);
      return type;
    },
  };
}

/** The kind of a base type by its name in pg_type (after domains are resolved). */
export function kindOfType(typname: string): ValueKind {
  switch (typname) {
    case "int2":
    case "int4":
    case "int8":
    case "numeric":
    case "float4":
    case "float8":
    case "bool":
    case "timestamptz":
    case "timestamp":
    case "date":
    case "bytea":
    case "json":
    case "jsonb":
    case "point":
      return typname;
    default:
      return "text";
  }
}
