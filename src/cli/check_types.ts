/**
 * Which Postgres column types can feed which field types. A mismatch the build could not
 * turn into the declared OpenSearch type is an error; one that works but by conversion
 * (a number indexed as a keyword) is a warning.
 */
import type { ScalarType } from "../config/model.ts";
import type { CatalogColumn } from "../postgres/catalog.ts";

const TEXT_LIKE = ["text", "varchar", "bpchar", "char", "name", "citext"];
const INTEGERS = ["int2", "int4", "int8"];
const NUMBERS = [...INTEGERS, "numeric", "float4", "float8"];
const TIMES = ["date", "timestamp", "timestamptz"];
const TEXT_FORMS = [...TEXT_LIKE, "uuid", "inet", "cidr", "macaddr", "macaddr8", "ltree", "xml"];

/** The verdict for one column feeding one field type. */
export type TypeVerdict = "ok" | "warning" | "error";

/** Whether `column` can feed a field of `type` (`postgres` is the custom type's expectation). */
export function typeVerdict(
  type: ScalarType,
  column: CatalogColumn,
  postgres?: string,
): TypeVerdict {
  const base = column.base;
  const textual = TEXT_LIKE.includes(base) || column.isEnum;
  switch (type) {
    case "text":
    case "identifier":
    case "keyword":
      return textual || TEXT_FORMS.includes(base) ? "ok" : jsonish(base) ? "error" : "warning";
    case "enum":
      return textual ? "ok" : jsonish(base) ? "error" : "warning";
    case "uuid":
      return base === "uuid" ? "ok" : textual ? "warning" : "error";
    case "boolean":
      return base === "bool" ? "ok" : "error";
    case "short":
      return base === "int2" ? "ok" : NUMBERS.includes(base) ? "warning" : "error";
    case "integer":
      return ["int2", "int4"].includes(base) ? "ok" : NUMBERS.includes(base) ? "warning" : "error";
    case "long":
      return INTEGERS.includes(base) ? "ok" : NUMBERS.includes(base) ? "warning" : "error";
    case "float":
    case "double":
    case "decimal":
      return NUMBERS.includes(base) || base === "money" ? "ok" : "error";
    case "date":
    case "timestamp":
      return TIMES.includes(base) ? "ok" : "error";
    case "binary":
      return base === "bytea" ? "ok" : "error";
    case "json":
      return jsonish(base) ? "ok" : "error";
    case "custom":
      return postgres === undefined || sameType(postgres, column) ? "ok" : "error";
  }
}

/** What a field type expects, for messages. */
export function expectedTypes(type: ScalarType, postgres?: string): string {
  switch (type) {
    case "text":
    case "identifier":
    case "keyword":
    case "enum":
      return "a text-like type (text, varchar, citext, an enum, uuid)";
    case "uuid":
      return "uuid";
    case "boolean":
      return "boolean";
    case "short":
      return "smallint";
    case "integer":
      return "smallint or integer";
    case "long":
      return "smallint, integer or bigint";
    case "float":
    case "double":
    case "decimal":
      return "a numeric type";
    case "date":
    case "timestamp":
      return "date, timestamp or timestamptz";
    case "binary":
      return "bytea";
    case "json":
      return "json or jsonb";
    case "custom":
      return postgres ?? "any type";
  }
}

/** json/jsonb: a document, not a scalar. */
export function jsonish(base: string): boolean {
  return base === "json" || base === "jsonb";
}

/** Numeric types (for geo lat/lon and numeric aggregates). */
export function isNumeric(base: string): boolean {
  return NUMBERS.includes(base);
}

const ALIASES: Record<string, string> = {
  bigint: "int8",
  integer: "int4",
  int: "int4",
  smallint: "int2",
  boolean: "bool",
  real: "float4",
  "double precision": "float8",
  "character varying": "varchar",
  character: "bpchar",
  decimal: "numeric",
  "timestamp with time zone": "timestamptz",
  "timestamp without time zone": "timestamp",
};

function sameType(expected: string, column: CatalogColumn): boolean {
  const want = expected.trim().toLowerCase().replace(/\(.*\)$/, "").replace(/\[\]$/, "");
  const normal = ALIASES[want] ?? want;
  const declared = column.declared.toLowerCase();
  return normal === column.base || want === declared || normal === column.domain ||
    declared.startsWith(`${want}(`) || declared.endsWith(`.${want}`);
}
