/**
 * Accepting a document's `_source` text against a mapping without parsing it: one pass over the
 * characters with checks compiled once per mapping object (mappings are replaced, never mutated,
 * so the object is the version). Bulk indexing is dominated by `JSON.parse` and the garbage it
 * leaves; the stored document keeps only its text, so a document this scan accepts is never
 * parsed at write time.
 *
 * The scan answers only "certainly valid JSON, every field mapped, every value fits" (true) or
 * "not sure" (false). On false the caller parses and runs the full mapping check, which alone
 * decides errors, their order and dynamic mapping updates — so the scan can be strict (escapes
 * in keys, exponents, unusual types all say "not sure") without changing any behaviour.
 */
import { quickDateFormat, quickIsoDate } from "./dates.ts";
import { isStringType, type MappingDef, typeOf } from "./mapping.ts";

/** How values of one field are checked in the text. */
const enum Kind {
  /** keyword, text, ...: any string, number or boolean. */
  Stringy,
  /** long, integer, short, byte: integer literals within range. */
  Integer,
  /** double, scaled_float: any number literal without an exponent (always finite). */
  Double,
  Boolean,
  /** date with the default format: `yyyy-MM-ddTHH:mm:ss...` strings. */
  Date,
  /** object or nested (enabled): a JSON object checked against the sub-fields. */
  Object,
  /** Anything else: always "not sure". */
  Unsure,
}

interface FieldScan {
  readonly kind: Kind;
  readonly min: number;
  readonly max: number;
  readonly object?: ObjectScan;
  /**
   * A regular expression matching only values the scan accepts for this field (`null`
   * included), or undefined when the field cannot be written as one (objects).
   */
  readonly pattern?: string;
}

/**
 * The fields of one object level, in mapping order. Documents tend to list their fields in the
 * same order every time, so a key is first compared with the field after the previous one
 * (`hint`) — usually one `startsWith`, no key string built.
 */
interface ObjectScan {
  readonly names: string[];
  readonly fields: FieldScan[];
  hint: number;
  /** Top level only: the layouts of the last documents the full scan accepted, newest first. */
  shapes: Shape[];
}

/**
 * The text of a document around its values: `{"id":` before the first, `,"sku":` before
 * the next, ..., `}` after the last. Documents from one producer repeat it exactly, so a
 * document is checked by comparing these pieces and scanning only the values in between; the
 * same piece of text before a value means the same key, hence the same field and the same
 * verdict as the full scan. Any difference sends the document to the full scan.
 */
interface Shape {
  /** The text before each value (the first starts at `{`). */
  readonly gaps: readonly string[];
  /** The field of each value. */
  readonly fields: readonly FieldScan[];
  /** From the end of the last value (or from `{`) through `}`. */
  readonly close: string;
  /** Documents that had this shape. */
  hits: number;
  /**
   * The shape as one sticky regular expression (gaps literally, each value by its field's
   * `pattern`, trailing blanks): a match is a document the scan accepts, checked by the
   * regular expression engine in one call. Built once a shape repeats; null when a field has
   * no pattern. A failed match is no verdict: the scan then runs.
   */
  regex?: RegExp | null;
}

/** Most shapes remembered per mapping (documents with optional fields vary). */
const MAX_SHAPES = 4;

// The value patterns: each accepts a subset of what `Scan.value_` accepts for its kind.
const STRING = String.raw`"[^"\\\x00-\x1f]*"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
/** Integers by digit count: 18 digits always fit a long, 9 an integer, 4 a short, 2 a byte. */
const INTEGER_DIGITS: Record<string, number> = { long: 18, integer: 9, short: 4, byte: 2 };
/** No exponent, and far below the scan's 300-character limit. */
const DOUBLE = String.raw`-?(?:0|[1-9]\d{0,200})(?:\.\d{1,90})?`;
/** quickIsoDate's shape with its ranges; February 29 is left to the scan (leap years). */
const ISO_DATE = String.raw`"\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|` +
  String.raw`(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))` +
  String.raw`T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}(?::?\d{2})?)?"`;

function orNull(pattern: string): string {
  return `(?:${pattern}|null)`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** The regular expression of a shape, or null when one of its fields has no pattern. */
function shapeRegex(shape: Shape): RegExp | null {
  let source = "";
  for (let k = 0; k < shape.gaps.length; k++) {
    const pattern = shape.fields[k].pattern;
    if (pattern === undefined) return null;
    source += escapeRegExp(shape.gaps[k]) + pattern;
  }
  return new RegExp(`${source}${escapeRegExp(shape.close)}[ \\t\\r]*`, "y");
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  // A long literal of at most 18 digits is always in range; the scan checks the digit count.
  long: [-Infinity, Infinity],
  integer: [-2147483648, 2147483647],
  short: [-32768, 32767],
  byte: [-128, 127],
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function compileField(def: MappingDef): FieldScan {
  const type = typeOf(def);
  const field = (
    kind: Kind,
    pattern: string | undefined,
    min = 0,
    max = 0,
    object?: ObjectScan,
  ): FieldScan => ({ kind, min, max, object, pattern });
  if (type === "object" || type === "nested") {
    return def.enabled === false
      ? field(Kind.Unsure, "null")
      : field(Kind.Object, undefined, 0, 0, compileObject(def));
  }
  if (isStringType(type)) return field(Kind.Stringy, orNull(`${STRING}|true|false|${NUMBER}`));
  const range = INTEGER_RANGES[type];
  if (range) {
    const digits = INTEGER_DIGITS[type] - 1;
    return field(Kind.Integer, orNull(String.raw`-?(?:0|[1-9]\d{0,${digits}})`), ...range);
  }
  if (type === "double" || type === "scaled_float") return field(Kind.Double, orNull(DOUBLE));
  if (type === "boolean") return field(Kind.Boolean, "(?:true|false|null)");
  if (type === "date" || type === "date_nanos") {
    const format = typeof def.format === "string" ? def.format : undefined;
    return format === undefined || quickDateFormat(format)
      ? field(Kind.Date, orNull(ISO_DATE))
      : field(Kind.Unsure, "null");
  }
  return field(Kind.Unsure, "null");
}

function compileObject(container: MappingDef): ObjectScan {
  const scan: ObjectScan = { names: [], fields: [], hint: 0, shapes: [] };
  if (isPlainObject(container.properties)) {
    for (const [name, def] of Object.entries(container.properties)) {
      // Names the full check would reject or expand stay out: they are "not sure".
      if (name.trim() === "" || name.includes(".") || !isPlainObject(def)) continue;
      // A name is matched with `startsWith`: one holding a quote or a line break could match
      // text beyond the key (or the line).
      if (name.includes('"') || name.includes("\n")) continue;
      scan.names.push(name);
      scan.fields.push(compileField(def));
    }
  }
  return scan;
}

const compiled = new WeakMap<MappingDef, ObjectScan>();

/** What makes a string need the character-by-character scan. */
// deno-lint-ignore no-control-regex
const SPECIAL = /[\u0000-\u001f\\]/;

/** Signals "not sure" out of the recursive scan. */
const UNSURE = -1;
/** The document does not have the remembered shape (not a verdict). */
const OTHER_SHAPE = -2;

/**
 * A scanner over one text; every function returns the index after what it read, or UNSURE.
 * One instance is reused for every document (`reset`), so a scan allocates nothing.
 */
class Scan {
  text = "";
  /** Where the document ends in `text` (it may be one line of a larger text). */
  end = 0;
  /** True when the text has no backslash and no control character: strings end at the next quote. */
  simple = true;

  reset(text: string, end: number, simple: boolean): this {
    this.text = text;
    this.end = end;
    this.simple = simple;
    return this;
  }

  /** Whitespace from `i`, never past the end of the document. */
  ws(i: number): number {
    const t = this.text, end = this.end;
    for (; i < end; i++) {
      const c = t.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return i;
    }
    return end;
  }

  /** A string starting at the quote `i`; `plain` is set when it has no escapes. */
  string(i: number): number {
    const t = this.text;
    if (this.simple) {
      this.plain = true;
      const end = t.indexOf('"', i + 1);
      return end < 0 || end >= this.end ? UNSURE : end + 1;
    }
    const n = this.end;
    this.plain = true;
    for (i++; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c === 34) return i + 1;
      if (c < 32) return UNSURE;
      if (c === 92) {
        this.plain = false;
        const e = t.charCodeAt(++i);
        if (e === 117) {
          for (let k = 1; k <= 4; k++) {
            const h = t.charCodeAt(i + k);
            const hex = (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102);
            if (!hex) return UNSURE;
          }
          i += 4;
        } else if (
          e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 &&
          e !== 114 && e !== 116
        ) return UNSURE;
      }
    }
    return UNSURE;
  }
  plain = true;

  /**
   * A number literal at `i` (JSON grammar). Sets `integer` (no fraction or exponent),
   * `exponent`, and `value` for integers of at most 15 digits.
   */
  number(i: number): number {
    const t = this.text;
    const start = i;
    let negative = false;
    if (t.charCodeAt(i) === 45) (negative = true, i++);
    let c = t.charCodeAt(i);
    let value = 0;
    if (c === 48) c = t.charCodeAt(++i);
    else if (c >= 49 && c <= 57) {
      while (c >= 48 && c <= 57) {
        value = value * 10 + c - 48;
        c = t.charCodeAt(++i);
      }
    } else return UNSURE;
    const intDigits = i - start - (negative ? 1 : 0);
    this.integer = true;
    this.exponent = false;
    if (c === 46) {
      this.integer = false;
      c = t.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) return UNSURE;
      while (c >= 48 && c <= 57) c = t.charCodeAt(++i);
    }
    if (c === 101 || c === 69) {
      this.integer = false;
      this.exponent = true;
      c = t.charCodeAt(++i);
      if (c === 43 || c === 45) c = t.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) return UNSURE;
      while (c >= 48 && c <= 57) c = t.charCodeAt(++i);
    }
    this.digits = intDigits;
    // Exact: at most 15 digits stay below 2^53.
    this.value = this.integer && intDigits <= 15 ? (negative ? -value : value) : NaN;
    return i;
  }
  integer = true;
  exponent = false;
  digits = 0;
  value = 0;

  literal(i: number, word: string): number {
    return this.text.startsWith(word, i) && i + word.length <= this.end ? i + word.length : UNSURE;
  }

  /** One value of `field` at `i` (arrays: each element). */
  value_(i: number, field: FieldScan): number {
    const c = this.text.charCodeAt(i);
    if (c === 110) return this.literal(i, "null"); // null fits every field
    if (c === 91) return this.array(i, field);
    switch (field.kind) {
      case Kind.Stringy:
        if (c === 34) return this.string(i);
        if (c === 116) return this.literal(i, "true");
        if (c === 102) return this.literal(i, "false");
        return c === 45 || (c >= 48 && c <= 57) ? this.number(i) : UNSURE;
      case Kind.Integer: {
        if (c !== 45 && !(c >= 48 && c <= 57)) return UNSURE;
        const end = this.number(i);
        if (end === UNSURE || !this.integer || this.digits > 18) return UNSURE;
        if (field.min === -Infinity) return end;
        const v = this.value;
        return v >= field.min && v <= field.max ? end : UNSURE;
      }
      case Kind.Double: {
        if (c !== 45 && !(c >= 48 && c <= 57)) return UNSURE;
        const end = this.number(i);
        return end === UNSURE || this.exponent || end - i > 300 ? UNSURE : end;
      }
      case Kind.Boolean:
        if (c === 116) return this.literal(i, "true");
        return c === 102 ? this.literal(i, "false") : UNSURE;
      case Kind.Date: {
        if (c !== 34) return UNSURE;
        const end = this.string(i);
        if (end === UNSURE || !this.plain) return UNSURE;
        return quickIsoDate(this.text, i + 1, end - 1) ? end : UNSURE;
      }
      case Kind.Object:
        return c === 123 ? this.object(i, field.object!) : UNSURE;
      default:
        return UNSURE;
    }
  }

  array(i: number, field: FieldScan): number {
    i = this.ws(i + 1);
    if (this.text.charCodeAt(i) === 93) return i + 1;
    for (;;) {
      i = this.value_(i, field);
      if (i === UNSURE) return UNSURE;
      i = this.ws(i);
      const c = this.text.charCodeAt(i);
      if (c === 93) return i + 1;
      if (c !== 44) return UNSURE;
      i = this.ws(i + 1);
    }
  }

  /** The field whose name is exactly the text from `start` to `end`, if mapped. */
  field(scan: ObjectScan, start: number, end: number): FieldScan | undefined {
    const names = scan.names;
    const count = names.length;
    const length = end - start;
    for (let k = 0, at = scan.hint; k < count; k++, at = at + 1 === count ? 0 : at + 1) {
      const name = names[at];
      if (name.length === length && this.text.startsWith(name, start)) {
        scan.hint = at + 1 === count ? 0 : at + 1;
        return scan.fields[at];
      }
    }
    return undefined;
  }

  /** Value bounds (start, end, ...) and fields of the object `object` is recording. */
  readonly marks: number[] = [];
  readonly markFields: FieldScan[] = [];

  /**
   * The object at `i` against `fields`; with `record`, the bounds and fields of its values go
   * to `marks` and `markFields` (the top level, to remember its shape).
   */
  object(i: number, fields: ObjectScan, record = false): number {
    const t = this.text;
    i = this.ws(i + 1);
    if (t.charCodeAt(i) === 125) return i + 1;
    for (;;) {
      if (t.charCodeAt(i) !== 34) return UNSURE;
      const keyEnd = this.string(i);
      if (keyEnd === UNSURE || !this.plain) return UNSURE;
      const field = this.field(fields, i + 1, keyEnd - 1);
      if (field === undefined) return UNSURE;
      i = this.ws(keyEnd);
      if (t.charCodeAt(i) !== 58) return UNSURE;
      const start = this.ws(i + 1);
      i = this.value_(start, field);
      if (i === UNSURE) return UNSURE;
      if (record) (this.marks.push(start, i), this.markFields.push(field));
      i = this.ws(i);
      const c = t.charCodeAt(i);
      if (c === 125) return i + 1;
      if (c !== 44) return UNSURE;
      i = this.ws(i + 1);
    }
  }

  /** The object at `i` if it has `shape`: the index after it, UNSURE, or OTHER_SHAPE. */
  byShape(i: number, shape: Shape): number {
    const t = this.text, end = this.end;
    const gaps = shape.gaps, fields = shape.fields;
    for (let k = 0; k < gaps.length; k++) {
      const gap = gaps[k];
      if (i + gap.length > end || !t.startsWith(gap, i)) return OTHER_SHAPE;
      i = this.value_(i + gap.length, fields[k]);
      if (i === UNSURE) return UNSURE;
    }
    const close = shape.close;
    return i + close.length <= end && t.startsWith(close, i) ? i + close.length : OTHER_SHAPE;
  }

  /** The shape of the object from `open` to `close` that `object(open, _, true)` recorded. */
  recordedShape(open: number, close: number): Shape {
    const t = this.text, marks = this.marks;
    const gaps: string[] = [];
    let from = open;
    for (let k = 0; k < marks.length; k += 2) {
      gaps.push(t.slice(from, marks[k]));
      from = marks[k + 1];
    }
    return { gaps, fields: this.markFields.slice(), close: t.slice(from, close), hits: 0 };
  }
}

const shared = new Scan();

/**
 * True when `text` has no backslash and no control character other than newlines: then no
 * line of it does, and the scan of a line may skip the check (one test per `_bulk` body instead
 * of one per document).
 */
export function plainText(text: string): boolean {
  return !SPECIAL_BUT_NEWLINE.test(text);
}

// deno-lint-ignore no-control-regex
const SPECIAL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\\]/;

/** A text whose `plainText` answer is worked out once, when first needed (a `_bulk` body). */
export interface PlainSource {
  readonly text: string;
  plain?: boolean;
}

/**
 * True when `text` — or its part from `start` to `end`, e.g. one line of a `_bulk` body, read in
 * place (`source`: that body) — is certainly a JSON object that `mapping` accepts unchanged:
 * what `JSON.parse` + `checkDocument` would conclude without error or mapping update. False
 * means "not sure": parse and check.
 */
export function scanAccepts(
  mapping: MappingDef,
  text: string,
  start = 0,
  end = text.length,
  source?: PlainSource,
): boolean {
  let fields = compiled.get(mapping);
  if (!fields) compiled.set(mapping, fields = compileObject(mapping));
  let open = start;
  while (open < end && isBlank(text.charCodeAt(open))) open++;
  if (text.charCodeAt(open) !== 123 || open >= end) return false;
  const shapes = fields.shapes;
  let scan: Scan | undefined;
  for (let k = 0; k < shapes.length; k++) {
    const shape = shapes[k];
    const regex = shape.regex;
    if (regex) {
      regex.lastIndex = open;
      if (regex.test(text) && regex.lastIndex === end) return true;
    }
    scan ??= shared.reset(text, end, simpleText(text, start, end, source));
    const close = scan.byShape(open, shape);
    if (close === OTHER_SHAPE) continue;
    if (close === UNSURE || scan.ws(close) !== end) return false;
    if (++shape.hits === 2 && regex === undefined) shape.regex = shapeRegex(shape);
    return true;
  }
  scan ??= shared.reset(text, end, simpleText(text, start, end, source));
  scan.marks.length = 0;
  scan.markFields.length = 0;
  const close = scan.object(open, fields, true);
  if (close === UNSURE || scan.ws(close) !== end) return false;
  shapes.unshift(scan.recordedShape(open, close));
  if (shapes.length > MAX_SHAPES) shapes.pop();
  return true;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Whether text[start, end) has no backslash and no control character. */
function simpleText(text: string, start: number, end: number, source?: PlainSource): boolean {
  if (source) {
    source.plain ??= plainText(source.text);
    if (source.plain) return true;
  }
  return !SPECIAL.test(start === 0 && end === text.length ? text : text.slice(start, end));
}
