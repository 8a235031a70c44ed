/**
 * Resolution: from a batch of changes to the root keys of every document they affect. The
 * walk is set-based: per index, per graph node and per kind of step, one lookup for the whole
 * batch (chunked only for very large batches), never one per change.
 *
 * How a changed row reaches its parent (see relation_graph.ts):
 * - root row: its own key (old and new, so a key change deletes the old document);
 * - child (has_one/has_many/aggregate by foreign_key): the parent key *is* the foreign key,
 *   read from the tuple itself — new tuple for the new parent, old tuple for the old one;
 * - belongs_to target: every parent row whose `column` equals its key (a lookup);
 * - many_to_many far side / aggregate through: junction rows whose right key equals its key;
 * - junction row: the parent key is its left key, from the tuple.
 * From a node's own keys upwards each hop is one lookup: `SELECT DISTINCT <link columns>
 * FROM <table> WHERE <columns> = ANY($1)`.
 *
 * The old parent of a deleted or re-parented child is only known from the old tuple. Under
 * REPLICA IDENTITY FULL it is complete. Otherwise a delete carries only the key and an update
 * carries no old tuple unless the key changed, and the row no longer points at the old
 * parent, so no lookup can find it: that old document stays stale until its next change or a
 * `verify`. `requiredOldColumns` lists, per table, which columns must be in the old tuple;
 * `flusso check` warns when the table's replica identity lacks them, and resolution logs a
 * warning (once per table) when it meets such a change.
 */
import type { TableRef } from "../config/model.ts";
import type { Change, Row } from "../engine/change.ts";
import type { DocKey, Resolution } from "../engine/ports.ts";
import type { ModelNode, RelationGraph } from "./relation_graph.ts";
import { tableKey } from "./relation_graph.ts";

/**
 * One set-based lookup: the distinct values of `select` (as text) of the rows of `table`
 * whose `match` columns equal one of `values` (each value a tuple in `match` order).
 */
export interface Lookup {
  readonly table: TableRef;
  readonly select: readonly string[];
  readonly match: readonly string[];
  readonly values: readonly (readonly string[])[];
}

/** Executes lookups; rows with a NULL in `select` are dropped by the caller. */
export type LookupFn = (lookup: Lookup) => Promise<(readonly (string | null)[])[]>;

/** A change the graph could not follow to its old parent, for warnings. */
export interface MissedOldParent {
  readonly index: string;
  readonly table: TableRef;
  readonly columns: readonly string[];
  readonly op: Change["op"];
}

/** Keys deduplicated by their JSON text. */
class KeySet {
  readonly map = new Map<string, DocKey>();
  add(key: DocKey): void {
    this.map.set(KeySet.id(key), key);
  }
  delete(key: DocKey): void {
    if (this.map.size > 0) this.map.delete(KeySet.id(key));
  }
  // One set holds keys of one arity; a one-column key is its own map key (this runs per
  // change), prefixed so it can never equal the JSON of a longer key.
  private static id(key: DocKey): string {
    return key.length === 1 ? `\u0001${key[0]}` : JSON.stringify(key);
  }
  get size(): number {
    return this.map.size;
  }
  values(): DocKey[] {
    return [...this.map.values()];
  }
}

interface PendingNode {
  /** This node's own primary keys. */
  readonly keys: KeySet;
  /** Rows of this node's table matching columns (JSON of the column list) → values. */
  readonly preds: Map<string, { columns: readonly string[]; values: KeySet }>;
  /** Far-side keys whose junction rows lead to the parent (through links). */
  readonly through: KeySet;
}

/** Reads `columns` from a tuple; undefined when one is absent or NULL. */
function pick(row: Row | undefined, columns: readonly string[]): string[] | undefined {
  if (!row) return undefined;
  const out: string[] = [];
  for (const c of columns) {
    const v = row[c];
    if (v === undefined || v === null) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Resolves `changes` against one index's graph. Returns the root keys, whether a TRUNCATE
 * touched the index, and the changes whose old parent could not be known.
 */
export async function resolveIndex(
  graph: RelationGraph,
  changes: readonly Change[],
  rawLookup: LookupFn,
): Promise<{ keys: DocKey[]; gone: DocKey[]; truncated: boolean; missed: MissedOldParent[] }> {
  // A table can occur several times (a has_many and aggregates over it): identical lookups
  // from those occurrences run once.
  const memo = new Map<string, ReturnType<LookupFn>>();
  const lookup: LookupFn = (l) => {
    const id = JSON.stringify([l.table, l.select, l.match, l.values]);
    let result = memo.get(id);
    if (!result) {
      result = rawLookup(l);
      memo.set(id, result);
    }
    return result;
  };
  const pending = new Map<number, PendingNode>();
  const at = (node: ModelNode): PendingNode => {
    let p = pending.get(node.id);
    if (!p) {
      p = { keys: new KeySet(), preds: new Map(), through: new KeySet() };
      pending.set(node.id, p);
    }
    return p;
  };
  const addPred = (node: ModelNode, columns: readonly string[], value: DocKey) => {
    const preds = at(node).preds;
    const id = JSON.stringify(columns);
    let entry = preds.get(id);
    if (!entry) {
      entry = { columns, values: new KeySet() };
      preds.set(id, entry);
    }
    entry.values.add(value);
  };
  let truncated = false;
  // Root keys whose row the latest change on it deleted, in change order.
  const gone = new KeySet();
  const missed = new Map<string, MissedOldParent>();
  const miss = (table: TableRef, columns: readonly string[], op: Change["op"]) =>
    missed.set(tableKey(table), { index: graph.index, table, columns, op });

  for (const change of changes) {
    const occurrences = graph.occurrences.get(tableKey(change.table));
    if (!occurrences) continue;
    if (change.op === "truncate") {
      truncated = true;
      continue;
    }
    for (const { role, node } of occurrences) {
      if (role === "junction") {
        // A junction row: its left key is the parent's key.
        const left = node.link?.kind === "through" ? [node.link.through.leftKey] : [];
        const parent = node.link!.parent;
        seed(
          change,
          left,
          (v) => at(parent).keys.add(v),
          () => miss(change.table, left, change.op),
        );
        continue;
      }
      const link = node.link;
      if (!link) {
        // A root row: its own key, new and old (a key change deletes the old document).
        const now = pick(change.new, node.primaryKey);
        const before = pick(change.old, node.primaryKey);
        if (now) at(node).keys.add(now);
        if (before) at(node).keys.add(before);
        trackGone(change, now, before, gone);
      } else if (link.kind === "child") {
        seed(
          change,
          link.foreignKey,
          (v) => at(link.parent).keys.add(v),
          () => miss(change.table, link.foreignKey, change.op),
          // A new tuple without the foreign key (unchanged TOAST): ask the row itself.
          (pk) => at(node).keys.add(pk),
          node.primaryKey,
        );
      } else if (link.kind === "target") {
        seed(change, node.primaryKey, (v) => addPred(link.parent, link.column, v), () => {});
      } else {
        seed(change, node.primaryKey, (v) => at(node).through.add(v), () => {});
      }
    }
  }

  // Deepest nodes first: every step moves to the parent, or to a later step of the same node.
  const roots = new KeySet();
  const order = [...graph.nodes].sort((a, b) => b.depth - a.depth);
  for (const node of order) {
    const p = pending.get(node.id);
    if (!p) continue;
    const link = node.link;
    for (const { columns, values } of p.preds.values()) {
      const isKey = JSON.stringify(columns) === JSON.stringify(node.primaryKey);
      if (isKey) {
        for (const v of values.values()) p.keys.add(v);
        continue;
      }
      // Child nodes go straight to their parent key; others need their own key first.
      const select = link?.kind === "child" ? link.foreignKey : node.primaryKey;
      const rows = await lookup({
        table: node.table,
        select,
        match: columns,
        values: values.values(),
      });
      for (const row of rows) {
        if (row.some((v) => v === null)) continue;
        if (link?.kind === "child") at(link.parent).keys.add(row as string[]);
        else p.keys.add(row as string[]);
      }
    }
    if (p.keys.size > 0) {
      if (!link) {
        for (const k of p.keys.values()) roots.add(k);
      } else if (link.kind === "child") {
        const rows = await lookup({
          table: node.table,
          select: link.foreignKey,
          match: node.primaryKey,
          values: p.keys.values(),
        });
        for (const row of rows) {
          if (!row.some((v) => v === null)) at(link.parent).keys.add(row as string[]);
        }
      } else if (link.kind === "target") {
        for (const k of p.keys.values()) addPred(link.parent, link.column, k);
      } else {
        for (const k of p.keys.values()) p.through.add(k);
      }
    }
    if (p.through.size > 0 && link?.kind === "through") {
      const rows = await lookup({
        table: link.through.table,
        select: [link.through.leftKey],
        match: [link.through.rightKey],
        values: p.through.values(),
      });
      for (const row of rows) {
        if (!row.some((v) => v === null)) at(link.parent).keys.add(row as string[]);
      }
    }
  }
  return { keys: roots.values(), gone: gone.values(), truncated, missed: [...missed.values()] };
}

/**
 * Follows which root rows the changes leave deleted: a delete (or a key-changing update's old
 * key) marks its key gone, any later insert or update of that key clears it. Changes to other
 * tables never clear it: a document exists only while its root row does.
 */
function trackGone(
  change: Change,
  now: DocKey | undefined,
  before: DocKey | undefined,
  gone: KeySet,
): void {
  if (now) gone.delete(now);
  if (!before) return;
  if (change.op === "delete") gone.add(before);
  else if (now && before.some((v, i) => v !== now[i])) gone.add(before);
}

/**
 * Feeds `emit` with the `columns` of the change's tuples: the new tuple (the current parent)
 * and the old one (the previous parent). `onMissing` fires when the old parent cannot be
 * known; `fallback` (with the row's key) when the new tuple lacks the columns.
 */
function seed(
  change: Change,
  columns: readonly string[],
  emit: (values: DocKey) => void,
  onMissing: () => void,
  fallback?: (key: DocKey) => void,
  keyColumns?: readonly string[],
): void {
  const fromNew = pick(change.new, columns);
  if (fromNew) emit(fromNew);
  else if (change.new && fallback && keyColumns) {
    const key = pick(change.new, keyColumns);
    if (key) fallback(key);
  }
  const fromOld = pick(change.old, columns);
  if (fromOld) emit(fromOld);
  else if (change.op === "delete" || (change.op === "update" && !change.oldIsFull)) {
    // Without the old values a delete's (or re-parenting update's) old parent is unknown.
    // A NULL in a full old tuple is a real NULL: no parent, nothing missed.
    if (!(change.oldIsFull && change.old)) onMissing();
  }
}

/** Resolves a batch for every index: the Resolution of the DocumentBuilder port. */
export async function resolveAll(
  graphs: readonly RelationGraph[],
  changes: readonly Change[],
  lookup: LookupFn,
): Promise<Resolution & { missed: MissedOldParent[] }> {
  const keys = new Map<string, DocKey[]>();
  const gone = new Map<string, DocKey[]>();
  const truncated = new Set<string>();
  const missed: MissedOldParent[] = [];
  for (const graph of graphs) {
    const result = await resolveIndex(graph, changes, lookup);
    if (result.keys.length > 0) keys.set(graph.index, result.keys);
    if (result.gone.length > 0) gone.set(graph.index, result.gone);
    if (result.truncated) truncated.add(graph.index);
    missed.push(...result.missed);
  }
  return { keys, gone, truncated, missed };
}

/**
 * Per table, the columns whose *old* values resolution needs so that deletes and re-parenting
 * reach the old parent document: foreign keys of child tables, left keys of junctions. The
 * table's replica identity must include them (REPLICA IDENTITY FULL always does).
 */
export function requiredOldColumns(
  graphs: readonly RelationGraph[],
): { table: TableRef; columns: string[]; indexes: string[] }[] {
  const out = new Map<string, { table: TableRef; columns: Set<string>; indexes: Set<string> }>();
  const need = (table: TableRef, columns: readonly string[], index: string) => {
    const key = tableKey(table);
    const entry = out.get(key) ?? { table, columns: new Set(), indexes: new Set() };
    for (const c of columns) entry.columns.add(c);
    entry.indexes.add(index);
    out.set(key, entry);
  };
  for (const graph of graphs) {
    for (const node of graph.nodes) {
      if (node.link?.kind === "child") need(node.table, node.link.foreignKey, graph.index);
      if (node.link?.kind === "through") {
        need(node.link.through.table, [node.link.through.leftKey], graph.index);
      }
    }
  }
  return [...out.values()].map((e) => ({
    table: e.table,
    columns: [...e.columns],
    indexes: [...e.indexes],
  }));
}
