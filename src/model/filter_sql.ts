/**
 * SQL conditions for `filters`. Operands are bound as text parameters and cast to the
 * column's type (`$n::text::<type>`), never spliced. `raw` filters are spliced as written:
 * they are trusted operator config, like the SQL of a view; their unqualified column names
 * resolve to the filtered table first (it is the innermost FROM item).
 *
 * Semantics with NULLs: `neq` and `not_in` keep rows whose column is NULL ("not banned"
 * includes "no status"); every other comparison excludes them, as in SQL.
 */
import type { Filter, FilterValue, TableRef } from "../config/model.ts";
import { quoteIdent } from "../postgres/identifiers.ts";
import type { ColumnCatalog } from "./column_types.ts";
import { ModelShapeError } from "./errors.ts";
import { paramText, type SqlParams } from "./sql_params.ts";

const COMPARISONS = { lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;

/** The AND of `filters` on the row aliased `alias` of `table`, or `TRUE` when there are none. */
export function filtersSql(
  filters: readonly Filter[],
  alias: string,
  table: TableRef,
  catalog: ColumnCatalog,
  params: SqlParams,
  where: { readonly index: string; readonly path: string },
): string {
  if (filters.length === 0) return "TRUE";
  return filters.map((f) => `(${filterSql(f, alias, table, catalog, params, where)})`).join(
    " AND ",
  );
}

function filterSql(
  filter: Filter,
  alias: string,
  table: TableRef,
  catalog: ColumnCatalog,
  params: SqlParams,
  where: { readonly index: string; readonly path: string },
): string {
  if ("raw" in filter) return filter.raw;
  const type = catalog.column(table, filter.column);
  const col = `${alias}.${quoteIdent(filter.column)}`;
  const cast = type.array ? `${type.castType}[]` : type.castType;
  const one = (v: FilterValue | undefined): string => {
    if (v === undefined || v === null || Array.isArray(v)) {
      throw new ModelShapeError(
        where.index,
        `filter on ${JSON.stringify(filter.column)} at ${where.path || "the root"}`,
        `op ${filter.op} needs a single non-null value`,
      );
    }
    return `${params.add(paramText(v as string | number | boolean))}::text::${cast}`;
  };
  const list = (v: FilterValue | undefined, n?: number): string[] => {
    if (!Array.isArray(v) || (n !== undefined && v.length !== n)) {
      throw new ModelShapeError(
        where.index,
        `filter on ${JSON.stringify(filter.column)} at ${where.path || "the root"}`,
        `op ${filter.op} needs a list${n === undefined ? "" : ` of ${n} values`}`,
      );
    }
    return v.map((x) => (x === null ? "" : paramText(x)));
  };
  switch (filter.op) {
    case "eq":
      return filter.value === null || filter.value === undefined
        ? `${col} IS NULL`
        : `${col} = ${one(filter.value)}`;
    case "neq":
      return filter.value === null || filter.value === undefined
        ? `${col} IS NOT NULL`
        : `${col} IS DISTINCT FROM ${one(filter.value)}`;
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return `${col} ${COMPARISONS[filter.op]} ${one(filter.value)}`;
    case "like":
      return `(${col})::text LIKE ${params.add(paramText(asScalar(filter.value)))}`;
    case "ilike":
      return `(${col})::text ILIKE ${params.add(paramText(asScalar(filter.value)))}`;
    case "in":
      return `${col} = ANY(${params.add(list(filter.value))}::text[]::${type.castType}[])`;
    case "not_in":
      return `(${col} IS NULL OR ${col} <> ALL(${
        params.add(list(filter.value))
      }::text[]::${type.castType}[]))`;
    case "between": {
      const [lo, hi] = list(filter.value, 2);
      return `${col} BETWEEN ${params.add(lo)}::text::${cast} AND ${params.add(hi)}::text::${cast}`;
    }
    case "is_null":
      return `${col} IS NULL`;
    case "is_not_null":
      return `${col} IS NOT NULL`;
  }
}

function asScalar(v: FilterValue | undefined): string | number | boolean {
  if (v === undefined || v === null || Array.isArray(v)) return "";
  return v as string | number | boolean;
}
