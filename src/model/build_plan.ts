/**
 * The build statement of one index: given the root keys of a chunk as text arrays, it builds
 * every document server-side in one round trip, as JSON text (objects concatenated from their
 * fields' JSON, correlated `string_agg` subqueries for to-many relations, scalar subqueries for
 * to-one relations and aggregates).
 *
 *   SELECT k._fl_k1, …, CASE WHEN t0.<pk> IS NULL THEN NULL ELSE <document> END::text
 *   FROM unnest($1::text[], …) AS k(_fl_k1, …)
 *   LEFT JOIN <root> t0 ON t0.<pk> = k._fl_k1::<type> AND <not soft-deleted> AND <filters>
 *
 * A key whose row is missing, soft-deleted or filtered out comes back with a NULL document:
 * a delete. The document is returned as text (see scalar_sql.ts for why numbers are exact).
 *
 * Backfill pages use a second statement with the same document expression over a key range
 * (`WHERE (<pk>) > (<cursor>) ORDER BY <pk> LIMIT n`): one index range scan per page instead
 * of a key scan followed by a probe per key.
 *
 * flusso runs them in packed form (`packedSql`, `packedPageSql`, `packedRangeSql`): the same
 * rows, aggregated `PACK_ROWS` at a time (a range statement: a span of an integer key, or one
 * heap page, at a time) into one result row of the keys, one per line, and the documents,
 * separated by U+001E. Decoding a result row costs the client a fixed amount however small the
 * row, and documents are usually small: one row per document spent more of flusso's time on the
 * protocol than on the document (see `unpackRows`).
 */
import type {
  AggregateField,
  Field,
  IndexConfig,
  RelationField,
  ScalarType,
  TableRef,
} from "../config/model.ts";
import { quoteIdent, quoteLiteral, quoteTable } from "../postgres/identifiers.ts";
import type { ColumnCatalog, ColumnType, ValueKind } from "./column_types.ts";
import { ModelShapeError } from "./errors.ts";
import { filtersSql } from "./filter_sql.ts";
import { columnJsonTextSql, columnValueSql, jsonOfKind, jsonTextOfKind } from "./scalar_sql.ts";
import { type ParamValue, SqlParams } from "./sql_params.ts";

/** The prepared build statement of one index. */
export interface BuildPlan {
  readonly index: string;
  /** Number of root key columns: parameters $1..$n are their text arrays. */
  readonly keyColumns: number;
  readonly sql: string;
  /** The values of the parameters after the key arrays (filters, defaults, constants). */
  readonly params: readonly ParamValue[];
  /**
   * The backfill page statement: the documents of the root rows after a key, in key order,
   * skipping rows soft-deleted or filtered out. It returns each row's key text
   * (the text pgoutput sends: see `keyText`) and document; bind it with `pageParams`.
   */
  readonly pageSql: string;
  /** `sql` in packed form (see the module doc and `unpackRows`); same parameters. */
  readonly packedSql: string;
  /** `pageSql` in packed form, packs in key order; same parameters. */
  readonly packedPageSql: string;
  /**
   * The documents of the root rows after one key up to and including another, packed (in no
   * particular order), without a size limit; bind it with `rangeParams`.
   */
  readonly packedRangeSql: string;
  /**
   * Whether `packedRangeSql` packs by spans of an integer key (its last parameter is the span's
   * width) rather than by heap page.
   */
  readonly rangePacksByKeySpan: boolean;
  /**
   * Page bounds: the key (as text) of every `limit`-th root row after a key, for `pages` pages,
   * counting every row (soft-deleted and filtered ones too); bind it with `boundsParams`.
   */
  readonly boundsSql: string;
}

/**
 * Documents per packed result row of a live build or an ordered page, and the aim of a range's
 * key spans (a range packed by heap page holds at most 291 per pack). A pack is one text value,
 * so it must stay far below Postgres' 1 GB limit on one value even for documents of several
 * megabytes.
 */
export const PACK_ROWS = 64;

/**
 * What separates the documents of a pack: U+001E cannot occur raw in JSON text (a control
 * character is neither whitespace nor allowed inside a string), unlike a newline, which may be
 * whitespace in a `json` value. So Postgres joins documents without scanning them, and flusso
 * turns the rare raw newline into a space (see `unpackRows`).
 */
const DOC_SEPARATOR = 0x1e;

interface Scope {
  readonly alias: string;
  readonly table: TableRef;
  /** The primary key of the row the alias stands for (for relations that hang below it). */
  readonly key: readonly string[];
  readonly path: string;
}

interface Context {
  readonly index: string;
  readonly catalog: ColumnCatalog;
  readonly params: SqlParams;
  aliases: number;
}

/** Plans the build statement of `index`. Throws UnknownColumnError / ModelShapeError. */
export function buildPlan(index: IndexConfig, catalog: ColumnCatalog): BuildPlan {
  const model = index.model;
  const params = new SqlParams();
  for (const _ of model.primaryKey) params.add(null);
  const ctx: Context = { index: index.name, catalog, params, aliases: 1 };
  const root: Scope = { alias: "t0", table: model.table, key: model.primaryKey, path: "" };
  const keyNames = model.primaryKey.map((_, i) => `_fl_k${i + 1}`);
  const bareKey = model.primaryKey.length === 1 &&
    hasPlainKeyText(catalog.column(model.table, model.primaryKey[0]));
  const join = model.primaryKey.map((col, i) =>
    `t0.${quoteIdent(col)} = k.${keyNames[i]}::${catalog.column(model.table, col).castType}`
  );
  if (model.softDelete) {
    const marker = catalog.column(model.table, model.softDelete.column);
    const col = `t0.${quoteIdent(model.softDelete.column)}`;
    join.push(marker.kind === "bool" && !marker.array ? `${col} IS NOT TRUE` : `${col} IS NULL`);
  }
  if (model.filters.length > 0) {
    join.push(filtersSql(model.filters, "t0", model.table, catalog, params, {
      index: index.name,
      path: "",
    }));
  }
  const document = objectSql(model.fields, root, ctx);
  // The backfill's page statements: the same document over a range of the root's key instead
  // of a key list. $1..$n are the cursor's key texts; after the plan's own values comes the
  // page size (page statement) or the range's last key (range statement).
  const limit = params.add(null);
  const afterSlot = params.values.length; // the first placeholder after the plan's values
  const columns = model.primaryKey.map((col) => `t0.${quoteIdent(col)}`);
  // Each key column's text as pgoutput sends it (see keyText).
  const keyTexts = (alias: string) =>
    model.primaryKey.map((col) =>
      keyText(`${alias}.${quoteIdent(col)}`, catalog.column(model.table, col))
    );
  const keyTuple = (first: number) =>
    `(${
      model.primaryKey.map((col, i) =>
        `$${first + i}::text::${catalog.column(model.table, col).castType}`
      ).join(", ")
    })`;
  const rowConditions = join.slice(model.primaryKey.length).map((condition) =>
    `  AND ${condition}`
  );
  const pageSql = [
    `SELECT ${keyTexts("t0").map((c, i) => `${c} AS ${keyNames[i]}`).join(", ")},`,
    `  ${document}::text AS _fl_doc,`,
    // The window's order is the query's own, so the index scan feeds it without another sort.
    `  row_number() OVER (ORDER BY ${columns.join(", ")}) AS _fl_n`,
    `FROM ${quoteTable(model.table)} t0`,
    `WHERE (${columns.join(", ")}) > ${keyTuple(1)}`,
    ...rowConditions,
    `ORDER BY ${columns.join(", ")}`,
    `LIMIT ${limit}::integer`,
  ].join("\n");
  // A range has no LIMIT: it holds every row between its bounds, however many arrived since.
  const rangePacksByKeySpan = model.primaryKey.length === 1 &&
    isIntegerKey(catalog.column(model.table, model.primaryKey[0]));
  const packedRangeSql = packRows(
    keyLineSql(keyTexts("t0"), bareKey),
    `${document}::text`,
    `${quoteTable(model.table)} t0`,
    [
      `WHERE (${columns.join(", ")}) > ${keyTuple(1)}`,
      `  AND (${columns.join(", ")}) <= ${keyTuple(afterSlot)}`,
      ...rowConditions,
    ],
    rangePacksByKeySpan
      ? `${columns[0]} / $${afterSlot + model.primaryKey.length}::text::bigint`
      : `t0.tableoid, (t0.ctid::text::point)[0]`,
  );
  // Page bounds read keys only (index-only scans) over every row, before soft delete and
  // filters: ranges between them cover the table exactly whatever those exclude. Each bound is
  // the key `limit` rows past the previous one, an OFFSET that skips index entries without
  // projecting them; numbering every key with a window function cost Postgres 4 times as much.
  const n = model.primaryKey.length;
  const bareColumns = model.primaryKey.map((col) => `r.${quoteIdent(col)}`);
  const boundStep = (after: string) =>
    [
      `SELECT ${bareColumns.join(", ")} FROM ${quoteTable(model.table)} r`,
      `    WHERE (${bareColumns.join(", ")}) > ${after}`,
      `    ORDER BY ${bareColumns.join(", ")} OFFSET $${n + 1}::integer - 1 LIMIT 1`,
    ].join("\n");
  const boundsSql = [
    `WITH RECURSIVE b(_fl_n, ${keyNames.join(", ")}) AS (`,
    `  (SELECT 1, s.* FROM (${boundStep(keyTuple(1))}) s)`,
    `  UNION ALL`,
    `  SELECT b._fl_n + 1, s.* FROM b CROSS JOIN LATERAL (${
      boundStep(`(${keyNames.map((k) => `b.${k}`).join(", ")})`)
    }) s`,
    `  WHERE b._fl_n < $${n + 2}::integer)`,
    `SELECT ${
      model.primaryKey.map((col, i) =>
        `${keyText(`b.${keyNames[i]}`, catalog.column(model.table, col))} AS ${keyNames[i]}`
      ).join(", ")
    }`,
    `FROM b ORDER BY b._fl_n`,
  ].join("\n");
  const keyArrays = keyNames.map((_, i) => `$${i + 1}::text[]`).join(", ");
  const keyedDocument = `CASE WHEN t0.${
    quoteIdent(model.primaryKey[0])
  } IS NULL THEN NULL ELSE ${document} END::text`;
  const rootJoin = `LEFT JOIN ${quoteTable(model.table)} t0 ON ${join.join(" AND ")}`;
  const sql = [
    `SELECT ${keyNames.map((k) => `k.${k}`).join(", ")},`,
    `  ${keyedDocument} AS _fl_doc`,
    `FROM unnest(${keyArrays}) AS k(${keyNames.join(", ")})`,
    rootJoin,
  ].join("\n");
  // Packed by the keys' positions in their arrays (WITH ORDINALITY numbers them for free):
  // numbering the joined rows instead, with a window, cost Postgres ≈ 6 % more per document.
  const packedSql = [
    `SELECT string_agg(${keyLineSql(keyNames.map((k) => `k.${k}`), bareKey)}, E'\\n') AS _fl_keys,`,
    `  string_agg(${docFieldSql(keyedDocument)}, ${DOC_SEPARATOR_SQL}) AS _fl_docs`,
    `FROM unnest(${keyArrays}) WITH ORDINALITY AS k(${keyNames.join(", ")}, _fl_n)`,
    rootJoin,
    `GROUP BY (k._fl_n - 1) / ${PACK_ROWS}`,
  ].join("\n");
  return {
    index: index.name,
    keyColumns: model.primaryKey.length,
    sql,
    packedSql,
    packedPageSql: packPageSql(pageSql, keyNames, bareKey),
    packedRangeSql,
    rangePacksByKeySpan,
    boundsSql,
    // The page size is bound per run (pageParams), not part of the build statement.
    params: params.values.slice(model.primaryKey.length, -1),
    pageSql,
  };
}

/**
 * The packed form of the page statement, whose rows carry `keyNames`, `_fl_doc` and their
 * number in key order `_fl_n`: packs of PACK_ROWS rows, `_fl_keys` (each row's key, one per
 * line: see `keyLineSql`) and `_fl_docs` (the documents in the same order, separated by
 * U+001E). The two aggregates of a pack are fed the same rows one after another, so the n-th
 * key and the n-th document belong together. Packs and their rows come in key order (a sort
 * per aggregate): a page's last key is the next cursor.
 */
function packPageSql(pageSql: string, keyNames: readonly string[], bareKey: boolean): string {
  const order = " ORDER BY p._fl_n";
  return [
    `SELECT string_agg(${
      keyLineSql(keyNames.map((k) => `p.${k}`), bareKey)
    }, E'\\n'${order}) AS _fl_keys,`,
    `  string_agg(${docFieldSql("p._fl_doc")}, ${DOC_SEPARATOR_SQL}${order}) AS _fl_docs`,
    `FROM (\n${pageSql}\n) p`,
    `GROUP BY (p._fl_n - 1) / ${PACK_ROWS}`,
    `ORDER BY min(p._fl_n)`,
  ].join("\n");
}

/**
 * The packed form of an unordered statement over the root table, its rows grouped by `group`:
 * no row numbers needed (numbering rows with `row_number()` below a grouping passes every
 * document through a window's tuple store: ≈ 0.15 s more of Postgres' CPU per 1,000,000
 * backfilled rows). Any grouping pairs keys and documents rightly, since a pack's two aggregates
 * read the same rows in the same order; it only decides the packs' sizes:
 *
 * - An integer key's span (`key / width`, the width from `rangeParams`): about `PACK_ROWS` rows
 *   where keys are dense, fewer where they are sparse, and never more than the range. Integer
 *   division is cheap next to reading the heap page's number, which goes through text: ≈ 0.2 s
 *   of Postgres' CPU per 1,000,000 backfilled rows.
 * - Any other key: the heap page (and partition), at most `MaxHeapTuplesPerPage` rows (291 on
 *   8 kB pages).
 */
function packRows(
  keyLine: string,
  document: string,
  from: string,
  where: readonly string[],
  group: string,
): string {
  return [
    `SELECT string_agg(${keyLine}, E'\\n') AS _fl_keys,`,
    `  string_agg(${docFieldSql(document)}, ${DOC_SEPARATOR_SQL}) AS _fl_docs`,
    `FROM ${from}`,
    ...where,
    `GROUP BY ${group}`,
  ].join("\n");
}

/** `DOC_SEPARATOR` as an SQL string literal. */
const DOC_SEPARATOR_SQL = `E'\\x${DOC_SEPARATOR.toString(16)}'`;

/**
 * One key as one line of `_fl_keys`, from its columns' texts: a one-column key whose text
 * never holds a newline, quote or backslash (`hasPlainKeyText`) as that text itself, else as
 * JSON (which escapes newlines inside strings): a string for a one-column key, an array of
 * strings otherwise. Escaping every key cost Postgres ≈ 0.2 s per 1,000,000 backfilled rows.
 */
function keyLineSql(keyTexts: readonly string[], bare: boolean): string {
  if (bare) return keyTexts[0];
  return keyTexts.length === 1
    ? `to_json(${keyTexts[0]})::text`
    : `json_build_array(${keyTexts.join(", ")})::text`;
}

/**
 * A key column's text, the type's output as pgoutput sends it. `format('%s', …)` calls the
 * output function whatever the type; a cast to text is the same for the plain types
 * (`hasPlainKeyText`) and ≈ 0.15 s of Postgres' CPU cheaper per 1,000,000 backfilled rows.
 * Other types keep `format`: some casts to text differ from the output (`inet`, `boolean`).
 */
function keyText(expression: string, type: ColumnType): string {
  return hasPlainKeyText(type) ? `(${expression})::text` : `format('%s', ${expression})`;
}

/** Whether a key column holds integers (`int2`, `int4`, `int8` or a domain over one). */
function isIntegerKey(type: ColumnType): boolean {
  return !type.array && (type.kind === "int2" || type.kind === "int4" || type.kind === "int8");
}

/**
 * Whether a column's text is always plain: digits, signs, a point, letters of `NaN` or of a
 * uuid. Such a key's line is never a JSON string (`"`) or array (`[`), so the decoder can tell.
 */
function hasPlainKeyText(type: ColumnType): boolean {
  return isIntegerKey(type) ||
    (!type.array && (type.kind === "numeric" || type.castType === "uuid"));
}

/** A document as one field of `_fl_docs` (empty for none: string_agg would skip a NULL). */
function docFieldSql(document: string): string {
  return `coalesce(${document}, '')`;
}

/** Raised when a packed result row does not hold as many documents as keys. */
export class PackedRowError extends Error {
  constructor(index: string, keys: number, documents: number) {
    super(
      `index ${JSON.stringify(index)}: a packed build row held ${keys} keys but ${documents} ` +
        `documents; this is a bug in flusso, please report it with the index's schema`,
    );
    this.name = "PackedRowError";
  }
}

/** One row of a packed statement, decoded: a key (its column texts) and its document text. */
export interface UnpackedRow {
  readonly key: string[];
  /**
   * The document's JSON text — a string, or UTF-8 bytes when the row was read raw — or null
   * when the key has no document (a delete).
   */
  readonly document: string | Uint8Array | null;
}

const utf8 = new TextDecoder();

/**
 * Decodes the rows of the packed statements (`[_fl_keys, _fl_docs]` each), in order. Columns
 * may be text or raw UTF-8 bytes; raw documents stay bytes (views into the row's column, whose
 * raw newlines are overwritten in place). A document's raw newlines become spaces: they can
 * only be whitespace between JSON tokens (inside strings they are escaped), and a `_bulk` body
 * needs each document on one line. Throws PackedRowError when a pack's key and document
 * counts differ.
 */
export function unpackRows(
  index: string,
  rows: readonly (readonly unknown[] | null | undefined)[],
): UnpackedRow[] {
  const out: UnpackedRow[] = [];
  eachUnpackedRow(index, rows, (key, document) => out.push({ key, document }));
  return out;
}

/**
 * `unpackRows` without a row object per document: `visit` gets each key and document in
 * order (a backfill decodes a million of them).
 */
export function eachUnpackedRow(
  index: string,
  rows: readonly (readonly unknown[] | null | undefined)[],
  visit: (key: string[], document: string | Uint8Array | null) => void,
): void {
  for (const row of rows) {
    if (!row) continue;
    const keyColumn = row[0] as string | Uint8Array;
    const keys = (typeof keyColumn === "string" ? keyColumn : utf8.decode(keyColumn)).split("\n");
    const docColumn = row[1] as string | Uint8Array;
    // Raw documents stay where the client received them: views into the bytes of a socket
    // read, which the `postgres` client never writes again (a test holds it to that). A copy
    // cost 0.2–0.25 s of CPU per 1,000,000 backfilled documents.
    const docs = typeof docColumn === "string" ? textFields(docColumn) : byteFields(docColumn);
    if (docs.length !== keys.length) throw new PackedRowError(index, keys.length, docs.length);
    for (let i = 0; i < keys.length; i++) {
      const doc = docs[i];
      visit(keyOfLine(keys[i]), doc.length === 0 ? null : doc);
    }
  }
}

const SEPARATOR_TEXT = String.fromCharCode(DOC_SEPARATOR);

/** The documents of a text pack, each on one line. */
function textFields(text: string): string[] {
  const docs = text.split(SEPARATOR_TEXT);
  if (text.indexOf("\n") === -1) return docs;
  return docs.map((doc) => doc.replaceAll("\n", " "));
}

/** The documents of UTF-8 `bytes`, views into it, each on one line (`bytes` is changed). */
function byteFields(bytes: Uint8Array): Uint8Array[] {
  // One search over the whole pack: raw newlines are rare (a json value laid out on lines).
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) {
    bytes[at] = 0x20;
  }
  const out: Uint8Array[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(DOC_SEPARATOR, start);
    if (end === -1) break;
    out.push(bytes.subarray(start, end));
    start = end + 1;
  }
  out.push(bytes.subarray(start));
  return out;
}

/**
 * A key from its line: a JSON string (one column), a JSON array of strings, or else the one
 * column's own text (`hasPlainKeyText`: it never starts with a quote or a bracket).
 */
function keyOfLine(line: string): string[] {
  const first = line.charCodeAt(0);
  // Most JSON keys are plain strings without escapes: no parser needed.
  if (first === 34 && line.indexOf("\\") === -1) return [line.slice(1, -1)];
  if (first !== 34 && first !== 91) return [line];
  const value = JSON.parse(line) as string | string[];
  return typeof value === "string" ? [value] : value;
}

const MAX_BIGINT = (1n << 63n) - 1n;

/**
 * The parameters of a range statement: the key after, the plan's values, the last key, and for
 * a range packed by key span (`rangePacksByKeySpan`) the span's width: the range's width in key
 * values over its pages of `limit` rows, times `PACK_ROWS` (from 1 to bigint's largest).
 */
export function rangeParams(
  plan: BuildPlan,
  after: readonly string[],
  through: readonly string[],
  limit: number,
): ParamValue[] {
  if (after.length !== plan.keyColumns || through.length !== plan.keyColumns) {
    throw new RangeError(
      `range bounds have ${after.length} and ${through.length} values for a ${plan.keyColumns}-column key`,
    );
  }
  const params = [...after, ...plan.params, ...through];
  if (!plan.rangePacksByKeySpan) return params;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  const width = (BigInt(through[0]) - BigInt(after[0])) * BigInt(PACK_ROWS) / BigInt(limit);
  // Within bigint: a range across most of the key's values (a first bound far below the keys)
  // is then packed in at most three spans, none larger than the range.
  return [...params, String(width < 1n ? 1n : width > MAX_BIGINT ? MAX_BIGINT : width)];
}

/** The parameters of a bounds statement: the key after, the page size, the page count. */
export function boundsParams(
  plan: BuildPlan,
  after: readonly string[],
  limit: number,
  pages: number,
): ParamValue[] {
  if (after.length !== plan.keyColumns) {
    throw new RangeError(`after has ${after.length} values for a ${plan.keyColumns}-column key`);
  }
  for (const [name, n] of [["limit", limit], ["pages", pages]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${n}`);
    }
  }
  return [...after, String(limit), String(pages)];
}

/** The parameters of a page statement: the cursor key, the plan's values, the page size. */
export function pageParams(plan: BuildPlan, after: readonly string[], limit: number): ParamValue[] {
  if (after.length !== plan.keyColumns) {
    throw new RangeError(`after has ${after.length} values for a ${plan.keyColumns}-column key`);
  }
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  return [...after, ...plan.params, String(limit)];
}

/**
 * An object as JSON text, concatenated: `'{"a":' || coalesce(<a>::text, 'null') || ',"b":' …`.
 * `json_build_object` looks up every argument's type on every row and takes at most 100
 * arguments; plain concatenation of values that are already JSON costs Postgres about a quarter
 * less per document (and the text carries no padding spaces). Values are `json` or JSON text;
 * `json` converts to text without parsing. A NULL value becomes `null`, as it did in
 * `json_build_object`.
 */
function objectSql(fields: readonly Field[], scope: Scope, ctx: Context): string {
  if (fields.length === 0) return `'{}'::text`;
  const parts = fields.map((f, i) =>
    `${quoteLiteral(`${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:`)} || coalesce((${
      fieldSql(f, scope, ctx)
    })::text, 'null')`
  );
  return `(${parts.join(" || ")} || '}')`;
}

function fieldSql(field: Field, scope: Scope, ctx: Context): string {
  const col = (name: string) => `${scope.alias}.${quoteIdent(name)}`;
  switch (field.kind) {
    case "scalar": {
      const type = ctx.catalog.column(scope.table, field.column);
      const value = columnJsonTextSql(col(field.column), type, field.type, field.transforms);
      if (field.default === undefined || field.default === null) return value;
      return `coalesce(${value}, ${ctx.params.add(JSON.stringify(field.default))}::text)`;
    }
    case "object":
      return objectSql(field.fields, { ...scope, path: `${scope.path}${field.name}.` }, ctx);
    case "map": {
      const type = ctx.catalog.column(scope.table, field.column);
      return columnValueSql(col(field.column), type, "json", []);
    }
    case "geo":
      return geoSql(field, scope, ctx);
    case "constant":
      return `${ctx.params.add(JSON.stringify(field.value))}::text::json`;
    case "aggregate":
      return aggregateSql(field, scope, ctx);
    default:
      return relationSql(field, scope, ctx);
  }
}

function geoSql(
  field: Extract<Field, { kind: "geo" }>,
  scope: Scope,
  ctx: Context,
): string {
  const col = (name: string) => `${scope.alias}.${quoteIdent(name)}`;
  if (field.lat !== undefined && field.lon !== undefined) {
    const lat = ctx.catalog.column(scope.table, field.lat);
    const lon = ctx.catalog.column(scope.table, field.lon);
    return `CASE WHEN ${col(field.lat)} IS NULL OR ${col(field.lon)} IS NULL THEN NULL ` +
      `ELSE json_build_object('lat', ${jsonOfKind(col(field.lat), lat.kind)}, 'lon', ${
        jsonOfKind(col(field.lon), lon.kind)
      }) END`;
  }
  if (field.column !== undefined) {
    const type = ctx.catalog.column(scope.table, field.column);
    return columnValueSql(col(field.column), type, "keyword", []);
  }
  throw new ModelShapeError(
    ctx.index,
    `field ${scope.path}${field.name}`,
    "geo needs lat+lon or column",
  );
}

/** FROM + WHERE of the related rows of `field` below the row of `scope`, aliased `r`. */
function relatedFrom(
  field: RelationField | AggregateField,
  scope: Scope,
  r: string,
  ctx: Context,
): string {
  const path = `${scope.path}${field.name}`;
  const conditions: string[] = [];
  let from = `${quoteTable(field.table)} ${r}`;
  if (field.kind === "belongs_to") {
    const column = field.column ?? [];
    field.primaryKey.forEach((pk, i) =>
      conditions.push(`${r}.${quoteIdent(pk)} = ${scope.alias}.${quoteIdent(column[i])}`)
    );
  } else if (field.through) {
    const j = `${r}j`;
    const t = field.through;
    from = `${quoteTable(t.table)} ${j} JOIN ${from} ON ${r}.${
      quoteIdent(field.primaryKey[0])
    } = ${j}.${quoteIdent(t.rightKey)}`;
    conditions.push(`${j}.${quoteIdent(t.leftKey)} = ${scope.alias}.${quoteIdent(scope.key[0])}`);
  } else {
    const fk = field.foreignKey ?? [];
    if (fk.length !== scope.key.length) {
      throw new ModelShapeError(
        ctx.index,
        `field ${path}`,
        "foreign_key arity differs from the parent key",
      );
    }
    fk.forEach((c, i) =>
      conditions.push(`${r}.${quoteIdent(c)} = ${scope.alias}.${quoteIdent(scope.key[i])}`)
    );
  }
  if (field.filters.length > 0) {
    conditions.push(
      filtersSql(field.filters, r, field.table, ctx.catalog, ctx.params, {
        index: ctx.index,
        path,
      }),
    );
  }
  return `FROM ${from} WHERE ${conditions.join(" AND ")}`;
}

function orderSql(field: RelationField, r: string): string {
  // Ties (and everything without order_by) fall back to the primary key: documents are
  // deterministic, so a rebuild of an unchanged row yields the same document.
  const parts = field.orderBy.map((o) =>
    `${r}.${quoteIdent(o.column)} ${o.direction === "desc" ? "DESC" : "ASC"}`
  );
  const ordered = new Set(field.orderBy.map((o) => o.column));
  for (const pk of field.primaryKey) {
    if (!ordered.has(pk)) parts.push(`${r}.${quoteIdent(pk)} ASC`);
  }
  return parts.join(", ");
}

function relationSql(field: RelationField, scope: Scope, ctx: Context): string {
  const r = `t${ctx.aliases++}`;
  const inner: Scope = {
    alias: r,
    table: field.table,
    key: field.primaryKey,
    path: `${scope.path}${field.name}.`,
  };
  const from = relatedFrom(field, scope, r, ctx);
  const object = objectSql(field.fields, inner, ctx);
  if (field.kind === "belongs_to") return `(SELECT ${object} ${from} LIMIT 1)`;
  if (field.kind === "has_one") {
    return `(SELECT ${object} ${from} ORDER BY ${orderSql(field, r)} LIMIT 1)`;
  }
  const order = orderSql(field, r);
  // Without a limit the aggregate sorts its own input: no subquery, window or second sort.
  if (field.limit === undefined) {
    return `(SELECT coalesce('[' || string_agg(${object}, ',' ORDER BY ${order}) || ']', '[]') ${from})`;
  }
  // With one, the newest n rows are picked in a subquery, and row_number() carries their
  // order into the aggregate (an aggregate's input order is only guaranteed by ORDER BY).
  const limit = ` LIMIT ${positiveInteger(field.limit, ctx, inner.path)}`;
  return `(SELECT coalesce('[' || string_agg(${r}s._fl_d, ',' ORDER BY ${r}s._fl_n) || ']', '[]') FROM ` +
    `(SELECT ${object} AS _fl_d, row_number() OVER (ORDER BY ${order}) AS _fl_n ${from} ` +
    `ORDER BY ${order}${limit}) ${r}s)`;
}

function positiveInteger(n: number, ctx: Context, path: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ModelShapeError(
      ctx.index,
      `field ${path}`,
      `limit must be a non-negative integer, got ${n}`,
    );
  }
  return n;
}

/** The kind an aggregate returns before `value_type` applies. */
function aggregateKind(fn: AggregateField["fn"], column: ValueKind): ValueKind {
  switch (fn) {
    case "sum":
      return column === "int2" || column === "int4"
        ? "int8"
        : column === "int8" || column === "numeric"
        ? "numeric"
        : column;
    case "avg":
      return "float8";
    default:
      return column;
  }
}

function valueTypeCast(
  valueType: ScalarType | undefined,
): { cast: string; kind: ValueKind } | undefined {
  switch (valueType) {
    case "double":
    case "float":
      return { cast: "float8", kind: "float8" };
    case "short":
    case "integer":
    case "long":
    case "decimal":
      return { cast: "numeric", kind: "numeric" };
    default:
      return undefined;
  }
}

function aggregateSql(field: AggregateField, scope: Scope, ctx: Context): string {
  const r = `t${ctx.aliases++}`;
  const from = relatedFrom(field, scope, r, ctx);
  const path = `${scope.path}${field.name}`;
  if (field.fn === "count") return `(SELECT to_json(count(*)) ${from})`;
  if (field.fn === "ids") {
    const texts = field.primaryKey.map((pk) => `format('%s', ${r}.${quoteIdent(pk)})`);
    const id = texts.length === 1
      ? texts[0]
      : `'[' || concat_ws(',', ${texts.map((t) => `to_json(${t})::text`).join(", ")}) || ']'`;
    const order = field.primaryKey.map((pk) => `${r}.${quoteIdent(pk)}`).join(", ");
    return `(SELECT coalesce(json_agg(to_json(${id}) ORDER BY ${order}), '[]'::json) ${from})`;
  }
  if (field.column === undefined) {
    throw new ModelShapeError(ctx.index, `field ${path}`, `${field.fn} needs \`column\``);
  }
  const column = ctx.catalog.column(field.table, field.column);
  let expr = `${field.fn}(${r}.${quoteIdent(field.column)})`;
  let kind = aggregateKind(field.fn, column.kind);
  // An empty sum is 0, not "no value"; min/max/avg of nothing stay null.
  if (field.fn === "sum") expr = `coalesce(${expr}, 0)`;
  const override = field.fn === "avg"
    ? { cast: "float8", kind: "float8" as const }
    : valueTypeCast(field.valueType);
  if (override) {
    expr = `(${expr})::${override.cast}`;
    kind = override.kind;
  }
  return `(SELECT ${jsonTextOfKind(expr, kind)} ${from})`;
}
