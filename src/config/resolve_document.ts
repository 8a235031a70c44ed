/**
 * A validated *.schema.yml → DocumentModel: type-first fields turned into typed fields,
 * keys normalised to column lists, defaults applied (`column` = field name, `schema`
 * inherited from the enclosing table, `primary_key` = ["id"], `direction` = asc), and the
 * rules the shape cannot express checked (unique sibling names, geo columns, aggregate
 * links). All problems are collected with their positions.
 */
import {
  type ConfigError,
  DuplicateNameError,
  InvalidValueError,
  KeyArityError,
  MissingKeyError,
} from "./errors.ts";
import { displayPath } from "./issues.ts";
import type {
  AggregateField,
  DocumentModel,
  Field,
  Filter,
  OrderBy,
  RelationField,
  ScalarField,
  ScalarType,
  TableRef,
  Through,
} from "./model.ts";
import { type DocPath, positionOf, type SourceDocument } from "./position.ts";
import {
  AGGREGATE_KINDS,
  type DocumentFile,
  FIELD_KINDS,
  type FilterFile,
  JOIN_KINDS,
  type OrderByFile,
  type RawField,
  SCALAR_TYPES,
  type ThroughFile,
} from "./shapes_document.ts";

/** The default Postgres schema of a root table. */
export const DEFAULT_SCHEMA = "public";
/** The default primary key of any table. */
export const DEFAULT_PRIMARY_KEY: readonly string[] = ["id"];

/** Resolves a validated schema file; returns the model, or the errors found. */
export function resolveDocument(
  file: DocumentFile,
  doc: SourceDocument,
): { ok: true; value: DocumentModel } | { ok: false; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const table: TableRef = { schema: file.schema ?? DEFAULT_SCHEMA, name: file.table };
  const primaryKey = keys(file.primary_key) ?? DEFAULT_PRIMARY_KEY;
  const fields = resolveFields(file.fields, ["fields"], table.schema, primaryKey, doc, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      file: doc.file,
      table,
      primaryKey,
      ...(file.soft_delete ? { softDelete: { column: file.soft_delete.column } } : {}),
      filters: (file.filters ?? []).map(filter),
      fields,
    },
  };
}

function resolveFields(
  raws: readonly RawField[],
  path: DocPath,
  schema: string,
  parentKey: readonly string[],
  doc: SourceDocument,
  errors: ConfigError[],
): Field[] {
  const names = new Map<string, number>();
  return raws.map((raw, i) => {
    const fieldPath = [...path, i];
    const kind = Object.keys(raw).find((k) => (FIELD_KINDS as readonly string[]).includes(k))!;
    const name = raw[kind] as string;
    const first = names.get(name);
    if (first !== undefined) {
      errors.push(
        new DuplicateNameError(
          `${displayPath(fieldPath)}: field "${name}" is already declared at line ${
            positionOf(doc, [...path, first], "key").line
          }; sibling fields need distinct names`,
          {
            file: doc.file,
            position: positionOf(doc, [...fieldPath, kind]),
            path: displayPath(fieldPath),
          },
        ),
      );
    } else names.set(name, i);
    return resolveField(kind, name, raw, fieldPath, schema, parentKey, doc, errors);
  });
}

function resolveField(
  kind: string,
  name: string,
  raw: RawField,
  path: DocPath,
  schema: string,
  parentKey: readonly string[],
  doc: SourceDocument,
  errors: ConfigError[],
): Field {
  const at = (key?: string) => ({
    file: doc.file,
    position: positionOf(doc, key ? [...path, key] : [...path, kind], "key"),
    path: displayPath(path),
  });
  if ((SCALAR_TYPES as readonly string[]).includes(kind)) {
    return scalar(kind as ScalarType, name, raw);
  }
  switch (kind) {
    case "object":
      return {
        kind: "object",
        name,
        fields: resolveFields(
          raw.fields as RawField[],
          [...path, "fields"],
          schema,
          parentKey,
          doc,
          errors,
        ),
      };
    case "map":
      return {
        kind: "map",
        name,
        column: (raw.column as string | undefined) ?? name,
        valueType: (raw.value_type as ScalarType | undefined) ?? "keyword",
      };
    case "geo": {
      const lat = raw.lat as string | undefined;
      const lon = raw.lon as string | undefined;
      const column = raw.column as string | undefined;
      if ((lat === undefined) !== (lon === undefined)) {
        const missing = lat === undefined ? "lat" : "lon";
        errors.push(
          new MissingKeyError(
            `missing required key "${missing}" in ${displayPath(path)}: a geo field takes both ` +
              `lat and lon, or one column`,
            { ...at(), expected: "lat and lon, or column" },
          ),
        );
      } else if (lat !== undefined && column !== undefined) {
        errors.push(
          new InvalidValueError(
            `${displayPath(path)}: a geo field takes lat and lon, or one column, not both`,
            at("column"),
          ),
        );
      }
      return lat !== undefined && lon !== undefined
        ? { kind: "geo", name, lat, lon }
        : { kind: "geo", name, column: column ?? name };
    }
    case "constant":
      return { kind: "constant", name, value: raw.value as string | number | boolean };
  }
  if ((JOIN_KINDS as readonly string[]).includes(kind)) {
    const table: TableRef = {
      schema: (raw.schema as string | undefined) ?? schema,
      name: raw.table as string,
    };
    const relation: RelationField = {
      kind: kind as RelationField["kind"],
      name,
      table,
      primaryKey: keys(raw.primary_key) ?? DEFAULT_PRIMARY_KEY,
      ...(raw.column !== undefined ? { column: keys(raw.column) } : {}),
      ...(raw.foreign_key !== undefined ? { foreignKey: keys(raw.foreign_key) } : {}),
      ...(raw.through !== undefined
        ? { through: through(raw.through as ThroughFile, schema) }
        : {}),
      filters: ((raw.filters as FilterFile[] | undefined) ?? []).map(filter),
      orderBy: ((raw.order_by as OrderByFile[] | undefined) ?? []).map(orderBy),
      ...(raw.limit !== undefined ? { limit: raw.limit as number } : {}),
      fields: resolveFields(
        raw.fields as RawField[],
        [...path, "fields"],
        table.schema,
        keys(raw.primary_key) ?? DEFAULT_PRIMARY_KEY,
        doc,
        errors,
      ),
    };
    checkArity(relation, parentKey, path, doc, errors);
    return relation;
  }
  if ((AGGREGATE_KINDS as readonly string[]).includes(kind)) {
    if (raw.foreign_key === undefined && raw.through === undefined) {
      errors.push(
        new MissingKeyError(
          `missing required key "foreign_key" in ${displayPath(path)}: an aggregate links to ` +
            `its rows with foreign_key or through`,
          { ...at(), expected: "foreign_key or through" },
        ),
      );
    } else if (raw.foreign_key !== undefined && raw.through !== undefined) {
      errors.push(
        new InvalidValueError(
          `${displayPath(path)}: an aggregate takes foreign_key or through, not both`,
          at("through"),
        ),
      );
    }
    const aggregate: AggregateField = {
      kind: "aggregate",
      name,
      fn: kind as AggregateField["fn"],
      table: { schema: (raw.schema as string | undefined) ?? schema, name: raw.table as string },
      primaryKey: keys(raw.primary_key) ?? DEFAULT_PRIMARY_KEY,
      ...(raw.column !== undefined ? { column: raw.column as string } : {}),
      ...(kind === "count"
        ? { valueType: "long" as const }
        : kind === "avg"
        ? { valueType: "double" as const }
        : raw.value_type !== undefined
        ? { valueType: raw.value_type as ScalarType }
        : {}),
      ...(raw.foreign_key !== undefined ? { foreignKey: keys(raw.foreign_key) } : {}),
      ...(raw.through !== undefined
        ? { through: through(raw.through as ThroughFile, schema) }
        : {}),
      filters: ((raw.filters as FilterFile[] | undefined) ?? []).map(filter),
    };
    checkArity(aggregate, parentKey, path, doc, errors);
    return aggregate;
  }
  throw new Error(`unreachable: field kind ${kind} passed validation`);
}

/** Key columns must pair up one to one with the key they reference. */
function checkArity(
  field: RelationField | AggregateField,
  parentKey: readonly string[],
  path: DocPath,
  doc: SourceDocument,
  errors: ConfigError[],
): void {
  const fail = (key: string, message: string) =>
    errors.push(
      new KeyArityError(`${displayPath([...path, key])}: ${message}`, {
        file: doc.file,
        position: positionOf(doc, [...path, key]),
        path: displayPath([...path, key]),
      }),
    );
  const list = (k: readonly string[]) => `${k.length} (${k.join(", ")})`;
  if (field.kind === "belongs_to" && field.column!.length !== field.primaryKey.length) {
    fail(
      "column",
      `names ${list(field.column!)} column(s) but ${field.table.name}'s primary_key has ${
        list(field.primaryKey)
      }; give one column per key column`,
    );
  }
  if (field.foreignKey && field.foreignKey.length !== parentKey.length) {
    fail(
      "foreign_key",
      `names ${list(field.foreignKey)} column(s) but the parent's primary key has ${
        list(parentKey)
      }; give one column per key column`,
    );
  }
  if (field.through && (parentKey.length !== 1 || field.primaryKey.length !== 1)) {
    fail(
      "through",
      "a through join needs a single-column primary key on both sides (left_key and right_key " +
        "are single columns)",
    );
  }
}

function scalar(type: ScalarType, name: string, raw: RawField): ScalarField {
  return {
    kind: "scalar",
    name,
    type,
    column: (raw.column as string | undefined) ?? name,
    required: (raw.required as boolean | undefined) ?? false,
    ...(raw.default !== undefined ? { default: raw.default } : {}),
    transforms: (raw.transforms as ("lowercase" | "trim")[] | undefined) ?? [],
    ...(raw.options !== undefined
      ? { options: raw.options as Readonly<Record<string, unknown>> }
      : {}),
    ...(raw.variants !== undefined ? { variants: raw.variants as string[] } : {}),
    ...(raw.scale !== undefined ? { scale: raw.scale as number } : {}),
    ...(raw.postgres !== undefined ? { postgres: raw.postgres as string } : {}),
    ...(raw.opensearch !== undefined
      ? { opensearch: raw.opensearch as Readonly<Record<string, unknown>> }
      : {}),
  };
}

function keys(raw: unknown): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  return typeof raw === "string" ? [raw] : [...(raw as string[])];
}

function filter(raw: FilterFile): Filter {
  if ("raw" in raw) return { raw: raw.raw };
  return "value" in raw
    ? { column: raw.column, op: raw.op as Exclude<Filter, { raw: string }>["op"], value: raw.value }
    : { column: raw.column, op: raw.op };
}

function orderBy(raw: OrderByFile): OrderBy {
  return { column: raw.column, direction: raw.direction ?? "asc" };
}

function through(raw: ThroughFile, schema: string): Through {
  return {
    table: { schema: raw.schema ?? schema, name: raw.table },
    leftKey: raw.left_key,
    rightKey: raw.right_key,
  };
}
