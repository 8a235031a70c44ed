/**
 * Keyset pagination of a root table's primary keys for backfill: one page at a time, in the
 * key columns' natural order, after a given key, under a given exported snapshot (or a fresh
 * REPEATABLE READ one). Memory is bounded by the page size; a crash resumes after the last key.
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";
import { quoteIdent, quoteLiteral, quoteTable } from "./identifiers.ts";

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
): { text: string; parameters: string[] } {
  if (primaryKey.length === 0) throw new RangeError(`no primary key given for ${quoteTable(table)}`);
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
  // A row comparison uses the index on the key; parameters take the columns' types.
  const where = options.after
    ? `WHERE (${columns.join(", ")}) > (${columns.map((_, i) => `$${i + 1}`).join(", ")})`
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
  const { text, parameters } = scanKeysQuery(table, primaryKey, options);
  const rows = await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    if (options.snapshot) await tx.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(options.snapshot)}`);
    return await tx.unsafe<Record<string, string>[]>(text, parameters);
  });
  return rows.map((row) => primaryKey.map((_, i) => row[`k${i}`]));
}
