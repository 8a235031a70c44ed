/**
 * SQL expressions that turn one column value into its JSON form, per Postgres type. The rules
 * (the oracle in tests/support/oracle.ts implements the same rules independently):
 *
 * - int2/int4 → JSON number. int8 → number when |v| ≤ 2^53−1, else a JSON *string* of its
 *   digits: JavaScript (and the client's JSON.parse) cannot hold larger integers exactly, and
 *   OpenSearch coerces numeric strings into `long` fields, so nothing is lost end to end.
 * - numeric → number when it has at most 15 significant digits (every such decimal survives a
 *   trip through a double), else the exact decimal text as a string (same coercion argument).
 * - float4/float8 → number. NaN and ±Infinity (also numeric's) → null: JSON cannot carry them
 *   and OpenSearch numeric fields reject them, so they index as "no value".
 * - timestamptz → RFC 3339 in UTC with `Z` (`2024-01-01T00:00:00.123456Z`, fraction only when
 *   non-zero), independent of the session's TimeZone. timestamp → the same without offset.
 *   date → `YYYY-MM-DD`. ±infinity → null (OpenSearch dates cannot hold them).
 * - bytea → base64 (no line breaks). json/jsonb → the JSON value itself. bool → true/false.
 * - everything else (text, varchar, citext, enums, domains over them, uuid, inet, interval…)
 *   → its text output as a string.
 * - arrays of any of these → JSON arrays (multi-dimensional arrays flattened), element by element.
 *
 * Known limit: numbers *inside* json/jsonb values are parsed by JavaScript's JSON.parse and so
 * lose precision beyond 2^53 (the document model cannot know their meaning).
 */
import type { ScalarType } from "../config/model.ts";
import type { ColumnType, ValueKind } from "./column_types.ts";

/** Largest integer a double holds exactly. */
export const MAX_SAFE = "9007199254740991";

/** JSON of a scalar (non-array) SQL expression of kind `kind`. */
export function jsonOfKind(expr: string, kind: ValueKind): string {
  switch (kind) {
    case "int2":
    case "int4":
    case "bool":
    case "json":
      return `to_json(${expr})`;
    case "jsonb":
      return `(${expr})::json`;
    case "int8":
      return `CASE WHEN ${expr} BETWEEN -${MAX_SAFE} AND ${MAX_SAFE} THEN to_json(${expr}) ` +
        `ELSE to_json((${expr})::text) END`;
    case "numeric":
      return `CASE WHEN ${expr} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ` +
        // Significant digits: the text without leading zeros and points, and without the
        // point (ltrim and replace: a regular expression per value costs several times more).
        `WHEN length(replace(ltrim(trim_scale(abs(${expr}))::text, '0.'), '.', '')) <= 15 ` +
        `THEN to_json(${expr}) ELSE to_json((${expr})::text) END`;
    case "float4":
    case "float8":
      return `CASE WHEN ${expr} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE to_json(${expr}) END`;
    case "timestamptz":
      return `CASE WHEN isfinite(${expr}) THEN ` +
        `to_json((to_json((${expr}) AT TIME ZONE 'UTC') #>> '{}') || 'Z') END`;
    case "timestamp":
    case "date":
      return `CASE WHEN isfinite(${expr}) THEN to_json(${expr}) END`;
    case "bytea":
      return `to_json(translate(encode(${expr}, 'base64'), E'\\n', ''))`;
    case "point":
      return `CASE WHEN ${expr} IS NOT NULL THEN ` +
        `json_build_object('lat', (${expr})[1], 'lon', (${expr})[0]) END`;
    case "text":
      return `to_json((${expr})::text)`;
  }
}

/**
 * The JSON text of a scalar (non-array) SQL expression of kind `kind`, as a `text` value (NULL
 * stays NULL): the same text as `jsonOfKind(expr, kind)::text`, but built without a `json`
 * datum in between where the type's own output already is JSON. A document is concatenated
 * from these texts (build_plan.ts), so every `to_json` saved here is saved once per field per
 * document; timestamptz no longer parses its own JSON back (`#>>`) to append the `Z`.
 */
export function jsonTextOfKind(expr: string, kind: ValueKind): string {
  switch (kind) {
    // Their text output is their JSON (true/false, digits, the JSON text itself).
    case "int2":
    case "int4":
    case "bool":
    case "json":
    case "jsonb":
      return `(${expr})::text`;
    case "int8":
      return `CASE WHEN ${expr} BETWEEN -${MAX_SAFE} AND ${MAX_SAFE} THEN (${expr})::text ` +
        `ELSE '"' || (${expr})::text || '"' END`;
    case "numeric":
      // numeric's text output is a plain decimal (never an exponent): a valid JSON number,
      // and digits need no escaping inside a string.
      return `CASE WHEN ${expr} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ` +
        `WHEN length(replace(ltrim(trim_scale(abs(${expr}))::text, '0.'), '.', '')) <= 15 ` +
        `THEN (${expr})::text ELSE '"' || (${expr})::text || '"' END`;
    case "timestamptz":
      // A timestamp's JSON string holds no character JSON escapes: the `Z` goes in before
      // its closing quote.
      return `CASE WHEN isfinite(${expr}) THEN ` +
        `left(to_json((${expr}) AT TIME ZONE 'UTC')::text, -1) || 'Z"' END`;
    default:
      return `(${jsonOfKind(expr, kind)})::text`;
  }
}

/**
 * JSON of a column value for a scalar field of `fieldType` with `transforms`. Arrays map
 * element-wise; transforms turn the value into text first.
 */
export function columnValueSql(
  expr: string,
  type: ColumnType,
  fieldType: ScalarType,
  transforms: readonly ("lowercase" | "trim")[],
): string {
  const element = (e: string): string => {
    if (transforms.length > 0) {
      let text = `(${e})::text`;
      for (const t of transforms) text = t === "lowercase" ? `lower(${text})` : `btrim(${text})`;
      return `to_json(${text})`;
    }
    // A json field over a text column holds JSON text: parse it.
    if (fieldType === "json" && type.kind === "text") return `(${e})::json`;
    return jsonOfKind(e, type.kind);
  };
  if (!type.array) return element(expr);
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE (SELECT coalesce(json_agg(${
    element("_fl_u._fl_e")
  } ORDER BY _fl_u._fl_o), '[]'::json) FROM unnest(${expr}) WITH ORDINALITY AS _fl_u(_fl_e, _fl_o)) END`;
}

/**
 * `columnValueSql` as JSON text (a `text` value, NULL for NULL): the form a document is
 * concatenated from. Arrays, transforms and JSON parsed from text keep the `json` form.
 */
export function columnJsonTextSql(
  expr: string,
  type: ColumnType,
  fieldType: ScalarType,
  transforms: readonly ("lowercase" | "trim")[],
): string {
  const plain = !type.array && transforms.length === 0 &&
    !(fieldType === "json" && type.kind === "text");
  return plain
    ? jsonTextOfKind(expr, type.kind)
    : `(${columnValueSql(expr, type, fieldType, transforms)})::text`;
}
