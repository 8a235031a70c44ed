/**
 * Turns decoded row messages into the engine's thin `Change`s (without their LSN, which is
 * only known at commit). A primary-key update becomes a delete of the old key and an insert
 * of the new row, so the old document is removed and the new one built.
 */
import type { Change, Row, TableName } from "../../engine/change.ts";
import type { DeleteMessage, InsertMessage, TruncateMessage, UpdateMessage } from "./messages.ts";
import { type RelationCache, type RelationInfo, relationOf, tupleToRow } from "./relations.ts";

/** A change whose commit LSN is not known yet. */
export type PendingChange = Omit<Change, "lsn">;

/** Primary key columns of a table, when known (needed under REPLICA IDENTITY FULL). */
export type PrimaryKeyLookup = (table: TableName) => readonly string[] | undefined;

/** The changes one Insert/Update/Delete/Truncate message stands for. */
export function toChanges(
  message: InsertMessage | UpdateMessage | DeleteMessage | TruncateMessage,
  relations: RelationCache,
  primaryKey: PrimaryKeyLookup,
): PendingChange[] {
  switch (message.type) {
    case "insert": {
      const relation = relationOf(relations, message.relationId);
      const row = tupleToRow(relation, message.newTuple);
      return [{ op: "insert", table: relation.table, new: row, size: sizeOf(relation, row) }];
    }
    case "update": {
      const relation = relationOf(relations, message.relationId);
      const newRow = tupleToRow(relation, message.newTuple);
      if (!message.oldTuple) {
        return [{
          op: "update",
          table: relation.table,
          new: newRow,
          size: sizeOf(relation, newRow),
        }];
      }
      const oldIsFull = message.oldKind === "O";
      const oldRow = tupleToRow(relation, message.oldTuple, !oldIsFull);
      if (keyChanged(relation, oldRow, newRow, primaryKey(relation.table))) {
        return [
          {
            op: "delete",
            table: relation.table,
            old: oldRow,
            oldIsFull,
            size: sizeOf(relation, oldRow),
          },
          { op: "insert", table: relation.table, new: newRow, size: sizeOf(relation, newRow) },
        ];
      }
      return [{
        op: "update",
        table: relation.table,
        new: newRow,
        old: oldRow,
        oldIsFull,
        size: sizeOf(relation, newRow) + sizeOf(relation, oldRow),
      }];
    }
    case "delete": {
      const relation = relationOf(relations, message.relationId);
      const oldRow = tupleToRow(relation, message.oldTuple, message.oldKind === "K");
      return [{
        op: "delete",
        table: relation.table,
        old: oldRow,
        oldIsFull: message.oldKind === "O",
        size: sizeOf(relation, oldRow),
      }];
    }
    case "truncate":
      return message.relationIds.map((id) => ({
        op: "truncate",
        table: relationOf(relations, id).table,
        size: 64,
      }));
  }
}

/**
 * Whether the row's key differs between the old and new tuple. The key is the primary key
 * when known, else the replica identity columns. A column absent from the new row is an
 * unchanged TOAST value, so it did not change.
 */
function keyChanged(
  relation: RelationInfo,
  oldRow: Row,
  newRow: Row,
  primaryKey: readonly string[] | undefined,
): boolean {
  const key = primaryKey ??
    (relation.replicaIdentity === "f"
      ? undefined
      : relation.columns.filter((c) => c.isKey).map((c) => c.name));
  if (!key || key.length === 0) return false;
  return key.some((column) =>
    column in oldRow && column in newRow && oldRow[column] !== newRow[column]
  );
}

/**
 * What a change costs in memory, not on the wire: the queue and the in-memory transaction
 * buffer are bounded by this, so it counts the JS objects around the values (change, event
 * and queue entry ≈ 160 bytes; per column a property slot and a string cell ≈ 48 bytes, plus
 * the characters). Column names are shared by every row and cost nothing per change.
 */
function sizeOf(_relation: RelationInfo, row: Row): number {
  let size = 160;
  for (const key in row) size += 48 + (row[key]?.length ?? 0);
  return size;
}
