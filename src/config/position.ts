/**
 * Source positions of parsed config files: every key and value of a flusso.toml or
 * *.schema.yml keeps its line and column, so an error found after parsing (by the
 * validator, or while resolving) can still point at the text the user wrote.
 */

/** A 1-based line and column in a file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A path into a parsed document: object keys and array indexes. */
export type DocPath = readonly (string | number)[];

/** Where a key and its value start. `key` is absent for array elements and the root. */
export interface NodePosition {
  readonly key?: Position;
  readonly value: Position;
}

/** A parsed config file: its plain value plus the position of every node. */
export interface SourceDocument {
  /** Path of the file, as given to the loader (used in messages). */
  readonly file: string;
  readonly text: string;
  readonly value: unknown;
  readonly positions: ReadonlyMap<string, NodePosition>;
}

/** The map key of a path (paths are compared by value). */
export function pathKey(path: DocPath): string {
  return JSON.stringify(path);
}

/**
 * The position that best describes `path`: its key (`at: "key"`) or value, falling back to
 * the nearest ancestor that has one (a missing key is reported where its parent starts).
 */
export function positionOf(
  doc: SourceDocument,
  path: DocPath,
  at: "key" | "value" = "value",
): Position {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.positions.get(pathKey(path.slice(0, n)));
    if (!node) continue;
    if (n === path.length) return (at === "key" ? node.key : undefined) ?? node.value;
    return node.key ?? node.value;
  }
  return { line: 1, column: 1 };
}

/** The value at `path`, or undefined when absent. */
export function valueAt(value: unknown, path: DocPath): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
