/**
 * For `flusso check`: which tables' replica identity lacks columns that resolution needs in
 * the *old* tuple (foreign keys of child tables, left keys of junctions). Without them a
 * deleted or re-parented child cannot reach its old parent document (see resolve_plan.ts).
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";
import type { RelationGraph } from "../model/relation_graph.ts";
import { requiredOldColumns } from "../model/resolve_plan.ts";
import { quoteTable } from "./identifiers.ts";

/** One table whose deletes and re-parenting would not reach the old parent document. */
export interface ReplicaIdentityWarning {
  readonly table: TableRef;
  /** pg_class.relreplident: d(efault) n(othing) f(ull) i(ndex). */
  readonly identity: "default" | "nothing" | "full" | "index";
  /** Needed columns the old tuple will not carry. */
  readonly missing: readonly string[];
  /** Indexes whose documents are affected. */
  readonly indexes: readonly string[];
  /** The SQL that fixes it. */
  readonly fix: string;
}

const IDENTITY = { d: "default", n: "nothing", f: "full", i: "index" } as const;

/** The warnings for every table of `graphs` (tables that do not exist are skipped: check reports those). */
export async function replicaIdentityWarnings(
  sql: postgres.Sql,
  graphs: readonly RelationGraph[],
): Promise<ReplicaIdentityWarning[]> {
  const out: ReplicaIdentityWarning[] = [];
  for (const need of requiredOldColumns(graphs)) {
    const rows = await sql.unsafe<{ ident: keyof typeof IDENTITY; cols: string[] | null }[]>(
      `SELECT c.relreplident AS ident,
              (SELECT array_agg(a.attname::text)
                 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = c.oid
                  AND CASE c.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident
                      ELSE false END) AS cols
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [quoteTable(need.table)],
    );
    if (rows.length === 0) continue;
    const { ident, cols } = rows[0];
    if (ident === "f") continue;
    const present = new Set(cols ?? []);
    const missing = need.columns.filter((c) => !present.has(c));
    if (missing.length === 0) continue;
    out.push({
      table: need.table,
      identity: IDENTITY[ident],
      missing,
      indexes: need.indexes,
      fix: `ALTER TABLE ${quoteTable(need.table)} REPLICA IDENTITY FULL;`,
    });
  }
  return out;
}
