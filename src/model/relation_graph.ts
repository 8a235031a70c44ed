/**
 * The relation graph of one index: every table occurrence of its document model as a node
 * with the link that leads back to its parent, up to the root. Resolution walks these links
 * from a changed row to the root documents it belongs to.
 */
import type { DocumentModel, Field, TableRef, Through } from "../config/model.ts";
import { ModelShapeError } from "./errors.ts";

/** How a node's rows relate to its parent's rows. */
export type Link =
  /** has_one / has_many / aggregate with `foreign_key`: parent.primaryKey = this.foreignKey. */
  | { readonly kind: "child"; readonly parent: ModelNode; readonly foreignKey: readonly string[] }
  /** belongs_to: parent.column = this.primaryKey. */
  | { readonly kind: "target"; readonly parent: ModelNode; readonly column: readonly string[] }
  /** many_to_many / aggregate with `through`: junction.leftKey = parent pk, junction.rightKey = this pk. */
  | { readonly kind: "through"; readonly parent: ModelNode; readonly through: Through };

/** One occurrence of a table in an index's document model. */
export interface ModelNode {
  /** Unique within the index; the root is 0. */
  readonly id: number;
  readonly table: TableRef;
  readonly primaryKey: readonly string[];
  /** 0 for the root. */
  readonly depth: number;
  /** Dotted field path, for messages ("" for the root). */
  readonly path: string;
  /** Absent only for the root. */
  readonly link?: Link;
}

/** A place where a table appears: as a node, or as the junction of a node's `through`. */
export interface Occurrence {
  readonly role: "node" | "junction";
  readonly node: ModelNode;
}

/** The graph of one index. */
export interface RelationGraph {
  readonly index: string;
  readonly root: ModelNode;
  /** All nodes, root first. */
  readonly nodes: readonly ModelNode[];
  /** `schema.table` → where that table occurs. */
  readonly occurrences: ReadonlyMap<string, readonly Occurrence[]>;
}

/** The map key of a table: `schema.name` (JSON-quoted parts, so dots in names stay unambiguous). */
export function tableKey(table: TableRef): string {
  // Changes share their relation's table object, so this runs per change on few objects.
  let key = tableKeys.get(table);
  if (key === undefined) {
    key = `${JSON.stringify(table.schema)}.${JSON.stringify(table.name)}`;
    tableKeys.set(table, key);
  }
  return key;
}

const tableKeys = new WeakMap<TableRef, string>();

/** Builds the relation graph of `model`, checking that key arities line up. */
export function relationGraph(index: string, model: DocumentModel): RelationGraph {
  const nodes: ModelNode[] = [];
  const root: ModelNode = {
    id: 0,
    table: model.table,
    primaryKey: model.primaryKey,
    depth: 0,
    path: "",
  };
  nodes.push(root);
  const walk = (parent: ModelNode, fields: readonly Field[], prefix: string) => {
    for (const field of fields) {
      const path = `${prefix}${field.name}`;
      if (field.kind === "object") {
        walk(parent, field.fields, `${path}.`);
        continue;
      }
      if (
        field.kind !== "belongs_to" && field.kind !== "has_one" && field.kind !== "has_many" &&
        field.kind !== "many_to_many" && field.kind !== "aggregate"
      ) continue;
      const link = linkOf(index, parent, field, path);
      const node: ModelNode = {
        id: nodes.length,
        table: field.table,
        primaryKey: field.primaryKey,
        depth: parent.depth + 1,
        path,
        link,
      };
      nodes.push(node);
      if (field.kind !== "aggregate") walk(node, field.fields, `${path}.`);
    }
  };
  walk(root, model.fields, "");
  const occurrences = new Map<string, Occurrence[]>();
  const add = (table: TableRef, occurrence: Occurrence) => {
    const key = tableKey(table);
    const list = occurrences.get(key) ?? [];
    list.push(occurrence);
    occurrences.set(key, list);
  };
  for (const node of nodes) {
    add(node.table, { role: "node", node });
    if (node.link?.kind === "through") add(node.link.through.table, { role: "junction", node });
  }
  return { index, root, nodes, occurrences };
}

function linkOf(
  index: string,
  parent: ModelNode,
  field: Extract<Field, { table: TableRef }>,
  path: string,
): Link {
  const where = `field ${JSON.stringify(path)}`;
  if (field.kind === "belongs_to") {
    const column = field.column ?? [];
    if (column.length !== field.primaryKey.length || column.length === 0) {
      throw new ModelShapeError(
        index,
        where,
        `belongs_to needs \`column\` with one column per primary key column of ${field.table.name} ` +
          `(${field.primaryKey.length}), got ${column.length}`,
      );
    }
    return { kind: "target", parent, column };
  }
  if (field.through) {
    if (parent.primaryKey.length !== 1 || field.primaryKey.length !== 1) {
      throw new ModelShapeError(
        index,
        where,
        "`through` joins need a single-column primary key on both sides " +
          "(left_key and right_key are single columns)",
      );
    }
    return { kind: "through", parent, through: field.through };
  }
  const foreignKey = field.foreignKey ?? [];
  if (foreignKey.length !== parent.primaryKey.length || foreignKey.length === 0) {
    throw new ModelShapeError(
      index,
      where,
      `\`foreign_key\` must name one column per primary key column of the parent table ` +
        `${parent.table.name} (${parent.primaryKey.length}), got ${foreignKey.length}`,
    );
  }
  return { kind: "child", parent, foreignKey };
}

/** Every table the model reads (nodes and junctions), each once. */
export function tablesOfGraph(graph: RelationGraph): TableRef[] {
  const seen = new Map<string, TableRef>();
  for (const node of graph.nodes) {
    seen.set(tableKey(node.table), node.table);
    if (node.link?.kind === "through") {
      seen.set(tableKey(node.link.through.table), node.link.through.table);
    }
  }
  return [...seen.values()];
}
