/**
 * Catalog facts `flusso check` compares the config with: the columns of the tables an index
 * reads (types with domains resolved and arrays unwrapped), their keys and replica
 * identity, and the server settings logical replication needs. Read-only queries; table and
 * schema names are bound as parameters.
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";

/** One column, its type reduced to what matters for indexing. */
export interface CatalogColumn {
  readonly name: string;
  /** The declared type as Postgres prints it: `bigint`, `text[]`, `public.mood`. */
  readonly declared: string;
  /** The base type name after resolving domains and array elements (`int8`, `citext`, …). */
  readonly base: string;
  /** An array (of `base`): a multi-valued field. */
  readonly array: boolean;
  /** `base` is an enum type. */
  readonly isEnum: boolean;
  /** The domain the column is declared with, if any. */
  readonly domain?: string;
}

/**
 * What a relation that is not a table is called, by `pg_class.relkind` (`v`, `m`, `f`), or
 * undefined for a plain or partitioned table, the only relations a publication can hold.
 */
export function notATable(kind: string): string | undefined {
  return NOT_TABLES[kind];
}

const NOT_TABLES: Readonly<Record<string, string>> = {
  v: "view",
  m: "materialized view",
  f: "foreign table",
};

/** One table as the check needs it. */
export interface CatalogTable {
  readonly table: TableRef;
  /** `r` table, `p` partitioned table, `v` view, `m` materialized view, `f` foreign table. */
  readonly kind: string;
  readonly columns: ReadonlyMap<string, CatalogColumn>;
  /** Primary key columns, in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /** Column lists of unique indexes (including the primary key). */
  readonly uniqueKeys: readonly (readonly string[])[];
  /** Column lists of every index on plain columns (no expressions), in index order. */
  readonly indexes: readonly (readonly string[])[];
  /**
   * The table holds data but Postgres has no column statistics for it (never analyzed, or
   * analyzed while empty): the planner guesses, and may pick plans far slower than needed.
   */
  readonly lacksStatistics: boolean;
  /** `d` default (primary key), `n` nothing, `f` full, `i` index. */
  readonly replicaIdentity: "d" | "n" | "f" | "i";
  /** Columns the old tuple of an UPDATE/DELETE carries (every column for `f`). */
  readonly replicaIdentityColumns: readonly string[];
}

/** Server and role facts. */
export interface ServerFacts {
  readonly walLevel: string;
  readonly serverVersion: number;
  readonly role: string;
  readonly replication: boolean;
  readonly superuser: boolean;
}

/** The key of a table in the maps below: `schema.name`, JSON-quoted parts. */
export function catalogKey(table: TableRef): string {
  return `${JSON.stringify(table.schema)}.${JSON.stringify(table.name)}`;
}

/** wal_level, server version and the current role's replication rights. */
export async function serverFacts(sql: postgres.Sql): Promise<ServerFacts> {
  const [row] = await sql<
    { wal_level: string; version: number; role: string; replication: boolean; superuser: boolean }[]
  >`
    SELECT current_setting('wal_level') AS wal_level,
           current_setting('server_version_num')::int AS version,
           r.rolname::text AS role, r.rolreplication AS replication, r.rolsuper AS superuser
      FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`;
  return {
    walLevel: row.wal_level,
    serverVersion: row.version,
    role: row.role,
    replication: row.replication,
    superuser: row.superuser,
  };
}

interface TypeRow {
  oid: number;
  typname: string;
  nspname: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typcategory: string;
}

/** The tables among `tables` that exist, with their columns and keys. */
export async function readTables(
  sql: postgres.Sql,
  tables: readonly TableRef[],
): Promise<Map<string, CatalogTable>> {
  if (tables.length === 0) return new Map();
  const schemas = tables.map((t) => t.schema);
  const names = tables.map((t) => t.name);
  const rels = await sql<
    {
      oid: number;
      schema: string;
      name: string;
      kind: string;
      ident: string;
      unanalyzed: boolean;
    }[]
  >`
    SELECT c.oid::int8::float8 AS oid, n.nspname::text AS schema, c.relname::text AS name,
           c.relkind::text AS kind, c.relreplident::text AS ident,
           c.relkind IN ('r', 'm') AND pg_catalog.pg_relation_size(c.oid) > 0
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stats s
                              WHERE s.schemaname = n.nspname AND s.tablename = c.relname)
             AS unanalyzed
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN unnest(${schemas}::text[], ${names}::text[]) AS w(schema, name)
        ON w.schema = n.nspname AND w.name = c.relname
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')`;
  if (rels.length === 0) return new Map();
  const oids = rels.map((r) => r.oid);
  const columns = await sql<{ rel: number; name: string; declared: string; type: number }[]>`
    SELECT a.attrelid::int8::float8 AS rel, a.attname::text AS name,
           format_type(a.atttypid, a.atttypmod) AS declared, a.atttypid::int8::float8 AS type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = ANY(${oids}::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attrelid, a.attnum`;
  const indexes = await sql<
    {
      rel: number;
      primary: boolean;
      unique: boolean;
      ident: boolean;
      plain: boolean;
      cols: string[];
    }[]
  >`
    SELECT i.indrelid::int8::float8 AS rel, i.indisprimary AS primary, i.indisunique AS unique,
           i.indisreplident AS ident, i.indexprs IS NULL AS plain,
           array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  ORDER BY k.ord) AS cols
      FROM pg_catalog.pg_index i
     WHERE i.indrelid = ANY(${oids}::oid[]) AND i.indpred IS NULL`;
  const types = await resolveTypes(sql, [...new Set(columns.map((c) => c.type))]);

  const out = new Map<string, CatalogTable>();
  for (const rel of rels) {
    const cols = new Map<string, CatalogColumn>();
    for (const c of columns.filter((c) => c.rel === rel.oid)) {
      cols.set(c.name, { name: c.name, declared: c.declared, ...types.get(c.type)! });
    }
    const own = indexes.filter((i) => i.rel === rel.oid);
    const primaryKey = own.find((i) => i.primary)?.cols ?? [];
    const ident = rel.ident as CatalogTable["replicaIdentity"];
    const identityColumns = ident === "f"
      ? [...cols.keys()]
      : ident === "i"
      ? own.find((i) => i.ident)?.cols ?? []
      : ident === "d"
      ? primaryKey
      : [];
    const table = { schema: rel.schema, name: rel.name };
    out.set(catalogKey(table), {
      table,
      kind: rel.kind,
      columns: cols,
      primaryKey,
      uniqueKeys: own.filter((i) => i.unique).map((i) => i.cols),
      indexes: own.filter((i) => i.plain).map((i) => i.cols),
      lacksStatistics: rel.unanalyzed,
      replicaIdentity: ident,
      replicaIdentityColumns: identityColumns,
    });
  }
  return out;
}

/** Names of the tables and views in `schema` (for "did you mean" suggestions). */
export async function tableNames(sql: postgres.Sql, schema: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname::text AS name FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;
  return rows.map((r) => r.name);
}

/** Reduces type oids to base types: domains to their base, arrays to their element. */
async function resolveTypes(
  sql: postgres.Sql,
  oids: number[],
): Promise<Map<number, Omit<CatalogColumn, "name" | "declared">>> {
  const rows = new Map<number, TypeRow>();
  let wanted = oids;
  // Domains over arrays over domains… are rare; a few rounds reach every base type.
  for (let round = 0; round < 6 && wanted.length > 0; round++) {
    const fetched = await sql<TypeRow[]>`
      SELECT t.oid::int8::float8 AS oid, t.typname::text AS typname, n.nspname::text AS nspname,
             t.typtype::text AS typtype, t.typbasetype::int8::float8 AS typbasetype,
             t.typelem::int8::float8 AS typelem, t.typcategory::text AS typcategory
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE t.oid = ANY(${wanted}::oid[])`;
    for (const row of fetched) rows.set(row.oid, row);
    wanted = fetched.flatMap((r) => [
      ...(r.typtype === "d" ? [r.typbasetype] : []),
      ...(r.typcategory === "A" && r.typelem ? [r.typelem] : []),
    ]).filter((oid) => !rows.has(oid));
  }
  const out = new Map<number, Omit<CatalogColumn, "name" | "declared">>();
  for (const oid of oids) {
    let row = rows.get(oid);
    let array = false;
    let domain: string | undefined;
    for (let guard = 0; row && guard < 10; guard++) {
      if (row.typtype === "d") {
        domain ??= row.nspname === "pg_catalog" ? row.typname : `${row.nspname}.${row.typname}`;
        row = rows.get(row.typbasetype);
      } else if (row.typcategory === "A" && row.typelem) {
        array = true;
        row = rows.get(row.typelem);
      } else break;
    }
    out.set(oid, {
      base: row?.typname ?? "unknown",
      array,
      isEnum: row?.typtype === "e",
      ...(domain ? { domain } : {}),
    });
  }
  return out;
}
