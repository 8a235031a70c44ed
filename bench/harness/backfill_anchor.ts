/**
 * The backfill anchor: Postgres building the same documents alone, with nothing else to do —
 * `COPY (<the index's document query over every root key>) TO STDOUT` streamed to /dev/null
 * by psql. The document query is flusso's own build statement (src/model/build_plan.ts), with
 * its key-array input replaced by a scan of the root table's keys and its parameters inlined
 * as literals (COPY takes no parameters). So the anchor differs from flusso's backfill only
 * in what flusso adds: key paging, chunked round trips, JSON parsing, bulk requests.
 */
import { join } from "node:path";
import process from "node:process";
import type postgres from "postgres";
import type { IndexConfig } from "../../src/config/model.ts";
import { documentFromText } from "../../src/config/load.ts";
import { buildPlan } from "../../src/model/build_plan.ts";
import { columnCatalog, type ColumnType, kindOfType } from "../../src/model/column_types.ts";
import { tableKey } from "../../src/model/relation_graph.ts";
import type { ParamValue } from "../../src/model/sql_params.ts";
import { quoteIdent, quoteLiteral, quoteTable } from "../../src/postgres/identifiers.ts";
import { spawnMeasured } from "./process_stats.ts";

/** Raised when the document query cannot be derived or COPY fails. */
export class BackfillAnchorError extends Error {
  constructor(what: string, detail: string) {
    super(`backfill anchor: ${what}: ${detail}`);
    this.name = "BackfillAnchorError";
  }
}

/** Reads the column types of every user table, the way flusso's catalog does. */
export async function readColumnCatalog(sql: postgres.Sql) {
  const rows = await sql<
    { s: string; t: string; col: string; arr: boolean; cast_type: string; base: string }[]
  >`
    WITH cols AS (
      SELECT n.nspname AS s, c.relname AS t, a.attname AS col, ty.typcategory = 'A' AS arr,
             CASE WHEN ty.typcategory = 'A' THEN ty.typelem ELSE ty.oid END AS elem
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type ty ON ty.oid = a.atttypid
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
        AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
    SELECT s, t, col, arr, format_type(elem, NULL) AS cast_type,
           (SELECT bt.typname FROM pg_type e
              JOIN pg_type bt ON bt.oid = CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END
            WHERE e.oid = cols.elem) AS base
    FROM cols`;
  const tables = new Map<string, Map<string, ColumnType>>();
  for (const r of rows) {
    const key = tableKey({ schema: r.s, name: r.t });
    if (!tables.has(key)) tables.set(key, new Map());
    tables.get(key)!.set(r.col, { castType: r.cast_type, kind: kindOfType(r.base), array: r.arr });
  }
  return columnCatalog(tables);
}

function literal(value: ParamValue): string {
  if (value === null) return "NULL";
  if (typeof value === "string") return quoteLiteral(value);
  return `ARRAY[${value.map(quoteLiteral).join(", ")}]::text[]`;
}

/**
 * The full-table document query of one index, from its schema file text: flusso's build
 * statement with `unnest($1::text[], …)` replaced by the root table's keys.
 */
export async function documentQuery(
  sql: postgres.Sql,
  index: string,
  schemaText: string,
): Promise<string> {
  const model = documentFromText(`${index}.schema.yml`, schemaText);
  if (Array.isArray(model)) {
    throw new BackfillAnchorError(`schema of ${index}`, model.map(String).join("; "));
  }
  const config: IndexConfig = {
    name: index,
    enabled: true,
    onError: "stop",
    sink: "search",
    model,
  };
  const plan = buildPlan(config, await readColumnCatalog(sql));
  const unnest = /FROM unnest\(([^)]*)\) AS k\(([^)]*)\)/;
  const match = unnest.exec(plan.sql);
  if (!match) {
    throw new BackfillAnchorError(`build plan of ${index}`, "no unnest(...) key input found");
  }
  const keys = model.primaryKey.map((c, i) => `r.${quoteIdent(c)}::text AS _fl_k${i + 1}`);
  let query = plan.sql.replace(
    unnest,
    `FROM (SELECT ${keys.join(", ")} FROM ${quoteTable(model.table)} r) AS k(${match[2]})`,
  );
  query = query.replace(/\$(\d+)\b/g, (all, n: string) => {
    const i = Number(n) - plan.keyColumns - 1;
    if (i < 0) throw new BackfillAnchorError(`build plan of ${index}`, `key parameter ${all} left`);
    return literal(plan.params[i]);
  });
  // An inner join drops the rows filters or soft-delete exclude (the build statement returns
  // them as NULL documents, i.e. deletes, which a backfill does not write).
  return query.replace(/\nLEFT JOIN /, "\nJOIN ");
}

/** The anchor's measurement. */
export interface CopyResult {
  readonly seconds: number;
}

/** Times `COPY (query) TO STDOUT` through psql into /dev/null. */
export async function copyToDevNull(
  binDir: string,
  url: string,
  query: string,
): Promise<CopyResult> {
  const child = spawnMeasured(
    join(binDir, "psql"),
    ["-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", `COPY (${query}) TO STDOUT`],
    // JIT off: over a whole table the plan's cost triggers JIT with inlining and optimisation,
    // whose compile time would make the anchor slower than Postgres at its best.
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PGOPTIONS: "-c jit=off" } },
  );
  let stderr = "";
  child.child.stderr?.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const { code, endedAt } = await child.exited;
  if (code !== 0) throw new BackfillAnchorError("COPY", stderr.trim().slice(0, 2000));
  return { seconds: (endedAt - child.startedAt) / 1000 };
}
