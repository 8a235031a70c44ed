/**
 * Keyset pagination of a root table's primary keys for backfill: one page at a time, in the
 * key columns' natural order, after a given key, under a given exported snapshot (or a fresh
 * REPEATABLE READ one). Memory is bounded by the page size; a crash resumes after the last key.
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";
import { quoteIdent, quoteTable } from "./identifiers.ts";
import { inSnapshot } from "./snapshot_transaction.ts";

/** Options of `scanKeys`. */
export interface ScanKeysOptions {
  /** Return keys strictly after this one (each column's text output, in key order). */
  readonly after?: readonly string[];
  /** Page size. */
  readonly limit: number;
  /** An exported snapshot name (`pg_export_snapshot()`), to read as of the slot's start. */
  readonly snapshot?: string;
}

/** The SELECT and its parameters for one page (exported for tests and EXPLAIN). */
export function scanKeysQuery(
  table: TableRef,
  primaryKey: readonly string[],
  options: ScanKeysOptions,
  columnTypes?: readonly string[],
): { text: string; parameters: string[] } {
  if (primaryKey.length === 0) {
    throw new RangeError(`no primary key given for ${quoteTable(table)}`);
  }
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
  }
  if (options.after && options.after.length !== primaryKey.length) {
    throw new RangeError(
      `after has ${options.after.length} values for a ${primaryKey.length}-column key`,
    );
  }
  const columns = primaryKey.map(quoteIdent);
  // format('%s') is the type's text output, the same text pgoutput sends.
  const select = columns.map((c, i) => `format('%s', ${c}) AS k${i}`).join(", ");
  const parameters = options.after ? [...options.after] : [];
  // A row comparison uses the index on the key. Parameters travel as text and are cast to
  // each column's type in SQL, so the driver never re-serialises them (it would turn the
  // bool text 't' into false).
  if (options.after && columnTypes?.length !== primaryKey.length) {
    throw new RangeError("scanKeysQuery needs the key columns' types to page after a key");
  }
  const where = options.after
    ? `WHERE (${columns.join(", ")}) > (${
      columns.map((_, i) => `$${i + 1}::text::${columnTypes![i]}`).join(", ")
    })`
    : "";
  const text = `SELECT ${select} FROM ${quoteTable(table)} ${where} ORDER BY ${
    columns.join(", ")
  } LIMIT ${options.limit}`;
  return { text, parameters };
}

/**
 * One page of keys (each a list of text values in `primaryKey` order), after `options.after`,
 * in key order; an empty page means the scan is complete.
 */
export async function scanKeys(
  sql: postgres.Sql,
  table: TableRef,
  primaryKey: readonly string[],
  options: ScanKeysOptions,
): Promise<string[][]> {
  const rows = await inSnapshot(sql, options.snapshot, async (tx) => {
    const types = options.after ? await keyColumnTypes(tx, table, primaryKey) : undefined;
    const { text, parameters } = scanKeysQuery(table, primaryKey, options, types);
    // Named and cached per connection: every page runs the same text (see document_builder.ts).
    return await tx.unsafe<Record<string, string>[]>(text, parameters, { prepare: true });
  });
  return rows.map((row) => primaryKey.map((_, i) => row[`k${i}`]));
}

/** Raised when a key column does not exist in the table. */
export class KeyColumnError extends Error {
  constructor(table: TableRef, column: string) {
    super(
      `column ${quoteIdent(column)} of primary_key does not exist in ${quoteTable(table)}: ` +
        `fix primary_key in the index's schema file`,
    );
    this.name = "KeyColumnError";
  }
}

/** The SQL type names (`format_type`) of the key columns, in key order. */
async function keyColumnTypes(
  sql: postgres.TransactionSql,
  table: TableRef,
  primaryKey: readonly string[],
): Promise<string[]> {
  const rows = await sql<{ attname: string; type: string }[]>`
    SELECT a.attname::text AS attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = (quote_ident(${table.schema}) || '.' || quote_ident(${table.name}))::regclass
       AND a.attnum > 0 AND NOT a.attisdropped`;
  const byName = new Map(rows.map((r) => [r.attname, r.type]));
  return primaryKey.map((column) => {
    const type = byName.get(column);
    if (!type) throw new KeyColumnError(table, column);
    return type;
  });
}
