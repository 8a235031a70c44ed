/**
 * What `flusso check` finds when it compares a loaded config with a database: tables,
 * columns, keys and types that do not exist or do not match, publication gaps and replica
 * identities that keep deletes from reaching the old parent, and server settings. Pure:
 * takes the catalog facts, returns findings (each an error or a warning, with SQL to fix
 * it when SQL can).
 */
import type {
  Config,
  DocumentModel,
  Field,
  Filter,
  IndexConfig,
  TableRef,
} from "../config/model.ts";
import { nearest } from "../config/suggest.ts";
import { type RelationGraph, relationGraph, tablesOfGraph } from "../model/relation_graph.ts";
import { requiredOldColumns } from "../model/resolve_plan.ts";
import { catalogKey, type CatalogTable, notATable, type ServerFacts } from "../postgres/catalog.ts";
import { quoteIdent, quoteTable } from "../postgres/identifiers.ts";
import {
  createPublicationSql,
  extendPublicationSql,
  missingTables,
  type PublicationInfo,
} from "../postgres/publication.ts";
import { expectedTypes, isNumeric, jsonish, typeVerdict } from "./check_types.ts";
import { checkIndexes } from "./check_indexes.ts";
import { checkStatistics } from "./check_statistics.ts";

/** One thing `flusso check` found. */
export interface Finding {
  readonly severity: "error" | "warning";
  /** Stable kind: missing_table, missing_column, type_mismatch, key, publication, replica_identity, index, statistics, wal_level, replication_role, model, connection. */
  readonly code: string;
  readonly index?: string;
  readonly message: string;
  /** SQL that fixes it, when SQL can. */
  readonly sql?: string;
}

/** The catalog facts the check compares with. */
export interface CatalogSnapshot {
  readonly server: ServerFacts;
  /** By catalogKey; a table absent here does not exist. */
  readonly tables: ReadonlyMap<string, CatalogTable>;
  readonly publication: PublicationInfo | undefined;
}

/** Every table the config's indexes read (nodes and junctions), each once. */
export function tablesOfConfig(config: Config): TableRef[] {
  const seen = new Map<string, TableRef>();
  const add = (t: TableRef) => seen.set(catalogKey(t), t);
  const walk = (fields: readonly Field[]) => {
    for (const f of fields) {
      if (f.kind === "object") walk(f.fields);
      if (
        f.kind === "aggregate" || f.kind === "belongs_to" || f.kind === "has_one" ||
        f.kind === "has_many" || f.kind === "many_to_many"
      ) {
        add(f.table);
        if (f.through) add(f.through.table);
        if (f.kind !== "aggregate") walk(f.fields);
      }
    }
  };
  for (const index of config.indexes) {
    add(index.model.table);
    walk(index.model.fields);
  }
  return [...seen.values()];
}

/** Compares `config` with the catalog; returns the findings, errors first. */
export function checkAgainstCatalog(config: Config, snapshot: CatalogSnapshot): Finding[] {
  const out: Finding[] = [];
  checkServer(snapshot.server, out);
  const graphs: RelationGraph[] = [];
  for (const index of config.indexes) {
    checkModel(index, snapshot.tables, out);
    try {
      graphs.push(relationGraph(index.name, index.model));
    } catch (error) {
      out.push({
        severity: "error",
        code: "model",
        index: index.name,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  checkPublication(config, graphs, snapshot, out);
  checkReplicaIdentity(graphs, snapshot.tables, out);
  checkIndexes(graphs, snapshot.tables, out);
  checkStatistics(snapshot.tables, out);
  return [
    ...out.filter((f) => f.severity === "error"),
    ...out.filter((f) => f.severity !== "error"),
  ];
}

function checkServer(server: ServerFacts, out: Finding[]): void {
  if (server.walLevel !== "logical") {
    out.push({
      severity: "error",
      code: "wal_level",
      message:
        `wal_level is "${server.walLevel}"; logical replication needs "logical" (then restart Postgres)`,
      sql: "ALTER SYSTEM SET wal_level = logical;",
    });
  }
  if (!server.replication && !server.superuser) {
    out.push({
      severity: "error",
      code: "replication_role",
      message:
        `role "${server.role}" has neither REPLICATION nor SUPERUSER; it cannot open a replication slot`,
      sql: `ALTER ROLE ${quoteIdent(server.role)} WITH REPLICATION;`,
    });
  }
}

function checkModel(
  index: IndexConfig,
  tables: ReadonlyMap<string, CatalogTable>,
  out: Finding[],
): void {
  const push = (severity: Finding["severity"], code: string, message: string, sql?: string) =>
    out.push({ severity, code, index: index.name, message, ...(sql ? { sql } : {}) });
  const name = (t: TableRef) => `${t.schema}.${t.name}`;
  const tableOf = (t: TableRef, where: string): CatalogTable | undefined => {
    const found = tables.get(catalogKey(t));
    if (!found) push("error", "missing_table", `${where}table ${name(t)} does not exist`);
    else if (!isPublishable(found)) {
      push(
        "error",
        "not_a_table",
        `${where}${name(t)} is a ${notATable(found.kind)}, not a table: ` +
          `flusso follows changes by logical replication, which publishes tables only; ` +
          `point the schema at the table(s) it reads`,
      );
    }
    return found;
  };
  const column = (t: CatalogTable, col: string, where: string) => {
    const found = t.columns.get(col);
    if (!found) {
      const suggestion = nearest(col, [...t.columns.keys()]);
      push(
        "error",
        "missing_column",
        `${where}table ${name(t.table)} has no column "${col}"${
          suggestion ? `; did you mean "${suggestion}"?` : ""
        }`,
      );
    }
    return found;
  };
  const columns = (t: CatalogTable, cols: readonly string[] | undefined, where: string) => {
    for (const c of cols ?? []) column(t, c, where);
  };
  const filters = (t: CatalogTable, list: readonly Filter[], where: string) => {
    for (const f of list) if ("column" in f) column(t, f.column, `${where}filter: `);
  };

  const model: DocumentModel = index.model;
  const root = tableOf(model.table, "");
  if (!root) return;
  columns(root, model.primaryKey, "primary_key: ");
  if (model.primaryKey.every((c) => root.columns.has(c))) {
    const same = (cols: readonly string[]) =>
      cols.length === model.primaryKey.length && cols.every((c) => model.primaryKey.includes(c));
    if (!root.uniqueKeys.some(same)) {
      push(
        "warning",
        "key",
        `primary_key (${model.primaryKey.join(", ")}) is not the primary key or a unique key of ` +
          `${name(model.table)}; rows sharing it would overwrite each other's document`,
      );
    }
  }
  if (model.softDelete) column(root, model.softDelete.column, "soft_delete: ");
  filters(root, model.filters, "");

  const walk = (fields: readonly Field[], table: CatalogTable, prefix: string) => {
    for (const f of fields) {
      const where = `field ${prefix}${f.name}: `;
      switch (f.kind) {
        case "scalar": {
          const col = column(table, f.column, where);
          if (!col) break;
          const verdict = typeVerdict(f.type, col, f.postgres);
          if (verdict !== "ok") {
            push(
              verdict,
              "type_mismatch",
              `${where}column ${name(table.table)}.${f.column} is ${col.declared}${
                col.domain ? ` (domain over ${col.base})` : ""
              }; a ${f.type} field expects ${expectedTypes(f.type, f.postgres)}${
                verdict === "warning" ? " (values will be converted)" : ""
              }`,
            );
          }
          break;
        }
        case "object":
          walk(f.fields, table, `${prefix}${f.name}.`);
          break;
        case "map": {
          const col = column(table, f.column, where);
          if (col && !jsonish(col.base)) {
            push(
              "error",
              "type_mismatch",
              `${where}column ${f.column} is ${col.declared}; a map expects json or jsonb`,
            );
          }
          break;
        }
        case "geo": {
          for (const c of [f.lat, f.lon].filter((c): c is string => c !== undefined)) {
            const col = column(table, c, where);
            if (col && !isNumeric(col.base)) {
              push(
                "error",
                "type_mismatch",
                `${where}column ${c} is ${col.declared}; lat/lon expect a numeric type`,
              );
            }
          }
          if (f.column !== undefined) {
            const col = column(table, f.column, where);
            if (col && !["point", "geometry", "geography", "text", "varchar"].includes(col.base)) {
              push(
                "error",
                "type_mismatch",
                `${where}column ${f.column} is ${col.declared}; a geo column expects point, geometry, geography or "lat,lon" text`,
              );
            }
          }
          break;
        }
        case "constant":
          break;
        case "aggregate": {
          const rel = tableOf(f.table, where);
          if (!rel) break;
          if (f.foreignKey) columns(rel, f.foreignKey, where);
          if (f.through) {
            const junction = tableOf(f.through.table, where);
            if (junction) {
              columns(junction, [f.through.leftKey, f.through.rightKey], `${where}through: `);
            }
          }
          if (f.fn === "ids" || f.through) columns(rel, f.primaryKey, `${where}primary_key: `);
          if (f.column !== undefined) {
            const col = column(rel, f.column, where);
            if (col && (f.fn === "sum" || f.fn === "avg") && !isNumeric(col.base)) {
              push(
                "error",
                "type_mismatch",
                `${where}column ${f.column} is ${col.declared}; ${f.fn} needs a numeric type`,
              );
            }
          }
          filters(rel, f.filters, where);
          break;
        }
        default: {
          const rel = tableOf(f.table, where);
          if (!rel) break;
          columns(rel, f.primaryKey, `${where}primary_key: `);
          if (f.column) columns(table, f.column, `${where}column: `);
          if (f.foreignKey) columns(rel, f.foreignKey, `${where}foreign_key: `);
          if (f.through) {
            const junction = tableOf(f.through.table, where);
            if (junction) {
              columns(junction, [f.through.leftKey, f.through.rightKey], `${where}through: `);
            }
          }
          filters(rel, f.filters, where);
          for (const o of f.orderBy) column(rel, o.column, `${where}order_by: `);
          walk(f.fields, rel, `${prefix}${f.name}.`);
        }
      }
    }
  };
  walk(model.fields, root, "");
}

/** A plain or partitioned table: the only relations a publication can hold. */
function isPublishable(table: CatalogTable): boolean {
  return notATable(table.kind) === undefined;
}

function checkPublication(
  config: Config,
  graphs: readonly RelationGraph[],
  snapshot: CatalogSnapshot,
  out: Finding[],
): void {
  const enabled = new Set(config.indexes.filter((i) => i.enabled).map((i) => i.name));
  const wanted = new Map<string, TableRef>();
  for (const graph of graphs) {
    if (!enabled.has(graph.index)) continue;
    for (const t of tablesOfGraph(graph)) {
      // A relation that is not a table has its own finding: no publication can hold it.
      const found = snapshot.tables.get(catalogKey(t));
      if (found && isPublishable(found)) wanted.set(catalogKey(t), t);
    }
  }
  const tables = [...wanted.values()];
  if (tables.length === 0) return;
  const name = config.source.publication;
  const manage = config.source.managePublication;
  const severity = manage ? "warning" : "error";
  const note = manage
    ? " (flusso creates it at start, as manage_publication is true and the role may)"
    : "";
  if (!snapshot.publication) {
    out.push({
      severity,
      code: "publication",
      message: `publication "${name}" does not exist${note}`,
      sql: createPublicationSql(name, tables),
    });
    return;
  }
  const missing = missingTables(snapshot.publication, tables);
  if (missing.length > 0) {
    out.push({
      severity,
      code: "publication",
      message: `publication "${name}" lacks ${
        missing.map((t) => `${t.schema}.${t.name}`).join(", ")
      }; ` +
        `their changes would not reach the index${manage ? " (flusso adds them at start)" : ""}`,
      sql: extendPublicationSql(name, missing),
    });
  }
  const ops = snapshot.publication.operations;
  if (!ops.insert || !ops.update || !ops.delete || !ops.truncate) {
    out.push({
      severity: "error",
      code: "publication",
      message:
        `publication "${name}" does not publish every operation flusso needs (insert, update, delete, truncate)`,
      sql: `ALTER PUBLICATION ${
        quoteIdent(name)
      } SET (publish = 'insert, update, delete, truncate');`,
    });
  }
}

function checkReplicaIdentity(
  graphs: readonly RelationGraph[],
  tables: ReadonlyMap<string, CatalogTable>,
  out: Finding[],
): void {
  for (const graph of graphs) {
    const root = tables.get(catalogKey(graph.root.table));
    // A relation that is not a table has no replica identity to set (see "not_a_table").
    if (!root || !isPublishable(root)) continue;
    if (root.replicaIdentity === "n" || root.replicaIdentityColumns.length === 0) {
      out.push({
        severity: "error",
        code: "replica_identity",
        index: graph.index,
        message:
          `${root.table.schema}.${root.table.name}: deleted rows carry no key (replica identity ${
            root.replicaIdentity === "n" ? "NOTHING" : "DEFAULT without a primary key"
          }), so their documents cannot be deleted`,
        sql: `ALTER TABLE ${quoteTable(root.table)} REPLICA IDENTITY FULL;`,
      });
    }
  }
  for (const need of requiredOldColumns(graphs)) {
    const table = tables.get(catalogKey(need.table));
    if (!table || !isPublishable(table) || table.replicaIdentity === "f") continue;
    const lacking = need.columns.filter((c) => !table.replicaIdentityColumns.includes(c));
    if (lacking.length === 0) continue;
    out.push({
      severity: "warning",
      code: "replica_identity",
      index: need.indexes.join(", "),
      message:
        `${need.table.schema}.${need.table.name}: a deleted or re-parented row does not carry ` +
        `${lacking.join(", ")} in its old tuple, so the old parent document is not updated ` +
        `(replica identity ${describeIdentity(table)})`,
      sql: `ALTER TABLE ${quoteTable(need.table)} REPLICA IDENTITY FULL;`,
    });
  }
}

function describeIdentity(table: CatalogTable): string {
  switch (table.replicaIdentity) {
    case "d":
      return table.primaryKey.length
        ? `DEFAULT: (${table.primaryKey.join(", ")})`
        : "DEFAULT, no primary key";
    case "i":
      return `USING INDEX: (${table.replicaIdentityColumns.join(", ")})`;
    case "n":
      return "NOTHING";
    case "f":
      return "FULL";
  }
}
