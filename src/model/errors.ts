/**
 * Failures of the document model: a schema that cannot be turned into SQL, or a database
 * that does not match the schema. Each names the index, the table and the column involved
 * and says how to fix it.
 */

/** The schema asks for something the model cannot express (e.g. a composite key on a junction). */
export class ModelShapeError extends Error {
  constructor(
    readonly index: string,
    readonly where: string,
    detail: string,
  ) {
    super(`index ${JSON.stringify(index)}, ${where}: ${detail}`);
    this.name = "ModelShapeError";
  }
}

/** A table named by the schema does not exist in the database. */
export class UnknownTableError extends Error {
  constructor(readonly table: string) {
    super(
      `table ${table} does not exist (or is not visible to flusso's role); ` +
        `create it or fix \`table\`/\`schema\` in the schema file`,
    );
    this.name = "UnknownTableError";
  }
}

/**
 * A relation an index reads is a view, materialized view or foreign table, not a table: its
 * changes can never arrive (logical replication publishes tables only).
 */
export class RelationNotATableError extends Error {
  constructor(
    readonly index: string,
    readonly table: string,
    readonly kind: string,
    /** Whether the relation is the index's root (else a related table of its schema). */
    readonly root: boolean,
  ) {
    super(
      root
        ? `index ${JSON.stringify(index)}: its root ${table} is a ${kind}, not a table; flusso ` +
          `follows a root's changes by logical replication, which publishes tables only: ` +
          `point the schema's \`table\` at a table`
        : `index ${JSON.stringify(index)}: its schema reads ${table}, a ${kind}, not a table; ` +
          `logical replication publishes tables only, so no change to it would ever reach the ` +
          `documents: read the table(s) behind it instead`,
    );
    this.name = "RelationNotATableError";
  }
}

/** A column named by the schema does not exist in its table. */
export class UnknownColumnError extends Error {
  constructor(
    readonly table: string,
    readonly column: string,
    known: readonly string[],
  ) {
    super(
      `column ${JSON.stringify(column)} does not exist in table ${table}; ` +
        `it has: ${known.map((c) => JSON.stringify(c)).join(", ")}`,
    );
    this.name = "UnknownColumnError";
  }
}

/** An index name that no configured index has. */
export class UnknownIndexError extends Error {
  constructor(readonly index: string, known: readonly string[]) {
    super(
      `no index named ${JSON.stringify(index)}; configured: ${
        known.map((c) => JSON.stringify(c)).join(", ")
      }`,
    );
    this.name = "UnknownIndexError";
  }
}
