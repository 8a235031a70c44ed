/**
 * Turns the validator's findings into config errors that point at the text: each zod issue
 * becomes one typed ConfigError with the file, line and column of the offending key or
 * value, what was expected, and the nearest valid key or value. Unions are resolved to the
 * branch the user evidently meant (for fields: the one named by the type key), so a typo
 * inside a `has_many` is reported as such instead of "matches none of 32 field kinds".
 */
import { z } from "zod";
import { DURATION_PATTERN } from "./duration.ts";
import {
  type ConfigError,
  InvalidDurationError,
  InvalidSizeError,
  InvalidTypeError,
  InvalidValueError,
  MissingKeyError,
  UnknownKeyError,
} from "./errors.ts";
import { type DocPath, positionOf, type SourceDocument, valueAt } from "./position.ts";
import { FIELD_KINDS, JOIN_KINDS, ROW_KINDS } from "./shapes_document.ts";
import { SIZE_PATTERN } from "./size.ts";
import { nearest } from "./suggest.ts";

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

/** Keys whose values are secrets: never quoted back in a message. */
const SECRET_KEYS = new Set(["password", "token", "connection_url"]);

/** A path as shown to users: `sinks.search.batch_size`, `fields[2].table`. */
export function displayPath(path: DocPath): string {
  let out = "";
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : out ? `.${segment}` : segment;
  }
  return out;
}

/** True when the value at `path` may be a secret. */
export function isSecretPath(path: DocPath): boolean {
  return path.some((segment) => typeof segment === "string" && SECRET_KEYS.has(segment));
}

/** Validates `doc.value` against `schema`; returns the parsed value or the errors. */
export function validate<T>(
  schema: z.ZodType<T>,
  doc: SourceDocument,
): { ok: true; value: T } | { ok: false; errors: ConfigError[] } {
  const result = schema.safeParse(doc.value);
  if (result.success) return { ok: true, value: result.data };
  const errors: ConfigError[] = [];
  for (const issue of result.error.issues) translate(issue, [], schema, doc, errors);
  return { ok: false, errors: dedupe(errors) };
}

function translate(
  issue: Issue,
  base: DocPath,
  root: Schema,
  doc: SourceDocument,
  out: ConfigError[],
): void {
  const path: DocPath = [...base, ...(issue.path as (string | number)[])];
  const value = valueAt(doc.value, path);
  const where = displayPath(path);
  const file = doc.file;
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = objectKeysAt(root, path, doc.value);
      for (const key of issue.keys) {
        const suggestion = nearest(key, known);
        const keyPath = [...path, key];
        out.push(
          new UnknownKeyError(
            `unknown key "${key}"${where ? ` in ${where}` : ""}${
              suggestion ? `; did you mean "${suggestion}"?` : ""
            }`,
            {
              file,
              position: positionOf(doc, keyPath, "key"),
              path: displayPath(keyPath),
              expected: known.length
                ? `one of ${known.map((k) => `"${k}"`).join(", ")}`
                : undefined,
              suggestion,
            },
          ),
        );
      }
      return;
    }
    case "invalid_type": {
      const custom = customMessage(issue);
      if (value === undefined) {
        out.push(missingKey(path, describeExpected(issue.expected), doc));
        return;
      }
      const expected = custom ?? `expected ${describeExpected(issue.expected)}`;
      const message = `${prefix(where)}${expected}, found ${describeValue(value, path)}`;
      const Kind = custom?.includes("duration") ? InvalidDurationError : InvalidTypeError;
      out.push(new Kind(message, { file, position: positionOf(doc, path), path: where, expected }));
      return;
    }
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const suggestion = typeof value === "string"
        ? nearest(value, issue.values.filter((v): v is string => typeof v === "string"))
        : undefined;
      out.push(
        new InvalidValueError(
          `${prefix(where)}expected ${
            allowed.length === 1 ? allowed[0] : `one of ${allowed.join(", ")}`
          }, found ${describeValue(value, path)}${
            suggestion ? `; did you mean "${suggestion}"?` : ""
          }`,
          {
            file,
            position: positionOf(doc, path),
            path: where,
            expected: `one of ${allowed.join(", ")}`,
            suggestion,
          },
        ),
      );
      return;
    }
    case "invalid_format": {
      const pattern = "pattern" in issue ? String(issue.pattern) : "";
      const custom = customMessage(issue) ?? `expected text matching ${pattern}`;
      const Kind = pattern === String(DURATION_PATTERN)
        ? InvalidDurationError
        : pattern === String(SIZE_PATTERN)
        ? InvalidSizeError
        : InvalidValueError;
      out.push(
        new Kind(`${prefix(where)}${custom}, found ${describeValue(value, path)}`, {
          file,
          position: positionOf(doc, path),
          path: where,
          expected: custom.replace(/^expected /, ""),
        }),
      );
      return;
    }
    case "too_small":
    case "too_big": {
      out.push(
        new InvalidValueError(`${prefix(where)}${describeBound(issue, value)}`, {
          file,
          position: positionOf(doc, path),
          path: where,
        }),
      );
      return;
    }
    case "invalid_union": {
      translateUnion(issue, path, root, doc, out);
      return;
    }
    default: {
      out.push(
        new InvalidValueError(`${prefix(where)}${issue.message}`, {
          file,
          position: positionOf(doc, path),
          path: where,
        }),
      );
    }
  }
}

function translateUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  path: DocPath,
  root: Schema,
  doc: SourceDocument,
  out: ConfigError[],
): void {
  const value = valueAt(doc.value, path);
  const where = displayPath(path);
  const file = doc.file;
  if (value === undefined) {
    const expected = [...new Set(issue.errors.flatMap((b) => b.map(expectedOf)).filter(Boolean))];
    out.push(missingKey(path, orList(expected), doc));
    return;
  }
  // A discriminated union whose discriminator (a filter's `op`) has no match.
  if (issue.discriminator !== undefined && issue.errors.length === 0 && "options" in issue) {
    const options = issue.options ?? [];
    translate(
      { code: "invalid_value", values: options as never, path: [], message: "", input: value },
      path,
      root,
      doc,
      out,
    );
    return;
  }
  if (isFieldUnion(issue, path, value)) {
    translateFieldUnion(issue, path, root, doc, out);
    return;
  }
  const branch = bestBranch(issue.errors, value);
  if (branch) {
    for (const inner of branch) translate(inner, path, root, doc, out);
    return;
  }
  const expected = [...new Set(issue.errors.flatMap((b) => b.map(expectedOf)).filter(Boolean))];
  out.push(
    new InvalidTypeError(
      `${prefix(where)}expected ${orList(expected)}, found ${describeValue(value, path)}`,
      { file, position: positionOf(doc, path), path: where, expected: orList(expected) },
    ),
  );
}

function missingKey(path: DocPath, expected: string, doc: SourceDocument): ConfigError {
  const key = path[path.length - 1];
  const parent = displayPath(path.slice(0, -1));
  return new MissingKeyError(
    typeof key === "string"
      ? `missing required key "${key}"${parent ? ` in ${parent}` : ""}`
      : `${displayPath(path)}: missing value`,
    {
      file: doc.file,
      position: positionOf(doc, path.slice(0, -1), "key"),
      path: displayPath(path),
      expected,
    },
  );
}

/** `a`, `a or b`, `a, b or c`. */
function orList(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? "")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** A union over field kinds: its options are exactly ROW_KINDS or FIELD_KINDS. */
function isFieldUnion(issue: z.core.$ZodIssueInvalidUnion, path: DocPath, value: unknown): boolean {
  return path.length >= 2 && path[path.length - 2] === "fields" &&
    typeof path[path.length - 1] === "number" && isPlainObject(value) &&
    (issue.errors.length === ROW_KINDS.length || issue.errors.length === FIELD_KINDS.length);
}

function translateFieldUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  path: DocPath,
  root: Schema,
  doc: SourceDocument,
  out: ConfigError[],
): void {
  const value = valueAt(doc.value, path) as Record<string, unknown>;
  const where = displayPath(path);
  const file = doc.file;
  const allowed: readonly string[] = issue.errors.length === ROW_KINDS.length
    ? ROW_KINDS
    : FIELD_KINDS;
  const keys = Object.keys(value);
  const kinds = keys.filter((k) => (FIELD_KINDS as readonly string[]).includes(k));
  if (kinds.length === 0) {
    const guess = keys.map((k) => ({ k, s: nearest(k, allowed) })).find((g) => g.s);
    out.push(
      new MissingKeyError(
        `${where}: a field starts with its type, e.g. "- keyword: email"; found ${
          keys.length ? keys.map((k) => `"${k}"`).join(", ") : "no keys"
        }${guess ? `; did you mean "${guess.s}" instead of "${guess.k}"?` : ""}`,
        {
          file,
          position: positionOf(doc, guess ? [...path, guess.k] : path, "key"),
          path: where,
          expected: `one of ${allowed.join(", ")}`,
          suggestion: guess?.s,
        },
      ),
    );
    return;
  }
  if (kinds.length > 1) {
    out.push(
      new InvalidValueError(
        `${where}: a field has exactly one type key; found ${
          kinds.map((k) => `"${k}"`).join(" and ")
        }`,
        { file, position: positionOf(doc, [...path, kinds[1]], "key"), path: where },
      ),
    );
    return;
  }
  const index = allowed.indexOf(kinds[0]);
  if (index < 0) {
    const what = (JOIN_KINDS as readonly string[]).includes(kinds[0]) ? "a join" : "an aggregate";
    out.push(
      new InvalidValueError(
        `${where}: an object's fields come from the same row, so ${what} ("${
          kinds[0]
        }") cannot be inside it; declare it beside the object`,
        { file, position: positionOf(doc, [...path, kinds[0]], "key"), path: where },
      ),
    );
    return;
  }
  for (const inner of issue.errors[index]) translate(inner, path, root, doc, out);
}

/** The branch the value evidently meant: right base type, fewest shape mismatches. */
function bestBranch(branches: Issue[][], value: unknown): Issue[] | undefined {
  let best: Issue[] | undefined;
  let bestScore = Infinity;
  for (const branch of branches) {
    let score = 0;
    for (const issue of branch) {
      if (issue.code === "invalid_type" && issue.path.length === 0) score = Infinity;
      else if (issue.code === "unrecognized_keys") score += issue.keys.length;
      else if (
        issue.code === "invalid_type" && valueAt(value, issue.path as DocPath) === undefined
      ) {
        score += 1;
      } else score += 0.5;
    }
    if (score < bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

function expectedOf(issue: Issue): string {
  if (issue.code === "invalid_type" && issue.path.length === 0) {
    return describeExpected(issue.expected);
  }
  return issue.path.length === 0 || issue.code === "unrecognized_keys" ? "a table" : "";
}

/** The keys a strict object accepts at `path`, following the branch the value took. */
export function objectKeysAt(root: Schema, path: DocPath, rootValue: unknown): string[] {
  let schemas: Schema[] = [root];
  for (let i = 0; i <= path.length; i++) {
    const value = valueAt(rootValue, path.slice(0, i));
    schemas = schemas.flatMap((s) => expand(s, value));
    if (i === path.length) break;
    const segment = path[i];
    schemas = schemas.flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown>;
      if (def.type === "object" && typeof segment === "string") {
        const shape = def.shape as Record<string, Schema>;
        return shape[segment] ? [shape[segment]] : [];
      }
      if (def.type === "array" && typeof segment === "number") return [def.element as Schema];
      if (def.type === "record" && typeof segment === "string") return [def.valueType as Schema];
      if (def.type === "tuple" && typeof segment === "number") {
        const items = def.items as Schema[];
        return items[segment] ? [items[segment]] : [];
      }
      return [];
    });
  }
  // Among candidate objects, the one sharing most keys with the value is the one meant.
  const value = valueAt(rootValue, path);
  const present = isPlainObject(value) ? Object.keys(value) : [];
  let best: string[] = [];
  let bestShared = -1;
  for (const s of schemas) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type !== "object") continue;
    const keys = Object.keys(def.shape as object);
    const shared = present.filter((k) => keys.includes(k)).length;
    if (shared > bestShared) {
      best = keys;
      bestShared = shared;
    }
  }
  return best;
}

/** Unwraps optional/default/lazy/pipe wrappers and unions down to concrete schemas. */
function expand(schema: Schema, value: unknown): Schema[] {
  const def = schema._zod.def as unknown as Record<string, unknown>;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "nonoptional":
    case "catch":
      return expand(def.innerType as Schema, value);
    case "lazy":
      return expand((def.getter as () => Schema)(), value);
    case "pipe":
      return expand(def.in as Schema, value);
    case "union": {
      let options = (def.options as Schema[]).flatMap((o) => expand(o, value));
      // A discriminated union: keep the options whose discriminator accepts the value's.
      const discriminator = def.discriminator as string | undefined;
      if (discriminator !== undefined && isPlainObject(value)) {
        const matching = options.filter((o) => {
          const shape = (o._zod.def as unknown as { shape?: Record<string, Schema> }).shape;
          const key = shape?.[discriminator];
          return key !== undefined && z.safeParse(key, value[discriminator]).success;
        });
        if (matching.length > 0) options = matching;
      }
      // A field union: keep the option named by the value's type key.
      if (isPlainObject(value)) {
        const kindKey = Object.keys(value).find((k) =>
          (FIELD_KINDS as readonly string[]).includes(k)
        );
        if (kindKey) {
          const named = options.filter((o) => {
            const d = o._zod.def as unknown as Record<string, unknown>;
            return d.type === "object" && kindKey in (d.shape as object);
          });
          if (named.length > 0) return named;
        }
      }
      return options;
    }
    default:
      return [schema];
  }
}

function customMessage(issue: Issue): string | undefined {
  return /^(Invalid|Too (small|big)|Unrecognized)/.test(issue.message) ? undefined : issue.message;
}

function prefix(where: string): string {
  return where ? `${where}: ` : "";
}

function describeExpected(expected: string): string {
  switch (expected) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "int":
      return "an integer";
    case "boolean":
      return "true or false";
    case "array":
    case "tuple":
      return "a list";
    case "object":
    case "record":
      return "a table";
    default:
      return expected;
  }
}

/** A short description of a value for messages; secrets are described, never shown. */
export function describeValue(value: unknown, path: DocPath): string {
  if (Array.isArray(value)) return "a list";
  if (isPlainObject(value)) return "a table";
  if (isSecretPath(path) && typeof value === "string") return "a string (value hidden)";
  if (value === null) return "null";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeBound(issue: Issue, value: unknown): string {
  const b = issue as unknown as {
    code: "too_small" | "too_big";
    origin: string;
    minimum?: number | bigint;
    maximum?: number | bigint;
    inclusive?: boolean;
  };
  const small = b.code === "too_small";
  const limit = Number(small ? b.minimum : b.maximum);
  if (b.origin === "array") {
    return small
      ? `expected at least ${limit} item${limit === 1 ? "" : "s"}`
      : `expected at most ${limit} item${limit === 1 ? "" : "s"}`;
  }
  if (b.origin === "string") {
    return small
      ? (limit === 1 ? "must not be empty" : `expected at least ${limit} characters`)
      : `expected at most ${limit} characters`;
  }
  const relation = small
    ? (b.inclusive ? "at least" : "greater than")
    : b.inclusive
    ? "at most"
    : "less than";
  return `expected a number ${relation} ${limit}, found ${JSON.stringify(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.line}:${e.column}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
