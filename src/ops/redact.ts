/**
 * Turns arbitrary log context into plain JSON-safe values that can never carry a secret:
 * `Secret` instances and fields with secret-sounding names become `[redacted]`, credentials
 * inside URLs and libpq connection strings are masked, errors become `{name, message, …}`.
 * Every log sink (JSON lines, pretty text, /status) goes through here.
 */
import { Secret } from "../config/secret.ts";
import { formatLsn } from "../engine/change.ts";

/** What a redacted secret looks like wherever it would have appeared. */
export const REDACTED = "[redacted]";

/** Field names whose values are secrets whatever their type. */
const SECRET_FIELD =
  /(pass(word|wd)?|pwd|token|secret|authorization|api[_-]?key|credential|cookie)/i;

// scheme://userinfo@ — the userinfo runs to the last "@" before the path, so a password with
// an unencoded "@" is still covered entirely.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]*@)*([^\s/?#@]*)@/gi;
// libpq key/value form: password=secret or password='se cret'.
const KV_PASSWORD = /\b(password|passwd|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/gi;
// Authorization headers that ended up in a message. A credential has a digit or symbol in
// it, so prose such as "bearer token" is left alone.
const BEARER = /\b(bearer|basic)\s+(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{6,}/gi;

/** Whether a field with this name holds a secret (password, token, authorization, …). */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/**
 * Masks credentials in free text: the userinfo of URLs (`postgres://u:p@h` →
 * `postgres://[redacted]@h`), `password=…` pairs and bearer/basic tokens.
 */
export function redactText(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, scheme: string) => `${scheme}${REDACTED}@`)
    .replace(KV_PASSWORD, (_m, key: string, eq: string) => `${key}${eq}${REDACTED}`)
    .replace(BEARER, (_m, kind: string) => `${kind} ${REDACTED}`);
}

/** A plain, JSON-safe value: what `sanitize` returns. */
export type Plain =
  | string
  | number
  | boolean
  | null
  | readonly Plain[]
  | { readonly [key: string]: Plain };

const MAX_DEPTH = 8;
const MAX_ITEMS = 100;

/**
 * A redacted, JSON-safe copy of `value`. `key` is the field name the value sits under (it
 * decides secret-by-name and LSN formatting of bigints). Cycles and very deep values are cut.
 */
export function sanitize(value: unknown, key = ""): Plain {
  return walk(value, key, 0, new WeakSet());
}

/** An error as a plain object: name, message, code, own context fields and cause. */
export function serializeError(error: unknown): Plain {
  return walk(error, "error", 0, new WeakSet());
}

function walk(value: unknown, key: string, depth: number, seen: WeakSet<object>): Plain {
  if (value instanceof Secret) return REDACTED;
  if (key !== "" && isSecretField(key) && value !== undefined && value !== null) return REDACTED;
  switch (typeof value) {
    case "string":
      return redactText(value);
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      // LSNs travel as bigint; print them the way Postgres does so they can be grepped.
      return /lsn$/i.test(key) && value >= 0n ? formatLsn(value) : value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return null;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) {
    return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  }
  if (seen.has(object)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[…]";
  seen.add(object);
  try {
    if (object instanceof Error) return errorToPlain(object, depth, seen);
    if (object instanceof URL) return redactText(object.href);
    if (Array.isArray(object) || object instanceof Set) {
      return [...object].slice(0, MAX_ITEMS).map((item) => walk(item, key, depth + 1, seen));
    }
    if (object instanceof Map) {
      const out: Record<string, Plain> = {};
      for (const [k, v] of [...object].slice(0, MAX_ITEMS)) {
        out[String(k)] = walk(v, String(k), depth + 1, seen);
      }
      return out;
    }
    if (ArrayBuffer.isView(object)) {
      return `[${object.constructor.name} ${object.byteLength} bytes]`;
    }
    const out: Record<string, Plain> = {};
    for (const [k, v] of Object.entries(object).slice(0, MAX_ITEMS)) {
      if (v === undefined || typeof v === "function") continue;
      out[k] = walk(v, k, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

function errorToPlain(error: Error, depth: number, seen: WeakSet<object>): Plain {
  const out: Record<string, Plain> = {
    name: redactText(error.name),
    message: redactText(error.message),
  };
  // Typed errors carry their context (index, table, lsn, code, …) as own properties.
  for (const [k, v] of Object.entries(error)) {
    if (k === "stack" || k === "cause" || v === undefined || typeof v === "function") continue;
    out[k] = walk(v, k, depth + 1, seen);
  }
  if (error.cause !== undefined) out.cause = walk(error.cause, "cause", depth + 1, seen);
  if (error instanceof AggregateError) {
    out.errors = error.errors.slice(0, MAX_ITEMS).map((e) => walk(e, "error", depth + 1, seen));
  }
  return out;
}
