/**
 * Date parsing for `date` fields: OpenSearch's default `strict_date_optional_time||epoch_millis`,
 * the common built-in format names, custom `yyyy-MM-dd HH:mm:ss`-style patterns, and the date
 * math (`now-7d/d`, `2024-01-01||+1M`) range queries accept. Everything resolves to epoch millis.
 */

/** The format a `date` field uses when its mapping names none. */
export const DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis";
/** The formats dynamic mapping tries on strings (`dynamic_date_formats`). */
export const DYNAMIC_DATE_FORMATS = [
  "strict_date_optional_time",
  "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd",
];

type Parser = (text: string) => number | undefined;

const OPTIONAL_TIME =
  /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(y: number, mo: number): number {
  if (mo !== 2) return MONTH_DAYS[mo - 1];
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
}

function utc(
  y: number,
  mo = 1,
  d = 1,
  h = 0,
  mi = 0,
  s = 0,
  frac = "",
  zone = "",
): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  if (d > daysIn(y, mo)) return undefined;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  let t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (y >= 0 && y < 100) {
    const date = new Date(t);
    date.setUTCFullYear(y); // Date.UTC maps years 0..99 to 1900..1999
    t = date.getTime();
  }
  return zone ? t - zoneOffsetMs(zone) : t;
}

function zoneOffsetMs(zone: string): number {
  if (!zone || zone === "Z") return 0;
  const m = zone.match(/^([+-])(\d{2}):?(\d{2})?$/);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return (m[1] === "-" ? -1 : 1) * minutes * 60_000;
}

function optionalTime(strict: boolean): Parser {
  return (text) => {
    const m = text.match(OPTIONAL_TIME);
    if (!m) return undefined;
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    if (strict && [mo, d, h, mi, s].some((p) => p !== undefined && p.length !== 2)) {
      return undefined;
    }
    if (strict && text.includes(" ")) return undefined;
    if (zone && h === undefined) return undefined;
    return utc(
      Number(y),
      mo ? Number(mo) : 1,
      d ? Number(d) : 1,
      h ? Number(h) : 0,
      mi ? Number(mi) : 0,
      s ? Number(s) : 0,
      frac ?? "",
      zone ?? "",
    );
  };
}

const epochMillis: Parser = (text) => /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
const epochSecond: Parser = (text) =>
  /^-?\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : undefined;

/** Converts a Java DateTimeFormatter pattern (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`) to a parser. */
function patternParser(pattern: string): Parser {
  const groups: string[] = [];
  let re = "";
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      const lit = pattern.slice(i + 1, end < 0 ? undefined : end);
      re += lit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      i = end < 0 ? pattern.length : end + 1;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    const token = c.repeat(n);
    i += n;
    if ("yu".includes(c)) (groups.push("y"), re += n === 2 ? "(\\d{2})" : "(\\d{4})");
    else if (c === "M") (groups.push("M"), re += n === 1 ? "(\\d{1,2})" : "(\\d{2})");
    else if (c === "d") (groups.push("d"), re += n === 1 ? "(\\d{1,2})" : "(\\d{2})");
    else if (c === "H") (groups.push("H"), re += n === 1 ? "(\\d{1,2})" : "(\\d{2})");
    else if (c === "m") (groups.push("m"), re += "(\\d{2})");
    else if (c === "s") (groups.push("s"), re += "(\\d{2})");
    else if (c === "S") (groups.push("S"), re += `(\\d{${n}})`);
    else if ("ZXx".includes(c)) (groups.push("Z"), re += "(Z|[+-]\\d{2}:?\\d{2}|[+-]\\d{2})");
    else re += token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const regex = new RegExp(`^${re}$`);
  return (text) => {
    const m = text.match(regex);
    if (!m) return undefined;
    const v: Record<string, string> = {};
    groups.forEach((g, i) => (v[g] = m[i + 1]));
    const year = v.y ? Number(v.y.length === 2 ? `20${v.y}` : v.y) : 1970;
    return utc(
      year,
      v.M ? Number(v.M) : 1,
      v.d ? Number(v.d) : 1,
      v.H ? Number(v.H) : 0,
      v.m ? Number(v.m) : 0,
      v.s ? Number(v.s) : 0,
      v.S ?? "",
      v.Z ?? "",
    );
  };
}

const NAMED: Record<string, Parser> = {
  strict_date_optional_time: optionalTime(true),
  strict_date_optional_time_nanos: optionalTime(true),
  date_optional_time: optionalTime(false),
  epoch_millis: epochMillis,
  epoch_second: epochSecond,
  strict_date: patternParser("yyyy-MM-dd"),
  date: patternParser("yyyy-M-d"),
  strict_date_time: patternParser("yyyy-MM-dd'T'HH:mm:ss.SSSZ"),
  date_time: patternParser("yyyy-MM-dd'T'HH:mm:ss.SSSZ"),
  strict_date_time_no_millis: patternParser("yyyy-MM-dd'T'HH:mm:ssZ"),
  date_time_no_millis: patternParser("yyyy-MM-dd'T'HH:mm:ssZ"),
  strict_date_hour_minute_second: patternParser("yyyy-MM-dd'T'HH:mm:ss"),
  date_hour_minute_second: patternParser("yyyy-MM-dd'T'HH:mm:ss"),
  strict_date_hour_minute_second_millis: patternParser("yyyy-MM-dd'T'HH:mm:ss.SSS"),
  date_hour_minute_second_millis: patternParser("yyyy-MM-dd'T'HH:mm:ss.SSS"),
  basic_date: patternParser("yyyyMMdd"),
  basic_date_time: patternParser("yyyyMMdd'T'HHmmss.SSSZ"),
  basic_date_time_no_millis: patternParser("yyyyMMdd'T'HHmmssZ"),
  strict_year_month_day: patternParser("yyyy-MM-dd"),
  year_month_day: patternParser("yyyy-M-d"),
  strict_year_month: patternParser("yyyy-MM"),
  year_month: patternParser("yyyy-M"),
  strict_year: patternParser("yyyy"),
  year: patternParser("yyyy"),
};

const parserCache = new Map<string, Parser[]>();

function parsersFor(format: string): Parser[] {
  let list = parserCache.get(format);
  if (!list) {
    list = format.split("||").map((f) => NAMED[f.trim()] ?? patternParser(f.trim()));
    parserCache.set(format, list);
  }
  return list;
}

/** Epoch millis of `value` under `format` (`a||b` tries each), or undefined when none parses. */
export function parseDate(value: unknown, format = DEFAULT_DATE_FORMAT): number | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value);
  for (const parse of parsersFor(format)) {
    const t = parse(text);
    if (t !== undefined && Number.isFinite(t)) return t;
  }
  return undefined;
}

const DIGIT0 = 48;

function digits(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - DIGIT0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Fast answer for the shape almost every document uses under the default format,
 * `yyyy-MM-ddTHH:mm:ss[.S{1,9}][Z|±HH[[:]mm]]`, looking at `text` from `start` to `end`: true
 * when valid, undefined when unsure (other shapes, or invalid) so the caller asks `parseDate`.
 * Agrees with `parseDate` wherever it answers: that shape matches `strict_date_optional_time`,
 * which accepts exactly the in-range field values.
 */
export function quickIsoDate(text: string, start = 0, end = text.length): true | undefined {
  const n = end - start;
  const t = text, o = start;
  if (n < 19 || t.charCodeAt(o + 4) !== 45 || t.charCodeAt(o + 7) !== 45) return undefined;
  if (t.charCodeAt(o + 10) !== 84 || t.charCodeAt(o + 13) !== 58) return undefined;
  if (t.charCodeAt(o + 16) !== 58) return undefined;
  const y = digits(t, o, 4), mo = digits(t, o + 5, 2);
  const d = digits(t, o + 8, 2), h = digits(t, o + 11, 2);
  const mi = digits(t, o + 14, 2), s = digits(t, o + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59) {
    return undefined;
  }
  if (s < 0 || s > 59 || d > daysIn(y, mo)) return undefined;
  let i = o + 19;
  if (i < end && (t.charCodeAt(i) === 46 || t.charCodeAt(i) === 44)) {
    const first = ++i;
    while (i < end && digits(t, i, 1) >= 0) i++;
    if (i === first || i - first > 9) return undefined;
  }
  if (i === end) return true;
  const c = t.charCodeAt(i);
  if (c === 90) return i + 1 === end ? true : undefined; // Z
  if (c !== 43 && c !== 45) return undefined; // + or -
  const rest = end - i - 1;
  if (digits(t, i + 1, 2) < 0) return undefined;
  if (rest === 2) return true;
  if (rest === 4) return digits(t, i + 3, 2) >= 0 ? true : undefined;
  if (rest === 5 && t.charCodeAt(i + 3) === 58) {
    return digits(t, i + 4, 2) >= 0 ? true : undefined;
  }
  return undefined;
}

/** True for the formats `quickIsoDate` may answer for. */
export function quickDateFormat(format: string): boolean {
  return format === DEFAULT_DATE_FORMAT || format === "strict_date_optional_time";
}

/** True when `value` is a date under `format` (what a `date` field accepts). */
export function isDate(value: unknown, format = DEFAULT_DATE_FORMAT): boolean {
  if (typeof value === "string" && quickDateFormat(format) && quickIsoDate(value)) return true;
  return parseDate(value, format) !== undefined;
}

/** True when `format` is a valid date format (all its alternatives are known or patterns). */
export function isKnownDateFormat(format: string): boolean {
  return format.split("||").every((f) => f.trim().length > 0);
}

const UNIT_MS: Record<string, number> = {
  w: 604_800_000,
  d: 86_400_000,
  h: 3_600_000,
  H: 3_600_000,
  m: 60_000,
  s: 1000,
};

function addUnits(t: number, n: number, unit: string): number {
  const d = new Date(t);
  if (unit === "y") d.setUTCFullYear(d.getUTCFullYear() + n);
  else if (unit === "M") d.setUTCMonth(d.getUTCMonth() + n);
  else return t + n * (UNIT_MS[unit] ?? 0);
  return d.getTime();
}

function roundDown(t: number, unit: string): number {
  const d = new Date(t);
  switch (unit) {
    case "y":
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case "M":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "w": {
      const day = (d.getUTCDay() + 6) % 7; // ISO weeks start on Monday
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
    }
    default:
      return t - (t % (UNIT_MS[unit] ?? 1));
  }
}

/**
 * Resolves a range bound: a date in `format`, or date math (`now-1d/d`, `<date>||+1M/M`).
 * `roundUp` picks the end of a rounded unit, as OpenSearch does for `gt` and `lte`.
 */
export function resolveDateBound(
  value: unknown,
  format: string,
  roundUp: boolean,
  now = Date.now(),
): number | undefined {
  if (typeof value === "number") return parseDate(value, format);
  if (typeof value !== "string") return undefined;
  let base: number | undefined;
  let math: string;
  if (value.startsWith("now")) {
    base = now;
    math = value.slice(3);
  } else {
    const at = value.indexOf("||");
    if (at < 0) return parseDate(value, format);
    base = parseDate(value.slice(0, at), format);
    math = value.slice(at + 2);
  }
  if (base === undefined) return undefined;
  let t = base;
  const re = /([+-])(\d+)([yMwdhHms])|\/([yMwdhHms])/g;
  let consumed = 0;
  for (let m = re.exec(math); m; m = re.exec(math)) {
    consumed += m[0].length;
    if (m[4]) {
      const down = roundDown(t, m[4]);
      t = roundUp ? addUnits(down, 1, m[4]) - 1 : down;
    } else t = addUnits(t, (m[1] === "-" ? -1 : 1) * Number(m[2]), m[3]);
  }
  return consumed === math.length ? t : undefined;
}
