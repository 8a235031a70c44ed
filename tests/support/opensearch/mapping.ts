/**
 * Mappings: parsing and merging mapping definitions (create index, put mapping), checking a
 * document's values against the mapped types (`mapper_parsing_exception`), `dynamic` handling
 * (`true` maps new fields, `false` ignores them, `strict` rejects them), and the flat field
 * table queries and sorting use.
 *
 * A mapping is kept as the JSON OpenSearch returns from `GET /<index>/_mapping`, so reading it
 * back needs no conversion. Checking a document never mutates it: when a document brings new
 * fields, the check runs again on a copy that is swapped in only if the document is accepted.
 *
 * Bulk indexing first asks `source_scan.ts`, which accepts the common case straight from the
 * text; this full check runs for everything it is not sure about and alone decides errors.
 */
import { Buffer } from "node:buffer";
import { DEFAULT_DATE_FORMAT, DYNAMIC_DATE_FORMATS, isDate, parseDate } from "./dates.ts";
import { illegalArgument, mapperParsing, OpenSearchError, strictDynamic } from "./errors.ts";

/** A mapping object as OpenSearch shows it (root or field level). */
export type MappingDef = Record<string, unknown>;

/** One searchable field: its full path, type, definition and where its values live in _source. */
export interface FieldInfo {
  readonly path: string;
  readonly type: string;
  readonly sourcePath: string;
  readonly def: MappingDef;
}

const NUMERIC = new Set([
  "long",
  "integer",
  "short",
  "byte",
  "double",
  "float",
  "half_float",
  "scaled_float",
  "unsigned_long",
]);
const STRINGS = new Set(["keyword", "text", "match_only_text", "wildcard", "constant_keyword"]);
const OTHER = new Set([
  "boolean",
  "date",
  "date_nanos",
  "object",
  "nested",
  "geo_point",
  "geo_shape",
  "binary",
  "ip",
  "flat_object",
  "alias",
  "completion",
  "search_as_you_type",
  "token_count",
  "knn_vector",
  "rank_feature",
  "rank_features",
  "percolator",
  "join",
  "integer_range",
  "long_range",
  "float_range",
  "double_range",
  "date_range",
  "ip_range",
]);
const ROOT_PARAMS = new Set([
  "properties",
  "dynamic",
  "_meta",
  "_source",
  "_routing",
  "date_detection",
  "numeric_detection",
  "dynamic_date_formats",
  "dynamic_templates",
  "enabled",
  "_field_names",
  "_size",
  "derived",
]);

/** True for the string field types (keyword, text, ...). */
export function isStringType(type: string): boolean {
  return STRINGS.has(type);
}

/** True for the numeric field types. */
export function isNumericType(type: string): boolean {
  return NUMERIC.has(type);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mappingError(reason: string): OpenSearchError {
  return mapperParsing(`Failed to parse mapping [_doc]: ${reason}`, illegalArgument(reason));
}

/** The `type` of a field definition (`object` when it only has properties). */
export function typeOf(def: MappingDef): string {
  return typeof def.type === "string" ? def.type : "object";
}

/** Normalises one `properties` block: expands dotted names and checks types and required params. */
function normaliseProperties(props: unknown): Record<string, MappingDef> {
  if (!isObject(props)) throw mappingError("properties must be an object");
  const out: Record<string, MappingDef> = {};
  for (const [rawName, rawDef] of Object.entries(props)) {
    if (rawName.trim() === "") throw mappingError("field name cannot be an empty string");
    if (!isObject(rawDef)) {
      throw mapperParsing(
        `Expected map for property [fields] on field [${rawName}] but got a class java.lang.String`,
      );
    }
    const parts = rawName.split(".");
    if (parts.some((p) => p === "")) {
      throw mappingError(
        `field name [${rawName}] cannot contain only whitespace or empty segments`,
      );
    }
    const leaf = normaliseField(parts[parts.length - 1], rawDef);
    let def: MappingDef = leaf;
    for (let i = parts.length - 2; i >= 0; i--) def = { properties: { [parts[i + 1]]: def } };
    out[parts[0]] = out[parts[0]] ? mergeField(parts[0], out[parts[0]], def) : def;
  }
  return out;
}

function normaliseField(name: string, raw: Record<string, unknown>): MappingDef {
  const def: MappingDef = { ...raw };
  if (def.type === "object") delete def.type;
  const type = typeOf(def);
  if (!NUMERIC.has(type) && !STRINGS.has(type) && !OTHER.has(type)) {
    throw mapperParsing(`No handler for type [${String(def.type)}] declared on field [${name}]`);
  }
  if (type === "scaled_float" && typeof def.scaling_factor !== "number") {
    throw mappingError("Field [scaling_factor] is required");
  }
  if (def.properties !== undefined) {
    if (type !== "object" && type !== "nested") {
      throw mapperParsing(`unknown parameter [properties] on mapper [${name}] of type [${type}]`);
    }
    def.properties = normaliseProperties(def.properties);
  }
  if (def.fields !== undefined) def.fields = normaliseProperties(def.fields);
  if (def.dynamic !== undefined) def.dynamic = normaliseDynamic(def.dynamic);
  return def;
}

function normaliseDynamic(v: unknown): unknown {
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  if (v === "strict" || v === "strict_allow_templates") return v;
  throw mappingError(`Could not convert [dynamic] to boolean or strict: [${String(v)}]`);
}

/**
 * Parses the `mappings` of a create-index or put-mapping request into the stored form.
 * `forPut` changes the message for a type-wrapped mapping, as OpenSearch does.
 */
export function parseMapping(raw: unknown, forPut = false): MappingDef {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw mapperParsing("Failed to parse mapping: mapping must be an object");
  if ("_doc" in raw && isObject(raw._doc)) {
    throw illegalArgument(
      forPut
        ? "Types cannot be provided in put mapping requests"
        : "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.",
    );
  }
  const unknown = Object.keys(raw).filter((k) => !ROOT_PARAMS.has(k));
  if (unknown.length) {
    throw mapperParsing(
      `Root mapping definition has unsupported parameters:  ${
        unknown.map((k) => `[${k} : ${JSON.stringify(raw[k])}]`).join(" ")
      }`,
    );
  }
  const out: MappingDef = { ...raw };
  if (out.dynamic !== undefined) out.dynamic = normaliseDynamic(out.dynamic);
  if (out.properties !== undefined) out.properties = normaliseProperties(out.properties);
  return out;
}

function mergeField(name: string, current: MappingDef, update: MappingDef): MappingDef {
  const a = typeOf(current), b = typeOf(update);
  if (a !== b) {
    if (a === "object" || b === "object") {
      throw illegalArgument(`can't merge a non object mapping [${name}] with an object mapping`);
    }
    throw illegalArgument(`mapper [${name}] cannot be changed from type [${a}] to [${b}]`);
  }
  const out: MappingDef = { ...current, ...update };
  if (isObject(current.properties) || isObject(update.properties)) {
    out.properties = mergeProps(
      name,
      (current.properties ?? {}) as Record<string, MappingDef>,
      (update.properties ?? {}) as Record<string, MappingDef>,
    );
  }
  if (isObject(current.fields) && isObject(update.fields)) {
    out.fields = mergeProps(
      name,
      current.fields as Record<string, MappingDef>,
      update.fields as Record<string, MappingDef>,
    );
  }
  return out;
}

function mergeProps(
  prefix: string,
  current: Record<string, MappingDef>,
  update: Record<string, MappingDef>,
): Record<string, MappingDef> {
  const out = { ...current };
  for (const [k, def] of Object.entries(update)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out[k] = out[k] ? mergeField(path, out[k], def) : def;
  }
  return out;
}

/** Merges a parsed put-mapping request into the current mapping (new fields, changed params). */
export function mergeMapping(current: MappingDef, update: MappingDef): MappingDef {
  const out: MappingDef = { ...current, ...update };
  if (current.properties || update.properties) {
    out.properties = mergeProps(
      "",
      (current.properties ?? {}) as Record<string, MappingDef>,
      (update.properties ?? {}) as Record<string, MappingDef>,
    );
  }
  return out;
}

/** The flat field table of a mapping: every field, object and multi-field by full path. */
export function fieldTable(mapping: MappingDef): Map<string, FieldInfo> {
  const table = new Map<string, FieldInfo>();
  const walk = (props: unknown, prefix: string) => {
    if (!isObject(props)) return;
    for (const [name, d] of Object.entries(props)) {
      const def = d as MappingDef;
      const path = prefix ? `${prefix}.${name}` : name;
      const type = typeOf(def);
      table.set(path, { path, type, sourcePath: path, def });
      if (type === "object" || type === "nested") walk(def.properties, path);
      if (isObject(def.fields)) {
        for (const [sub, sd] of Object.entries(def.fields)) {
          const subDef = sd as MappingDef;
          table.set(`${path}.${sub}`, {
            path: `${path}.${sub}`,
            type: typeOf(subDef),
            sourcePath: path,
            def: subDef,
          });
        }
      }
    }
  };
  walk(mapping.properties, "");
  return table;
}

// ------------------------------------------------------------------------------- document check

class NeedsDynamicUpdate extends Error {}

type Dynamic = true | false | "strict" | "strict_allow_templates";

function javaPreview(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(javaPreview).join(", ")}]`;
  if (isObject(v)) {
    return `{${Object.entries(v).map(([k, x]) => `${k}=${javaPreview(x)}`).join(", ")}}`;
  }
  return String(v);
}

function fieldFailure(
  path: string,
  type: string,
  id: string,
  value: unknown,
  cause: OpenSearchError,
): OpenSearchError {
  return mapperParsing(
    `failed to parse field [${path}] of type [${type}] in document with id '${id}'. ` +
      `Preview of field's value: '${javaPreview(value)}'`,
    cause,
  );
}

const INT_RANGES: Record<string, [number, number, string]> = {
  long: [-9223372036854775808, 9223372036854775807, "a long"],
  integer: [-2147483648, 2147483647, "an integer"],
  short: [-32768, 32767, "a short"],
  byte: [-128, 127, "a byte"],
  unsigned_long: [0, 18446744073709551615, "an unsigned_long"],
};

function numberFormat(text: string): OpenSearchError {
  return new OpenSearchError(400, "number_format_exception", `For input string: "${text}"`);
}

/** Why a scalar `value` does not fit a field of `def`'s type, or undefined when it fits. */
function scalarProblem(def: MappingDef, type: string, value: unknown): OpenSearchError | undefined {
  if (STRINGS.has(type)) {
    if (isObject(value)) {
      return new OpenSearchError(
        500,
        "illegal_state_exception",
        "Can't get text on a START_OBJECT at 1:1",
      );
    }
    return undefined;
  }
  if (NUMERIC.has(type)) {
    let n: number;
    if (typeof value === "number") n = value;
    else if (typeof value === "string") {
      const t = value.trim();
      if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
        return numberFormat(value);
      }
      n = Number(t);
    } else if (typeof value === "boolean") {
      return new OpenSearchError(
        400,
        "json_parse_exception",
        `Current token (VALUE_${
          value ? "TRUE" : "FALSE"
        }) not numeric, can not use numeric value accessors`,
      );
    } else {
      return new OpenSearchError(
        400,
        "json_parse_exception",
        "Current token (START_OBJECT) not numeric, can not use numeric value accessors",
      );
    }
    if (!Number.isFinite(n)) {
      return illegalArgument(
        `[${
          type === "scaled_float" ? "double" : type
        }] supports only finite values, but got [${n}]`,
      );
    }
    const range = INT_RANGES[type];
    if (range) {
      if (def.coerce === false && !Number.isInteger(n)) {
        return illegalArgument(`Value [${n}] has a decimal part`);
      }
      const whole = Math.trunc(n);
      if (whole < range[0] || whole > range[1]) {
        return illegalArgument(`Value [${value}] is out of range for ${range[2]}`);
      }
    } else if (type === "float" && Math.abs(n) > 3.4028234663852886e38) {
      return illegalArgument(`[float] supports only finite values, but got [Infinity]`);
    } else if (type === "half_float" && Math.abs(n) > 65504) {
      return illegalArgument(`[half_float] supports only finite values, but got [Infinity]`);
    }
    return undefined;
  }
  switch (type) {
    case "boolean":
      if (typeof value === "boolean" || value === "true" || value === "false" || value === "") {
        return undefined;
      }
      return illegalArgument(
        `Failed to parse value [${javaPreview(value)}] as only [true] or [false] are allowed.`,
      );
    case "date":
    case "date_nanos": {
      const format = typeof def.format === "string" ? def.format : DEFAULT_DATE_FORMAT;
      if (isDate(value, format)) return undefined;
      return illegalArgument(
        `failed to parse date field [${javaPreview(value)}] with format [${format}]`,
        new OpenSearchError(
          400,
          "date_time_parse_exception",
          "Failed to parse with all enclosed parsers",
        ),
      );
    }
    case "binary":
      if (typeof value === "string" && /^[A-Za-z0-9+/\r\n]*={0,2}$/.test(value)) {
        return Buffer.from(value, "base64").length > 0 || value === "" ? undefined : undefined;
      }
      return new OpenSearchError(
        400,
        "json_parse_exception",
        `Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Illegal character in base64 content`,
      );
    case "ip":
      if (typeof value === "string" && (isIPv4(value) || isIPv6(value))) return undefined;
      return illegalArgument(`'${javaPreview(value)}' is not an IP string literal.`);
    default:
      return undefined;
  }
}

function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s) && s.split("::").length <= 2;
}

function geoProblem(value: unknown): OpenSearchError | undefined {
  let lat: unknown, lon: unknown;
  if (isObject(value)) {
    lat = value.lat;
    lon = value.lon;
    if (lat === undefined || lon === undefined) {
      if (value.type === "Point" && Array.isArray(value.coordinates)) {
        [lon, lat] = value.coordinates;
      } else return new OpenSearchError(400, "parse_exception", "field [lat] missing");
    }
  } else if (typeof value === "string") {
    const wkt = value.match(/^\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$/i);
    const pair = value.split(",");
    if (wkt) [lon, lat] = [Number(wkt[1]), Number(wkt[2])];
    else if (pair.length === 2) [lat, lon] = pair.map((p) => Number(p.trim()));
    else if (/^[0-9b-hjkmnp-z]{1,12}$/.test(value)) return undefined; // geohash
    else {return new OpenSearchError(
        400,
        "parse_exception",
        `unsupported symbol [${value[0]}] in geohash [${value}]`,
      );}
  } else {
    return new OpenSearchError(400, "parse_exception", "geo_point expected");
  }
  const la = Number(lat), lo = Number(lon);
  if (!Number.isFinite(la) || la < -90 || la > 90) {
    return illegalArgument(`illegal latitude value [${la}] for location`);
  }
  if (!Number.isFinite(lo) || lo < -180 || lo > 180) {
    return illegalArgument(`illegal longitude value [${lo}] for location`);
  }
  return undefined;
}

/** The mapping OpenSearch would add for a new field holding `value`, or undefined for null/[]. */
function inferField(value: unknown, root: MappingDef): MappingDef | undefined {
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    return first === undefined ? undefined : inferField(first, root);
  }
  if (value === null || value === undefined) return undefined;
  if (typeof value === "boolean") return { type: "boolean" };
  if (typeof value === "number") {
    return Number.isInteger(value) ? { type: "long" } : { type: "float" };
  }
  if (isObject(value)) return { properties: {} };
  const s = String(value);
  if (root.date_detection !== false) {
    const formats = Array.isArray(root.dynamic_date_formats)
      ? root.dynamic_date_formats as string[]
      : DYNAMIC_DATE_FORMATS;
    for (const [i, f] of formats.entries()) {
      if (parseDate(s, f) !== undefined) {
        return i === 0 && formats === DYNAMIC_DATE_FORMATS
          ? { type: "date" }
          : { type: "date", format: f };
      }
    }
  }
  if (root.numeric_detection === true && /^[+-]?\d+$/.test(s)) return { type: "long" };
  if (root.numeric_detection === true && !Number.isNaN(Number(s)) && s.trim() !== "") {
    return { type: "float" };
  }
  return { type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } };
}

interface Walk {
  id: string;
  root: MappingDef;
  /** When false, meeting an unmapped field that dynamic mapping would add aborts the pass. */
  mutate: boolean;
  changed: boolean;
}

function effectiveDynamic(def: MappingDef, inherited: Dynamic): Dynamic {
  return def.dynamic === undefined ? inherited : def.dynamic as Dynamic;
}

function walkObject(
  w: Walk,
  obj: Record<string, unknown>,
  container: MappingDef,
  prefix: string,
  dynamic: Dynamic,
): void {
  for (const key in obj) {
    const value = obj[key];
    if (key === "" || key.trim() === "") {
      throw mapperParsing(
        "failed to parse",
        illegalArgument(`field name cannot be an empty string`),
      );
    }
    if (key.includes(".")) {
      const parts = key.split(".");
      if (parts.some((p) => p.trim() === "")) {
        throw mapperParsing(
          "failed to parse",
          illegalArgument(
            `object field starting or ending with a [.] makes object resolution ambiguous: [${key}]`,
          ),
        );
      }
      let nested: unknown = value;
      for (let i = parts.length - 1; i >= 1; i--) nested = { [parts[i]]: nested };
      walkObject(w, { [parts[0]]: nested }, container, prefix, dynamic);
      continue;
    }
    const path = prefix ? `${prefix}.${key}` : key;
    const props = container.properties as Record<string, MappingDef> | undefined;
    let def = props?.[key];
    if (!def) {
      const inferred = inferField(value, w.root);
      if (!inferred) continue;
      if (dynamic === "strict" || dynamic === "strict_allow_templates") {
        throw strictDynamic(key, prefix || "_doc");
      }
      if (dynamic === false) continue;
      if (!w.mutate) throw new NeedsDynamicUpdate();
      container.properties = { ...(props ?? {}), [key]: inferred };
      def = inferred;
      w.changed = true;
    }
    walkValue(w, value, def, path, dynamic);
  }
}

function walkValue(w: Walk, value: unknown, def: MappingDef, path: string, dynamic: Dynamic): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) walkValue(w, v, def, path, dynamic);
    return;
  }
  const type = typeOf(def);
  if (type === "object" || type === "nested") {
    if (def.enabled === false) return;
    if (!isObject(value)) {
      const leaf = path.slice(path.lastIndexOf(".") + 1);
      throw mapperParsing(
        `object mapping for [${path}] tried to parse field [${leaf}] as object, but found a concrete value`,
      );
    }
    walkObject(w, value, def, path, effectiveDynamic(def, dynamic));
    return;
  }
  if (type === "flat_object") return;
  if (type === "geo_point") {
    if (Array.isArray(value)) return;
    const problem = geoProblem(value);
    if (problem) throw fieldFailure(path, type, w.id, value, problem);
    return;
  }
  if (isObject(value) && !STRINGS.has(type) && !NUMERIC.has(type) && !OTHER.has(type)) return;
  const problem = scalarProblem(def, type, value);
  if (problem) throw fieldFailure(path, type, w.id, value, problem);
}

/**
 * Checks `source` against `mapping`. Returns undefined when the document fits as is, or the
 * mapping extended with the fields dynamic mapping adds. Throws `mapper_parsing_exception` or
 * `strict_dynamic_mapping_exception` when OpenSearch would reject the document.
 */
export function checkDocument(
  mapping: MappingDef,
  source: unknown,
  id: string,
): MappingDef | undefined {
  if (!isObject(source)) {
    throw mapperParsing(
      "failed to parse",
      new OpenSearchError(
        400,
        "not_x_content_exception",
        "Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes",
      ),
    );
  }
  const dynamic = effectiveDynamic(mapping, true);
  try {
    walkObject({ id, root: mapping, mutate: false, changed: false }, source, mapping, "", dynamic);
    return undefined;
  } catch (e) {
    if (!(e instanceof NeedsDynamicUpdate)) throw e;
  }
  const copy = structuredClone(mapping);
  const w: Walk = { id, root: copy, mutate: true, changed: false };
  walkObject(w, source, copy, "", dynamic);
  return w.changed ? copy : undefined;
}
