/**
 * The publication that decides which tables' changes the slot streams. flusso creates or
 * extends it when `manage_publication` allows; otherwise it prints the exact SQL for the
 * operator to run.
 */
import type postgres from "postgres";
import type { TableRef } from "../config/model.ts";
import type { Logger } from "../ops/logger.ts";
import { quoteIdent, quoteTable } from "./identifiers.ts";

/** What the catalog says about a publication. */
export interface PublicationInfo {
  readonly name: string;
  readonly allTables: boolean;
  /** Tables it publishes (every table when `allTables`). */
  readonly tables: readonly TableRef[];
  /** Published operations; flusso needs insert, update, delete and truncate. */
  readonly operations: { insert: boolean; update: boolean; delete: boolean; truncate: boolean };
}

/** The publication, or undefined when it does not exist. */
export async function inspectPublication(
  sql: postgres.Sql,
  name: string,
): Promise<PublicationInfo | undefined> {
  const rows = await sql<{
    puballtables: boolean;
    pubinsert: boolean;
    pubupdate: boolean;
    pubdelete: boolean;
    pubtruncate: boolean;
  }[]>`
    SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
      FROM pg_catalog.pg_publication WHERE pubname = ${name}`;
  if (!rows[0]) return undefined;
  const tables = await sql<{ schemaname: string; tablename: string }[]>`
    SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables
     WHERE pubname = ${name} ORDER BY 1, 2`;
  return {
    name,
    allTables: rows[0].puballtables,
    tables: tables.map((t) => ({ schema: t.schemaname, name: t.tablename })),
    operations: {
      insert: rows[0].pubinsert,
      update: rows[0].pubupdate,
      delete: rows[0].pubdelete,
      truncate: rows[0].pubtruncate,
    },
  };
}

/** The SQL that creates the publication over `tables`. */
export function createPublicationSql(name: string, tables: readonly TableRef[]): string {
  return `CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables.map(quoteTable).join(", ")};`;
}

/** The SQL that adds `tables` to the publication. */
export function extendPublicationSql(name: string, tables: readonly TableRef[]): string {
  return `ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${tables.map(quoteTable).join(", ")};`;
}

/** Raised when the publication is missing and flusso may not create it. */
export class PublicationMissingError extends Error {
  readonly sql: string;
  constructor(name: string, sql: string) {
    super(
      `publication "${name}" does not exist and [source] manage_publication is false. ` +
        `Create it (as a table owner or superuser), then start flusso again:\n  ${sql}`,
    );
    this.name = "PublicationMissingError";
    this.sql = sql;
  }
}

const key = (t: TableRef) => `${t.schema}\u0000${t.name}`;

/** Tables of `wanted` that the publication does not cover. */
export function missingTables(info: PublicationInfo, wanted: readonly TableRef[]): TableRef[] {
  if (info.allTables) return [];
  const have = new Set(info.tables.map(key));
  const seen = new Set<string>();
  return wanted.filter((t) => {
    const k = key(t);
    if (have.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Makes sure the publication exists and covers `tables`. With `manage`, creates or extends it;
 * without, throws (missing) or warns (incomplete) with the exact SQL to run.
 */
export async function ensurePublication(
  sql: postgres.Sql,
  name: string,
  tables: readonly TableRef[],
  manage: boolean,
  logger: Logger,
): Promise<PublicationInfo> {
  const info = await inspectPublication(sql, name);
  if (!info) {
    const statement = createPublicationSql(name, tables);
    if (!manage) {
      logger.error("publication missing; run this SQL", { publication: name, sql: statement });
      throw new PublicationMissingError(name, statement);
    }
    await sql.unsafe(statement);
    logger.info("created publication", { publication: name, sql: statement });
    return (await inspectPublication(sql, name))!;
  }
  const missing = missingTables(info, tables);
  if (missing.length > 0) {
    const statement = extendPublicationSql(name, missing);
    if (!manage) {
      logger.warn("publication does not cover every table; their changes are not captured", {
        publication: name,
        sql: statement,
      });
      return info;
    }
    await sql.unsafe(statement);
    logger.info("extended publication", { publication: name, sql: statement });
    return (await inspectPublication(sql, name))!;
  }
  const ops = info.operations;
  if (!ops.insert || !ops.update || !ops.delete || !ops.truncate) {
    logger.warn("publication does not publish every operation flusso needs", {
      publication: name,
      sql: `ALTER PUBLICATION ${
        quoteIdent(name)
      } SET (publish = 'insert, update, delete, truncate');`,
    });
  }
  return info;
}

/** Drops the publication if it exists; returns whether it existed. */
export async function dropPublication(sql: postgres.Sql, name: string): Promise<boolean> {
  const info = await inspectPublication(sql, name);
  if (!info) return false;
  await sql.unsafe(`DROP PUBLICATION ${quoteIdent(name)}`);
  return true;
}
