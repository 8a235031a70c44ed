/**
 * Planner statistics of the tables the config reads. Document builds are correlated
 * subqueries with ORDER BY … LIMIT; without column statistics Postgres guesses selectivities
 * and can walk a whole index per document (the example shop's customer document: 1.6–2.7 ms
 * instead of 0.17 ms). Right after a bulk load, before autovacuum analyzes, is when a first
 * backfill usually runs.
 */
import type { CatalogTable } from "../postgres/catalog.ts";
import { quoteTable } from "../postgres/identifiers.ts";
import type { Finding } from "./check_findings.ts";

/** Warnings for tables the config reads that hold data but have no planner statistics. */
export function checkStatistics(
  tables: ReadonlyMap<string, CatalogTable>,
  out: Finding[],
): void {
  for (const table of tables.values()) {
    if (!table.lacksStatistics) continue;
    out.push({
      severity: "warning",
      code: "statistics",
      message: `${table.table.schema}.${table.table.name} holds rows but has no planner ` +
        `statistics (never analyzed since it was filled): document builds may get plans many ` +
        `times slower than needed until autovacuum analyzes it`,
      sql: `ANALYZE ${quoteTable(table.table)};`,
    });
  }
}
