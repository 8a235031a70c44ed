/**
 * The columns resolution reads from a changed row. Only these need to leave the replication
 * stream as values: every other column is skipped undecoded, since documents are re-read
 * from Postgres at build time and never built from the change itself.
 */
import { type RelationGraph, tableKey } from "./relation_graph.ts";

/** `tableKey` → the column names resolution may read from that table's tuples. */
export type ResolveColumns = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * The columns `resolveIndex` picks from each table's tuples, over every graph: primary keys
 * (a node's own key, key changes), foreign keys of child links and the left key of junctions.
 * A table absent from the result is in no graph, and none of its values are needed.
 */
export function resolveColumns(graphs: readonly RelationGraph[]): ResolveColumns {
  const out = new Map<string, Set<string>>();
  const add = (key: string, columns: readonly string[]) => {
    let set = out.get(key);
    if (!set) out.set(key, set = new Set());
    for (const c of columns) set.add(c);
  };
  for (const graph of graphs) {
    for (const [key, occurrences] of graph.occurrences) {
      for (const { role, node } of occurrences) {
        const link = node.link;
        if (role === "junction") {
          if (link?.kind === "through") add(key, [link.through.leftKey, link.through.rightKey]);
          continue;
        }
        add(key, node.primaryKey);
        if (link?.kind === "child") add(key, link.foreignKey);
      }
    }
    // Belt and braces: every node's table by its own key, even if occurrences missed one.
    for (const node of graph.nodes) add(tableKey(node.table), node.primaryKey);
  }
  return out;
}
