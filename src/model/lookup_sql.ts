/**
 * SQL of one resolution hop: the distinct link values of the rows whose `match` columns equal
 * one of a batch of values. Keys travel as text arrays cast to the columns' types, so the
 * comparison uses the column's own type (and its index):
 *
 *   SELECT DISTINCT format('%s', x."customer_id") FROM "public"."orders" x
 *   WHERE x."id" = ANY($1::text[]::bigint[])
 *
 * Composite matches join against `unnest($1::text[]::t1[], $2::text[]::t2[])`. Results are
 * each column's text output (`format('%s', …)` is the type's output function, the same text
 * pgoutput sends — unlike `bool::text`, which says `true` where pgoutput says `t`).
 */
import { quoteIdent, quoteTable } from "../postgres/identifiers.ts";
import type { ColumnCatalog } from "./column_types.ts";
import type { Lookup } from "./resolve_plan.ts";

/** The statement of `lookup` (its values are bound as one text array per match column). */
export function lookupSql(lookup: Omit<Lookup, "values">, catalog: ColumnCatalog): string {
  const select = lookup.select.map((c) => `format('%s', x.${quoteIdent(c)})`).join(", ");
  const types = lookup.match.map((c) => catalog.column(lookup.table, c).castType);
  const from = `${quoteTable(lookup.table)} x`;
  if (lookup.match.length === 1) {
    return `SELECT DISTINCT ${select} FROM ${from} WHERE x.${
      quoteIdent(lookup.match[0])
    } = ANY($1::text[]::${types[0]}[])`;
  }
  const cols = lookup.match.map((c) => `x.${quoteIdent(c)}`).join(", ");
  const arrays = types.map((t, i) => `$${i + 1}::text[]::${t}[]`).join(", ");
  return `SELECT DISTINCT ${select} FROM ${from} WHERE (${cols}) IN (SELECT * FROM unnest(${arrays}))`;
}
