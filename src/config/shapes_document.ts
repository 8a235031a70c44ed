/**
 * The shape of a *.schema.yml, declared once: the validator, the raw TypeScript types and
 * `flusso schema index` all come from `DocumentShape`. Fields are written type-first
 * (`- keyword: email`): each field kind is a strict object whose kind key holds the name.
 */
import { z } from "zod";
import { Identifier } from "./shapes_common.ts";

/** Scalar field types, in the order they are documented. */
export const SCALAR_TYPES = [
  "text",
  "identifier",
  "keyword",
  "enum",
  "uuid",
  "boolean",
  "short",
  "integer",
  "long",
  "float",
  "double",
  "decimal",
  "date",
  "timestamp",
  "binary",
  "json",
  "custom",
] as const;
/** Fields built from the current row only (allowed inside `object`). */
export const ROW_KINDS = [...SCALAR_TYPES, "object", "map", "geo", "constant"] as const;
/** Joins to another table. */
export const JOIN_KINDS = ["belongs_to", "has_one", "has_many", "many_to_many"] as const;
/** Aggregates over related rows. */
export const AGGREGATE_KINDS = ["count", "sum", "avg", "min", "max", "ids"] as const;
/** Every field kind; the order matches the options of `FieldShape` (and `RowFieldShape`). */
export const FIELD_KINDS = [...ROW_KINDS, ...JOIN_KINDS, ...AGGREGATE_KINDS] as const;
/** Filter operators. */
export const FILTER_OPS = [
  "eq",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "like",
  "ilike",
  "in",
  "not_in",
  "between",
  "is_null",
  "is_not_null",
] as const;

/** A field name: not empty, no dots (they would mean nesting), not starting with `_`. */
export const FieldName = z.string().regex(/^[^._][^.]*$/, {
  error: "expected a field name: not empty, without '.', not starting with '_'",
});

/** One column, or a list for a composite key. */
export const Keys = z.union([Identifier, z.array(Identifier).min(1)]);

const ScalarOperand = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const SINGLE_OPS = FILTER_OPS.filter((op) =>
  !["in", "not_in", "between", "is_null", "is_not_null"].includes(op)
);

/** `{ column, op, value }` (value shape per op) or `{ raw }`. */
export const FilterShape = z.union([
  z.discriminatedUnion("op", [
    z.strictObject({
      column: Identifier,
      op: z.enum(SINGLE_OPS as [string, ...string[]]),
      value: ScalarOperand,
    }),
    z.strictObject({
      column: Identifier,
      op: z.enum(["in", "not_in"]),
      value: z.array(ScalarOperand).min(1),
    }),
    z.strictObject({
      column: Identifier,
      op: z.literal("between"),
      value: z.tuple([ScalarOperand, ScalarOperand]),
    }),
    z.strictObject({ column: Identifier, op: z.enum(["is_null", "is_not_null"]) }),
  ]),
  z.strictObject({ raw: z.string().min(1) }).meta({
    description: "A raw SQL condition on the table's rows (trusted config only).",
  }),
]);

/** Ordering of a to-many relation. */
export const OrderByShape = z.strictObject({
  column: Identifier,
  direction: z.enum(["asc", "desc"]).optional(),
});

/** The junction table of a many-to-many relation or aggregate. */
export const ThroughShape = z.strictObject({
  table: Identifier,
  schema: Identifier.optional(),
  left_key: Identifier.meta({ description: "Junction column referencing the parent's key." }),
  right_key: Identifier.meta({ description: "Junction column referencing the related key." }),
});

/** A field as validated, before its kind is known (the nested-field element type). */
export type RawField = { readonly [key: string]: unknown };

function kind<K extends string, S extends z.core.$ZodLooseShape>(name: K, shape: S) {
  return z.strictObject({ [name]: FieldName, ...shape } as { [P in K]: typeof FieldName } & S);
}

/**
 * Rules across keys, for the JSON Schema; the loader checks the same rules while resolving
 * (resolve_document.ts) to give positioned messages.
 */
const AGGREGATE_LINK = {
  oneOf: [{ required: ["foreign_key"] }, { required: ["through"] }],
};
const GEO_FORMS = {
  dependencies: { lat: ["lon"], lon: ["lat"] },
  not: { required: ["lat", "column"] },
};

const scalarSiblings = {
  column: Identifier.optional(),
  required: z.boolean().optional(),
  default: z.unknown().optional(),
  transforms: z.array(z.enum(["lowercase", "trim"])).optional(),
  options: z.record(z.string(), z.unknown()).optional().meta({
    description: "Raw mapping properties, merged last.",
  }),
};

function scalarShape(type: typeof SCALAR_TYPES[number]) {
  switch (type) {
    case "enum":
      return kind(type, { ...scalarSiblings, variants: z.array(z.string()).optional() });
    case "decimal":
      return kind(type, { ...scalarSiblings, scale: z.number().positive().optional() });
    case "custom":
      return kind(type, {
        ...scalarSiblings,
        postgres: z.string().min(1).optional(),
        opensearch: z.record(z.string(), z.unknown()),
      });
    default:
      return kind(type, scalarSiblings);
  }
}

const relationCommon = {
  table: Identifier,
  schema: Identifier.optional(),
  primary_key: Keys.optional(),
  filters: z.array(FilterShape).optional(),
};

const aggregateCommon = {
  ...relationCommon,
  foreign_key: Keys.optional(),
  through: ThroughShape.optional(),
};

// Both unions are built from the same option objects; their order is FIELD_KINDS.
const rowOptions: z.ZodType<RawField>[] = [];
const allOptions: z.ZodType<RawField>[] = [];
/** A field of an `object` (same row). */
export const RowFieldShape: z.ZodType<RawField> = z.lazy(() => z.union(rowOptions));
/** Any field of a document. */
export const FieldShape: z.ZodType<RawField> = z.lazy(() => z.union(allOptions));
const fieldList = () => z.array(FieldShape).min(1);

rowOptions.push(
  ...SCALAR_TYPES.map(scalarShape),
  kind("object", {
    get fields() {
      return z.array(RowFieldShape).min(1);
    },
  }),
  kind("map", {
    column: Identifier.optional(),
    value_type: z.enum(SCALAR_TYPES).optional(),
  }),
  kind("geo", {
    lat: Identifier.optional(),
    lon: Identifier.optional(),
    column: Identifier.optional(),
  }).meta(GEO_FORMS),
  kind("constant", { value: z.union([z.string(), z.number(), z.boolean()]) }),
);
allOptions.push(
  ...rowOptions,
  kind("belongs_to", {
    ...relationCommon,
    column: Keys,
    get fields() {
      return fieldList();
    },
  }),
  kind("has_one", {
    ...relationCommon,
    foreign_key: Keys,
    order_by: z.array(OrderByShape).optional(),
    get fields() {
      return fieldList();
    },
  }),
  kind("has_many", {
    ...relationCommon,
    foreign_key: Keys,
    order_by: z.array(OrderByShape).optional(),
    limit: z.int().positive().optional(),
    get fields() {
      return fieldList();
    },
  }),
  kind("many_to_many", {
    ...relationCommon,
    through: ThroughShape,
    order_by: z.array(OrderByShape).optional(),
    limit: z.int().positive().optional(),
    get fields() {
      return fieldList();
    },
  }),
  kind("count", aggregateCommon).meta(AGGREGATE_LINK),
  kind("sum", {
    ...aggregateCommon,
    column: Identifier,
    value_type: z.enum(SCALAR_TYPES).optional(),
  }).meta(AGGREGATE_LINK),
  kind("avg", { ...aggregateCommon, column: Identifier }).meta(AGGREGATE_LINK),
  kind("min", {
    ...aggregateCommon,
    column: Identifier,
    value_type: z.enum(SCALAR_TYPES).optional(),
  }).meta(AGGREGATE_LINK),
  kind("max", {
    ...aggregateCommon,
    column: Identifier,
    value_type: z.enum(SCALAR_TYPES).optional(),
  }).meta(AGGREGATE_LINK),
  kind("ids", aggregateCommon).meta(AGGREGATE_LINK),
);

/** The whole *.schema.yml. */
export const DocumentShape = z.strictObject({
  version: z.literal(1).optional(),
  table: Identifier.meta({ description: "The root table; one document per root row." }),
  schema: Identifier.optional().meta({ description: 'Postgres schema; default "public".' }),
  primary_key: Keys.optional().meta({ description: 'The root key; default "id".' }),
  soft_delete: z.strictObject({ column: Identifier }).optional().meta({
    description: "A non-null (or true) value in this column deletes the document.",
  }),
  filters: z.array(FilterShape).optional(),
  fields: fieldList(),
}).meta({ title: "flusso index schema", description: "What one index's documents look like." });

/** A *.schema.yml as written. */
export type DocumentFile = z.infer<typeof DocumentShape>;
/** A filter as written. */
export type FilterFile = z.infer<typeof FilterShape>;
/** A `through` as written. */
export type ThroughFile = z.infer<typeof ThroughShape>;
/** An `order_by` entry as written. */
export type OrderByFile = z.infer<typeof OrderByShape>;
