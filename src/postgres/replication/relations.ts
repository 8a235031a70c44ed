/**
 * The per-stream relation cache: pgoutput describes a relation once (and again after a schema
 * change) and then refers to it by OID. Tuples become `Row`s through it.
 */
import type { Row, TableName } from "../../engine/change.ts";
import { ReplicationProtocolError } from "./errors.ts";
import type { RelationColumn, RelationMessage, ReplicaIdentity, TupleData } from "./messages.ts";

/** What the source knows about one relation. */
export interface RelationInfo {
  readonly id: number;
  /** Schema-qualified; pgoutput's "" namespace means pg_catalog. */
  readonly table: TableName;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly RelationColumn[];
}

/** Relation OID → description, as last announced by the server. */
export type RelationCache = Map<number, RelationInfo>;

/** Records a Relation message in the cache (replacing an older description). */
export function rememberRelation(cache: RelationCache, message: RelationMessage): RelationInfo {
  const info: RelationInfo = {
    id: message.relationId,
    table: { schema: message.schema === "" ? "pg_catalog" : message.schema, name: message.name },
    replicaIdentity: message.replicaIdentity,
    columns: message.columns,
  };
  cache.set(message.relationId, info);
  return info;
}

/** The cached relation, or a protocol error when the server never described it. */
export function relationOf(cache: RelationCache, id: number): RelationInfo {
  const info = cache.get(id);
  if (!info) {
    throw new ReplicationProtocolError(`change for relation ${id} before its Relation message`);
  }
  return info;
}

/**
 * A tuple as a `Row`: text values as sent, null for NULL. Unchanged-TOAST columns are left
 * out, so a placeholder can never be mistaken for a value. A key tuple ('K') carries NULL for
 * every non-key column; `keyOnly` leaves those out, since they are not the row's values.
 */
export function tupleToRow(relation: RelationInfo, tuple: TupleData, keyOnly = false): Row {
  if (tuple.length > relation.columns.length) {
    throw new ReplicationProtocolError(
      `tuple of ${relation.table.schema}.${relation.table.name} has ${tuple.length} columns, ` +
        `its relation ${relation.columns.length}`,
    );
  }
  const row: Record<string, string | null> = {};
  for (let i = 0; i < tuple.length; i++) {
    const value = tuple[i];
    const column = relation.columns[i];
    if (keyOnly && !column.isKey) continue;
    const name = column.name;
    switch (value.kind) {
      case "null":
        row[name] = null;
        break;
      case "text":
        row[name] = value.text;
        break;
      case "binary":
        // Only requested in text mode; keep bytes lossless the way bytea prints them.
        row[name] = `\\x${
          Array.from(value.bytes, (b) => b.toString(16).padStart(2, "0")).join("")
        }`;
        break;
      case "unchanged":
      case "skipped":
        break;
    }
  }
  return row;
}
