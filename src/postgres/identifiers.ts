/**
 * Quoting of SQL identifiers that come from config. Every table, schema and column name
 * reaches SQL through these functions, so a name can never be read as SQL.
 */
import type { TableRef } from "../config/model.ts";

/** Quotes one identifier: `my"col` → `"my""col"`. Rejects NUL, which Postgres cannot store. */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) {
    throw new RangeError(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a schema-qualified table: `"public"."users"`. */
export function quoteTable(table: TableRef): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/** Quotes a string literal for the few statements that cannot take parameters (replication commands). */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new RangeError(`literal contains a NUL byte`);
  return `'${value.replaceAll("'", "''")}'`;
}
