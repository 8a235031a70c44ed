/**
 * The Postgres implementation of the engine's `DocumentBuilder` port: it runs the plans of
 * src/model (resolution hops, build statements, keyset scans) against a connection pool.
 * Catalog types are read once at creation; statements are planned once per index.
 */
import type postgres from "postgres";
import type { IndexConfig, TableRef } from "../config/model.ts";
import type { Change } from "../engine/change.ts";
import type { BuiltDocument, DocKey, DocumentBuilder, Resolution } from "../engine/ports.ts";
import { type Logger, silentLogger } from "../ops/logger.ts";
import {
  boundsParams,
  type BuildPlan,
  buildPlan,
  eachUnpackedRow,
  pageParams,
  rangeParams,
} from "../model/build_plan.ts";
import type { ColumnCatalog } from "../model/column_types.ts";
import { documentId } from "../model/document_id.ts";
import { TextBuiltDocument } from "../engine/document_text.ts";
import { RelationNotATableError, UnknownIndexError } from "../model/errors.ts";
import { lookupSql } from "../model/lookup_sql.ts";
import {
  type RelationGraph,
  relationGraph,
  tableKey,
  tablesOfGraph,
} from "../model/relation_graph.ts";
import { type Lookup, resolveAll } from "../model/resolve_plan.ts";
import { loadColumnCatalog, relationsThatAreNotTables } from "./document_catalog.ts";
import { quoteTable } from "./identifiers.ts";
import { scanKeys } from "./snapshot_keys.ts";
import { inSnapshot } from "./snapshot_transaction.ts";
import { transientOnDisconnect } from "./transient_errors.ts";

/** Values per resolution lookup; larger batches take several (still per hop, not per change). */
export const LOOKUP_CHUNK = 10_000;

/**
 * Build and lookup statements run with the same text batch after batch: as named statements
 * each connection parses and plans them once, and a run is one round trip instead of two
 * (postgres.js describes an unnamed statement with parameters before binding it).
 */
const PREPARED = { prepare: true } as const;

/** Options of `createPostgresDocumentBuilder`. */
export interface DocumentBuilderOptions {
  readonly sql: postgres.Sql;
  readonly indexes: readonly IndexConfig[];
  /** Keys per build statement (default 500). */
  readonly chunkSize?: number;
  /** Build statements of one `build` call run at once, on separate connections (default 2). */
  readonly concurrency?: number;
  readonly logger?: Logger;
}

/** A DocumentBuilder that also lists every table its indexes read (for the publication). */
export type PostgresDocumentBuilder = DocumentBuilder & {
  tablesOf(): TableRef[];
  /** The relation graphs, for `flusso check` (replica identity needs). */
  graphs(): readonly RelationGraph[];
  buildPage: NonNullable<DocumentBuilder["buildPage"]>;
  pageBounds: NonNullable<DocumentBuilder["pageBounds"]>;
};

/** Reads the catalog, plans every index and returns the builder. */
export async function createPostgresDocumentBuilder(
  options: DocumentBuilderOptions,
): Promise<PostgresDocumentBuilder> {
  const { sql } = options;
  const logger = options.logger ?? silentLogger;
  const chunkSize = options.chunkSize ?? 500;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const indexes = new Map(options.indexes.map((i) => [i.name, i]));
  const graphs = options.indexes.map((i) => relationGraph(i.name, i.model));
  const tables = new Map<string, TableRef>();
  for (const g of graphs) for (const t of tablesOfGraph(g)) tables.set(tableKey(t), t);
  const catalog: ColumnCatalog = await loadColumnCatalog(sql, [...tables.values()]);
  // Changes arrive for tables only: any other relation would leave documents stale (and a
  // root's backfill ranges may group its rows by heap page, which only a table has).
  const [notTable] = await relationsThatAreNotTables(sql, [...tables.values()]);
  if (notTable) {
    const { table, kind } = notTable;
    const key = tableKey(table);
    const root = options.indexes.find((i) => tableKey(i.model.table) === key);
    const reader = root ??
      options.indexes.find((_, n) => tablesOfGraph(graphs[n]).some((t) => tableKey(t) === key))!;
    throw new RelationNotATableError(
      reader.name,
      `${table.schema}.${table.name}`,
      kind,
      root !== undefined,
    );
  }
  const plans = new Map<string, BuildPlan>(
    options.indexes.map((i) => [i.name, buildPlan(i, catalog)]),
  );
  const warned = new Set<string>();

  const indexOf = (name: string): IndexConfig => {
    const index = indexes.get(name);
    if (!index) throw new UnknownIndexError(name, [...indexes.keys()]);
    return index;
  };

  const lookup = async (l: Lookup) => {
    const text = lookupSql(l, catalog);
    const out: (string | null)[][] = [];
    for (let i = 0; i < l.values.length; i += LOOKUP_CHUNK) {
      const chunk = l.values.slice(i, i + LOOKUP_CHUNK);
      const arrays = l.match.map((_, c) => chunk.map((v) => v[c]));
      const rows = await sql.unsafe(text, arrays, PREPARED).values();
      // postgres@3.4.9 can yield a stray null row after a failed run of the same prepared
      // statement; a row is never null otherwise.
      for (const row of rows) if (row) out.push(row as (string | null)[]);
    }
    return out;
  };

  /** Runs `run` under the exported `snapshot` (in its own read-only transaction), or plainly. */
  const underSnapshot = async <T>(
    snapshot: string | undefined,
    run: (q: postgres.Sql | postgres.TransactionSql) => Promise<T>,
  ): Promise<T> => snapshot ? await inSnapshot(sql, snapshot, run) : await run(sql);

  const builder: PostgresDocumentBuilder = {
    tablesOf: () => [...tables.values()],
    graphs: () => graphs,

    async resolve(changes: readonly Change[]): Promise<Resolution> {
      const result = await resolveAll(graphs, changes, lookup);
      for (const m of result.missed) {
        const id = `${m.index}\0${tableKey(m.table)}`;
        if (warned.has(id)) continue;
        warned.add(id);
        logger.warn(
          "a delete or update arrived without the old values needed to find the old parent " +
            "document; it stays stale until its next change or a verify. Fix: ALTER TABLE " +
            `${quoteTable(m.table)} REPLICA IDENTITY FULL`,
          { index: m.index, table: `${m.table.schema}.${m.table.name}`, columns: m.columns },
        );
      }
      return { keys: result.keys, truncated: result.truncated, gone: result.gone };
    },

    async build(name: string, keys: readonly DocKey[]): Promise<BuiltDocument[]> {
      indexOf(name);
      const plan = plans.get(name)!;
      // Every key of one index has the same column count, so a one-column key is its own
      // map key; only composite keys need an encoding (this runs once per change).
      const mapKey = plan.keyColumns === 1
        ? (k: readonly unknown[]) => String(k[0])
        : (k: readonly unknown[]) => JSON.stringify(k.slice(0, plan.keyColumns));
      const unique = new Map<string, DocKey>();
      for (const k of keys) unique.set(mapKey(k), k);
      const distinct = [...unique.values()];
      // Document text by key; it stays text, as bytes (see engine/document_text.ts).
      const built = new Map<string, string | Uint8Array | null>();
      const runChunk = async (chunk: readonly DocKey[]) => {
        const arrays = Array.from({ length: plan.keyColumns }, (_, c) => chunk.map((k) => k[c]));
        // Raw: the documents stay UTF-8 bytes from the result row to the `_bulk` body.
        const rows = await sql.unsafe(
          plan.packedSql,
          [...arrays, ...plan.params] as never[],
          PREPARED,
        ).raw();
        // Stray null rows (see above) are skipped.
        eachUnpackedRow(name, rows, (key, document) => built.set(mapKey(key), document));
      };
      const chunks: DocKey[][] = [];
      for (let i = 0; i < distinct.length; i += chunkSize) {
        chunks.push(distinct.slice(i, i + chunkSize));
      }
      // A few chunks at once: Postgres builds each on its own backend, so cores add up.
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) await runChunk(chunks[next++]);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
      return distinct.map((key) => {
        const id = documentId(key);
        const json = built.get(mapKey(key));
        return json === undefined || json === null
          ? { index: name, key, id, document: null }
          : new TextBuiltDocument(name, key, id, json);
      });
    },

    absent(name: string, keys: readonly DocKey[]): BuiltDocument[] {
      indexOf(name);
      return keys.map((key) => ({ index: name, key, id: documentId(key), document: null }));
    },

    async buildPage(name, { after, limit, through, snapshot }) {
      indexOf(name);
      const plan = plans.get(name)!;
      const [text, params] = through === undefined
        ? [plan.packedPageSql, pageParams(plan, after, limit)]
        : [plan.packedRangeSql, rangeParams(plan, after, through, limit)];
      const rows = await underSnapshot(
        snapshot,
        (q) => q.unsafe(text, params as never[], PREPARED).raw(),
      );
      const keys: DocKey[] = [];
      const documents: BuiltDocument[] = [];
      eachUnpackedRow(name, rows, (key, document) => {
        keys.push(key);
        // A page row always has its document: the range scan keeps only live rows.
        if (document !== null) {
          documents.push(new TextBuiltDocument(name, key, documentId(key), document));
        }
      });
      return { keys, documents };
    },

    async pageBounds(name, { after, limit, pages, snapshot }) {
      indexOf(name);
      const plan = plans.get(name)!;
      const params = boundsParams(plan, after, limit, pages) as never[];
      const rows = await underSnapshot(
        snapshot,
        (q) => q.unsafe(plan.boundsSql, params, PREPARED).values(),
      );
      return rows.filter((row) => row).map((row) => row.slice(0, plan.keyColumns) as string[]);
    },

    async scanKeys(name, { after, limit, snapshot }) {
      const model = indexOf(name).model;
      return await scanKeys(sql, model.table, model.primaryKey, { after, limit, snapshot });
    },

    async estimateRows(name) {
      const table = indexOf(name).model.table;
      const [row] = await sql.unsafe<{ n: number }[]>(
        `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass($1)`,
        [quoteTable(table)],
      );
      if (row && row.n >= 0) return Math.round(row.n);
      // Never analyzed: count, but stop at a million rows (it is only for progress).
      const [counted] = await sql.unsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${quoteTable(table)} LIMIT 1000000) s`,
      );
      return counted?.n ?? 0;
    },
  };
  // A restart or network cut must make the engine retry, never stop: connection failures
  // become TransientSourceError.
  return {
    ...builder,
    resolve: (changes) => transientOnDisconnect("resolve", () => builder.resolve(changes)),
    build: (name, keys) => transientOnDisconnect(`build ${name}`, () => builder.build(name, keys)),
    scanKeys: (name, options) =>
      transientOnDisconnect(`scan ${name}`, () => builder.scanKeys(name, options)),
    buildPage: (name, options) =>
      transientOnDisconnect(`build page ${name}`, () => builder.buildPage(name, options)),
    estimateRows: (name) =>
      transientOnDisconnect(`estimate ${name}`, () => builder.estimateRows(name)),
  };
}
