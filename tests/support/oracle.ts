/**
 * The independent oracle: the documents an index *should* contain, computed in TypeScript
 * from whole tables read with a plain `SELECT *` (as the text output of every column), never
 * through the SQL builder. Tests compare the builder's output (and, later, the whole
 * pipeline's index contents) with it.
 *
 * It implements the value rules documented in src/model/scalar_sql.ts from the text output:
 * int8 beyond 2^53 and numeric beyond 15 significant digits as strings, non-finite numbers and
 * dates as null, timestamptz converted to UTC by its own arithmetic, bytea hex → base64.
 * Text ordering follows the C collation (UTF-8 byte order), which the test cluster uses.
 * Not supported (throws): `raw` filters, ordering or filtering on types other than text,
 * numbers, booleans and timestamps.
 */
import { Buffer } from "node:buffer";
import type postgres from "postgres";
import type {
  AggregateField,
  DocumentModel,
  Field,
  Filter,
  RelationField,
  TableRef,
} from "../../src/config/model.ts";
import type { DocKey } from "../../src/engine/ports.ts";

/** One column's text value (null for SQL NULL) and its base type name. */
interface Cell {
  readonly text: string | null;
  readonly type: TypeInfo;
}

interface TypeInfo {
  /** pg_type.typname of the base type, e.g. int8, timestamptz, text, _int8 */
  readonly name: string;
  /** For arrays: the element's base type. */
  readonly element?: TypeInfo;
}

/** A row: column → cell. */
export type OracleRow = ReadonlyMap<string, Cell>;

/** Whole tables, read once. */
export type Snapshot = ReadonlyMap<string, readonly OracleRow[]>;

const tkey = (t: TableRef) => `${t.schema}.${t.name}`;

/** Every table a model reads. */
export function tablesOfModel(model: DocumentModel): TableRef[] {
  const out: TableRef[] = [model.table];
  const walk = (fields: readonly Field[]) => {
    for (const f of fields) {
      if (f.kind === "object") walk(f.fields);
      if (
        f.kind === "belongs_to" || f.kind === "has_one" || f.kind === "has_many" ||
        f.kind === "many_to_many" || f.kind === "aggregate"
      ) {
        out.push(f.table);
        if (f.through) out.push(f.through.table);
        if (f.kind !== "aggregate") walk(f.fields);
      }
    }
  };
  walk(model.fields);
  return out;
}

/** Reads whole tables as text (`SELECT *`, raw wire values). */
export async function snapshot(sql: postgres.Sql, tables: readonly TableRef[]): Promise<Snapshot> {
  const types = new Map<number, TypeInfo>();
  const typeOf = async (oid: number): Promise<TypeInfo> => {
    const known = types.get(oid);
    if (known) return known;
    const [row] = await sql<
      {
        typname: string;
        typtype: string;
        typbasetype: number;
        typelem: number;
        typcategory: string;
      }[]
    >`SELECT typname, typtype, typbasetype::int, typelem::int, typcategory FROM pg_type WHERE oid = ${oid}`;
    let info: TypeInfo;
    if (row.typtype === "d") info = await typeOf(row.typbasetype);
    else if (row.typcategory === "A" && row.typelem !== 0) {
      info = { name: row.typname, element: await typeOf(row.typelem) };
    } else info = { name: row.typname };
    types.set(oid, info);
    return info;
  };
  const out = new Map<string, OracleRow[]>();
  for (const table of tables) {
    if (out.has(tkey(table))) continue;
    const ident = `"${table.schema.replaceAll('"', '""')}"."${table.name.replaceAll('"', '""')}"`;
    const result = await sql.unsafe(`SELECT * FROM ${ident}`).raw();
    const columns = await Promise.all(
      result.columns.map(async (c) => ({ name: c.name, type: await typeOf(c.type) })),
    );
    const rows: OracleRow[] = [];
    for (const raw of result as unknown as (Buffer | null)[][]) {
      const row = new Map<string, Cell>();
      columns.forEach((c, i) => {
        const v = raw[i];
        row.set(c.name, {
          text: v === null ? null : Buffer.from(v).toString("utf8"),
          type: c.type,
        });
      });
      rows.push(row);
    }
    out.set(tkey(table), rows);
  }
  return out;
}

/** The expected document of every root row (null when soft-deleted or filtered), by key JSON. */
export function expectedDocuments(
  model: DocumentModel,
  tables: Snapshot,
): Map<string, { key: DocKey; document: Record<string, unknown> | null }> {
  const out = new Map<string, { key: DocKey; document: Record<string, unknown> | null }>();
  for (const row of rowsOf(tables, model.table)) {
    const key = model.primaryKey.map((c) => text(row, c)!);
    let alive = true;
    if (model.softDelete) {
      const cell = cellOf(row, model.softDelete.column);
      alive = cell.text === null || (cell.type.name === "bool" && cell.text === "f");
    }
    alive &&= passes(row, model.filters);
    out.set(JSON.stringify(key), {
      key,
      document: alive ? objectOf(model.fields, row, key, tables) : null,
    });
  }
  return out;
}

/** The expected document for `key` (null when absent, soft-deleted or filtered). */
export function expectedDocument(
  model: DocumentModel,
  tables: Snapshot,
  key: DocKey,
): Record<string, unknown> | null {
  return expectedDocuments(model, tables).get(JSON.stringify(key))?.document ?? null;
}

function rowsOf(tables: Snapshot, table: TableRef): readonly OracleRow[] {
  const rows = tables.get(tkey(table));
  if (!rows) throw new Error(`oracle: table ${tkey(table)} was not read`);
  return rows;
}

function cellOf(row: OracleRow, column: string): Cell {
  const cell = row.get(column);
  if (!cell) throw new Error(`oracle: no column ${column}`);
  return cell;
}

function text(row: OracleRow, column: string): string | null {
  return cellOf(row, column).text;
}

function objectOf(
  fields: readonly Field[],
  row: OracleRow,
  key: readonly string[],
  tables: Snapshot,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = fieldOf(f, row, key, tables);
  return out;
}

function fieldOf(f: Field, row: OracleRow, key: readonly string[], tables: Snapshot): unknown {
  switch (f.kind) {
    case "scalar": {
      const cell = cellOf(row, f.column);
      let value: unknown;
      if (f.transforms.length > 0 && cell.text !== null) {
        const apply = (s: string) => {
          for (const t of f.transforms) s = t === "lowercase" ? asciiLower(s) : spaceTrim(s);
          return s;
        };
        value = cell.type.element
          ? parseArray(cell.text).map((e) => e === null ? null : apply(e))
          : apply(cell.text);
      } else if (
        f.type === "json" && cell.text !== null && !cell.type.element &&
        !["json", "jsonb"].includes(cell.type.name)
      ) {
        value = JSON.parse(cell.text);
      } else value = jsonOf(cell);
      return value === null && f.default !== undefined ? f.default : value;
    }
    case "object":
      return objectOf(f.fields, row, key, tables);
    case "map":
      return jsonOf(cellOf(row, f.column));
    case "geo": {
      if (f.lat !== undefined && f.lon !== undefined) {
        const lat = cellOf(row, f.lat);
        const lon = cellOf(row, f.lon);
        if (lat.text === null || lon.text === null) return null;
        return { lat: jsonOf(lat), lon: jsonOf(lon) };
      }
      return jsonOf(cellOf(row, f.column!));
    }
    case "constant":
      return f.value;
    case "aggregate":
      return aggregateOf(f, row, key, tables);
    default:
      return relationOf(f, row, key, tables);
  }
}

function related(
  f: RelationField | AggregateField,
  row: OracleRow,
  key: readonly string[],
  tables: Snapshot,
): OracleRow[] {
  const rows = rowsOf(tables, f.table);
  let out: OracleRow[];
  if (f.kind === "belongs_to") {
    const want = (f.column ?? []).map((c) => text(row, c));
    if (want.some((v) => v === null)) return [];
    out = rows.filter((r) => f.primaryKey.every((pk, i) => text(r, pk) === want[i]));
  } else if (f.through) {
    const t = f.through;
    const rights = rowsOf(tables, t.table).filter((j) => text(j, t.leftKey) === key[0]).map((j) =>
      text(j, t.rightKey)
    );
    out = [];
    for (const right of rights) out.push(...rows.filter((r) => text(r, f.primaryKey[0]) === right));
  } else {
    const fk = f.foreignKey ?? [];
    out = rows.filter((r) => fk.every((c, i) => text(r, c) === key[i]));
  }
  return out.filter((r) => passes(r, f.filters));
}

function relationOf(
  f: RelationField,
  row: OracleRow,
  _key: readonly string[],
  tables: Snapshot,
): unknown {
  const rows = related(f, row, _key, tables);
  const sorted = [...rows].sort((a, b) => {
    for (const o of f.orderBy) {
      const c = compareCells(cellOf(a, o.column), cellOf(b, o.column), o.direction === "desc");
      if (c !== 0) return c;
    }
    for (const pk of f.primaryKey) {
      const c = compareCells(cellOf(a, pk), cellOf(b, pk), false);
      if (c !== 0) return c;
    }
    return 0;
  });
  const objects = (list: OracleRow[]) =>
    list.map((r) => objectOf(f.fields, r, f.primaryKey.map((pk) => text(r, pk)!), tables));
  if (f.kind === "belongs_to" || f.kind === "has_one") {
    return objects(sorted.slice(0, 1))[0] ?? null;
  }
  return objects(f.limit === undefined ? sorted : sorted.slice(0, f.limit));
}

function aggregateOf(
  f: AggregateField,
  row: OracleRow,
  key: readonly string[],
  tables: Snapshot,
): unknown {
  const rows = related(f, row, key, tables);
  switch (f.fn) {
    case "count":
      return rows.length;
    case "ids": {
      const sorted = [...rows].sort((a, b) => {
        for (const pk of f.primaryKey) {
          const c = compareCells(cellOf(a, pk), cellOf(b, pk), false);
          if (c !== 0) return c;
        }
        return 0;
      });
      return sorted.map((r) => {
        const texts = f.primaryKey.map((pk) => text(r, pk)!);
        return texts.length === 1 ? texts[0] : JSON.stringify(texts);
      });
    }
  }
  const cells = rows.map((r) => cellOf(r, f.column!)).filter((c) => c.text !== null);
  const type = cellOf(
    rowsOf(tables, f.table)[0] ??
      new Map([[f.column!, { text: null, type: { name: "numeric" } }]]),
    f.column!,
  ).type;
  let resultText: string | null;
  let kind: string;
  if (f.fn === "sum") {
    resultText = cells.reduce((acc, c) => decimalAdd(acc, c.text!), "0");
    kind = ["int2", "int4"].includes(type.name)
      ? "int8"
      : type.name === "int8"
      ? "numeric"
      : type.name;
  } else if (f.fn === "avg") {
    if (cells.length === 0) return null;
    return Number(cells.reduce((acc, c) => decimalAdd(acc, c.text!), "0")) / cells.length;
  } else {
    if (cells.length === 0) return null;
    const pickMax = f.fn === "max";
    resultText = cells.reduce((best, c) => {
      const cmp = compareCells(c, best, false);
      return (pickMax ? cmp > 0 : cmp < 0) ? c : best;
    }).text;
    kind = type.name;
  }
  if (f.valueType === "double" || f.valueType === "float") return Number(resultText);
  if (["short", "integer", "long", "decimal"].includes(f.valueType ?? "")) kind = "numeric";
  return jsonOf({ text: resultText, type: { name: kind } });
}

// ---- values --------------------------------------------------------------------------------

const MAX_SAFE = 9007199254740991n;

/** The JSON value of a cell by the documented rules. */
export function jsonOf(cell: Cell): unknown {
  if (cell.text === null) return null;
  if (cell.type.element) {
    const element = cell.type.element;
    return parseArray(cell.text).map((e) => jsonOf({ text: e, type: element }));
  }
  const t = cell.text;
  switch (cell.type.name) {
    case "bool":
      return t === "t";
    case "int2":
    case "int4":
      return Number(t);
    case "int8": {
      const b = BigInt(t);
      return b >= -MAX_SAFE && b <= MAX_SAFE ? Number(t) : t;
    }
    case "numeric":
      if (t === "NaN" || t === "Infinity" || t === "-Infinity") return null;
      return significantDigits(t) <= 15 ? Number(t) : t;
    case "float4":
    case "float8":
      if (t === "NaN" || t === "Infinity" || t === "-Infinity") return null;
      return Number(t);
    case "timestamptz":
      return t === "infinity" || t === "-infinity" ? null : utcTimestamp(t);
    case "timestamp":
      return t === "infinity" || t === "-infinity" ? null : t.replace(" ", "T");
    case "date":
      return t === "infinity" || t === "-infinity" ? null : t;
    case "bytea":
      return Buffer.from(t.slice(2), "hex").toString("base64");
    case "json":
    case "jsonb":
      return JSON.parse(t);
    case "point": {
      const m = /^\(([^,]+),([^)]+)\)$/.exec(t)!;
      return { lat: Number(m[2]), lon: Number(m[1]) };
    }
    default:
      return t;
  }
}

function significantDigits(t: string): number {
  let s = t.replace(/^-/, "");
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s.replace(".", "").replace(/^0+/, "").length;
}

/** `2024-01-01 05:30:00.5+05:30` (any session TimeZone, DateStyle ISO) → `2024-01-01T00:00:00.5Z`. */
export function utcTimestamp(t: string): string {
  const m =
    /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/
      .exec(t);
  if (!m) throw new Error(`oracle: cannot parse timestamptz ${t}`);
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const offset = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) *
    (m[8] === "+" ? 1 : -1);
  const utc = new Date(date.getTime() - offset * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(utc.getUTCFullYear(), 4)}-${p(utc.getUTCMonth() + 1)}-${p(utc.getUTCDate())}T${
    p(utc.getUTCHours())
  }:${p(utc.getUTCMinutes())}:${p(utc.getUTCSeconds())}${m[7] ?? ""}Z`;
}

/** Parses a one- or multi-dimensional array literal into its elements, flattened. */
export function parseArray(t: string): (string | null)[] {
  const body = t.startsWith("[") ? t.slice(t.indexOf("=") + 1) : t;
  const out: (string | null)[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c === "{" || c === "}" || c === ",") {
      i++;
      continue;
    }
    if (c === '"') {
      let s = "";
      i++;
      while (body[i] !== '"') {
        if (body[i] === "\\") i++;
        s += body[i++];
      }
      i++;
      out.push(s);
      continue;
    }
    let j = i;
    while (j < body.length && body[j] !== "," && body[j] !== "}") j++;
    const raw = body.slice(i, j).trim();
    out.push(raw === "NULL" ? null : raw);
    i = j;
  }
  return out;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function spaceTrim(s: string): string {
  return s.replace(/^ +| +$/g, "");
}

// ---- comparisons and filters ---------------------------------------------------------------

const NUMERIC = new Set(["int2", "int4", "int8", "numeric", "float4", "float8"]);

/** Decimal strings → [BigInt mantissa, scale]. */
function decimal(t: string): [bigint, number] {
  const neg = t.startsWith("-");
  const [i, f = ""] = t.replace(/^[-+]/, "").split(".");
  const m = BigInt(i + f) * (neg ? -1n : 1n);
  return [m, f.length];
}

function decimalAdd(a: string, b: string): string {
  const [ma, sa] = decimal(a);
  const [mb, sb] = decimal(b);
  const s = Math.max(sa, sb);
  const sum = ma * 10n ** BigInt(s - sa) + mb * 10n ** BigInt(s - sb);
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(s + 1, "0");
  const out = s === 0 ? digits : `${digits.slice(0, -s)}.${digits.slice(-s)}`;
  return (neg ? "-" : "") + out;
}

function compareDecimal(a: string, b: string): number {
  if (a.includes("e") || b.includes("e") || /[a-z]/i.test(a + b)) return Number(a) - Number(b);
  const [ma, sa] = decimal(a);
  const [mb, sb] = decimal(b);
  const s = Math.max(sa, sb);
  const x = ma * 10n ** BigInt(s - sa);
  const y = mb * 10n ** BigInt(s - sb);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Typed comparison of two non-null texts of one type. */
function compareTexts(a: string, b: string, type: TypeInfo): number {
  if (NUMERIC.has(type.name)) return compareDecimal(a, b);
  if (type.name === "bool") return (a === "t" ? 1 : 0) - (b === "t" ? 1 : 0);
  if (type.name === "timestamptz") {
    const pad = (s: string) =>
      s.replace(
        /(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/,
        (_, hms, f = "") => `${hms}.${f.padEnd(6, "0")}Z`,
      );
    return compareText(pad(utcTimestamp(a)), pad(utcTimestamp(b)));
  }
  if (
    type.name === "timestamp" || type.name === "date" || type.name.startsWith("text") ||
    type.name === "varchar" || !type.element
  ) {
    return compareText(a, b);
  }
  throw new Error(`oracle: cannot compare values of type ${type.name}`);
}

/** Order as Postgres sorts: NULLS LAST ascending, NULLS FIRST descending. */
function compareCells(a: Cell, b: Cell, desc: boolean): number {
  if (a.text === null || b.text === null) {
    if (a.text === b.text) return 0;
    return (a.text === null ? 1 : -1) * (desc ? -1 : 1);
  }
  const c = compareTexts(a.text, b.text, a.type);
  return desc ? -c : c;
}

function canonical(value: unknown, type: TypeInfo): string {
  if (type.name === "bool") return value === true || value === "true" || value === "t" ? "t" : "f";
  return String(value);
}

function likeToRegExp(pattern: string, flags: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") re += pattern[++i]?.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") ?? "";
    else if (c === "%") re += ".*";
    else if (c === "_") re += ".";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, `s${flags}`);
}

function passes(row: OracleRow, filters: readonly Filter[]): boolean {
  return filters.every((f) => {
    if ("raw" in f) throw new Error("oracle: raw filters are not supported");
    const cell = cellOf(row, f.column);
    const v = cell.text;
    const cmp = (x: unknown) => compareTexts(v!, canonical(x, cell.type), cell.type);
    const list = Array.isArray(f.value) ? f.value : [];
    switch (f.op) {
      case "eq":
        return f.value === null || f.value === undefined
          ? v === null
          : v !== null && cmp(f.value) === 0;
      case "neq":
        return f.value === null || f.value === undefined
          ? v !== null
          : v === null || cmp(f.value) !== 0;
      case "lt":
        return v !== null && cmp(f.value) < 0;
      case "lte":
        return v !== null && cmp(f.value) <= 0;
      case "gt":
        return v !== null && cmp(f.value) > 0;
      case "gte":
        return v !== null && cmp(f.value) >= 0;
      case "like":
        return v !== null && likeToRegExp(String(f.value), "").test(v);
      case "ilike":
        return v !== null && likeToRegExp(String(f.value), "i").test(v);
      case "in":
        return v !== null && list.some((x) => cmp(x) === 0);
      case "not_in":
        return v === null || list.every((x) => cmp(x) !== 0);
      case "between":
        return v !== null && cmp(list[0]) >= 0 && cmp(list[1]) <= 0;
      case "is_null":
        return v === null;
      case "is_not_null":
        return v !== null;
    }
  });
}
