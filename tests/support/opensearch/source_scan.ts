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
  const field = (kind: Kind, min = 0, max = 0, object?: ObjectScan): FieldScan => ({
    kind,
    min,
    max,
    object,
  });
  if (type === "object" || type === "nested") {
    return def.enabled === false
      ? field(Kind.Unsure)
      : field(Kind.Object, 0, 0, compileObject(def));
  }
  if (isStringType(type)) return field(Kind.Stringy);
  const range = INTEGER_RANGES[type];
  if (range) return field(Kind.Integer, range[0], range[1]);
  if (type === "double" || type === "scaled_float") return field(Kind.Double);
  if (type === "boolean") return field(Kind.Boolean);
  if (type === "date" || type === "date_nanos") {
    const format = typeof def.format === "string" ? def.format : undefined;
    return field(format === undefined || quickDateFormat(format) ? Kind.Date : Kind.Unsure);
  }
  return field(Kind.Unsure);
}

function compileObject(container: MappingDef): ObjectScan {
  const scan: ObjectScan = { names: [], fields: [], hint: 0 };
  if (isPlainObject(container.properties)) {
    for (const [name, def] of Object.entries(container.properties)) {
      // Names the full check would reject or expand stay out: they are "not sure".
      if (name.trim() === "" || name.includes(".") || !isPlainObject(def)) continue;
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

/**
 * A scanner over one text; every function returns the index after what it read, or UNSURE.
 * One instance is reused for every document (`reset`), so a scan allocates nothing.
 */
class Scan {
  text = "";
  /** True when the text has no backslash and no control character: strings end at the next quote. */
  simple = true;

  reset(text: string): this {
    this.text = text;
    this.simple = !SPECIAL.test(text);
    return this;
  }

  ws(i: number): number {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return i;
      i++;
    }
  }

  /** A string starting at the quote `i`; `plain` is set when it has no escapes. */
  string(i: number): number {
    const t = this.text;
    if (this.simple) {
      this.plain = true;
      const end = t.indexOf('"', i + 1);
      return end < 0 ? UNSURE : end + 1;
    }
    const n = t.length;
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
    return this.text.startsWith(word, i) ? i + word.length : UNSURE;
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

  object(i: number, fields: ObjectScan): number {
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
      i = this.value_(this.ws(i + 1), field);
      if (i === UNSURE) return UNSURE;
      i = this.ws(i);
      const c = t.charCodeAt(i);
      if (c === 125) return i + 1;
      if (c !== 44) return UNSURE;
      i = this.ws(i + 1);
    }
  }
}

const shared = new Scan();

/**
 * True when `text` is certainly a JSON object that `mapping` accepts unchanged — what
 * `JSON.parse` + `checkDocument` would conclude without error or mapping update. False means
 * "not sure": parse and check.
 */
export function scanAccepts(mapping: MappingDef, text: string): boolean {
  let fields = compiled.get(mapping);
  if (!fields) compiled.set(mapping, fields = compileObject(mapping));
  const scan = shared.reset(text);
  const start = scan.ws(0);
  if (text.charCodeAt(start) !== 123) return false;
  const end = scan.object(start, fields);
  return end !== UNSURE && scan.ws(end) === text.length;
}
