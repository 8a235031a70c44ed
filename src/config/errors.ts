/**
 * Config errors: one class per failure kind, each carrying the file, line and column it
 * was found at, what was expected, and the nearest valid alternative when there is one.
 * The loader collects them all (not only the first) into one `ConfigErrors`.
 * Messages never contain secret values.
 */
import type { Position } from "./position.ts";

/** The machine-readable kind of a config error (stable; shown by `--format json`). */
export type ConfigErrorCode =
  | "syntax"
  | "unknown_key"
  | "missing_key"
  | "invalid_type"
  | "invalid_value"
  | "invalid_duration"
  | "invalid_size"
  | "invalid_cron"
  | "missing_secret"
  | "file_not_found"
  | "duplicate_name"
  | "unknown_reference"
  | "invalid_connection"
  | "key_arity";

/** What every config error carries. */
export interface ConfigErrorDetails {
  readonly file: string;
  readonly position: Position;
  /** Where in the document, e.g. `sinks.search.batch_size` or `fields[2].table`. */
  readonly path?: string;
  /** What would have been valid, e.g. `one of "stop", "skip"`. */
  readonly expected?: string;
  /** The nearest valid key or value, e.g. `timeout_secs`. */
  readonly suggestion?: string;
}

/** Base class of every config error; `message` is the text after `file:line:col: `. */
export abstract class ConfigError extends Error {
  abstract readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path?: string;
  readonly expected?: string;
  readonly suggestion?: string;

  constructor(message: string, details: ConfigErrorDetails) {
    super(message);
    this.file = details.file;
    this.line = details.position.line;
    this.column = details.position.column;
    this.path = details.path;
    this.expected = details.expected;
    this.suggestion = details.suggestion;
  }

  /** The plain-data form used by `--format json`. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      file: this.file,
      line: this.line,
      column: this.column,
      message: this.message,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.expected !== undefined ? { expected: this.expected } : {}),
      ...(this.suggestion !== undefined ? { suggestion: this.suggestion } : {}),
    };
  }
}

/** The file is not valid TOML or YAML. */
export class ConfigSyntaxError extends ConfigError {
  readonly code = "syntax" as const;
  override name = "ConfigSyntaxError";
}

/** A key the language does not have (typo or unsupported option). */
export class UnknownKeyError extends ConfigError {
  readonly code = "unknown_key" as const;
  override name = "UnknownKeyError";
}

/** A required key is absent. */
export class MissingKeyError extends ConfigError {
  readonly code = "missing_key" as const;
  override name = "MissingKeyError";
}

/** A value of the wrong type (a string where a number belongs, …). */
export class InvalidTypeError extends ConfigError {
  readonly code = "invalid_type" as const;
  override name = "InvalidTypeError";
}

/** A value of the right type but not allowed (unknown enum value, out of range, bad name). */
export class InvalidValueError extends ConfigError {
  readonly code = "invalid_value" as const;
  override name = "InvalidValueError";
}

/** A duration such as `"50ms"` that cannot be read. */
export class InvalidDurationError extends ConfigError {
  readonly code = "invalid_duration" as const;
  override name = "InvalidDurationError";
}

/** A size such as `"16MiB"` that cannot be read. */
export class InvalidSizeError extends ConfigError {
  readonly code = "invalid_size" as const;
  override name = "InvalidSizeError";
}

/** A `verify`/`reindex` schedule that is not a valid cron expression. */
export class InvalidCronError extends ConfigError {
  readonly code = "invalid_cron" as const;
  override name = "InvalidCronError";
}

/** A `{ env }` variable that is unset, or a `{ file }` that cannot be read. */
export class MissingSecretError extends ConfigError {
  readonly code = "missing_secret" as const;
  override name = "MissingSecretError";
  /** The unset environment variable, for `{ env }` secrets (undefined for `{ file }`). */
  readonly variable?: string;

  constructor(message: string, details: ConfigErrorDetails & { readonly variable?: string }) {
    super(message, details);
    this.variable = details.variable;
  }
}

/** The config or a schema file it names cannot be read. */
export class ConfigFileNotFoundError extends ConfigError {
  readonly code = "file_not_found" as const;
  override name = "ConfigFileNotFoundError";
}

/** Two indexes, sinks or sibling fields share a name. */
export class DuplicateNameError extends ConfigError {
  readonly code = "duplicate_name" as const;
  override name = "DuplicateNameError";
}

/** A name that refers to nothing (an index's `sink`). */
export class UnknownReferenceError extends ConfigError {
  readonly code = "unknown_reference" as const;
  override name = "UnknownReferenceError";
}

/** A connection URL that cannot be read; the URL itself is never repeated. */
export class InvalidConnectionError extends ConfigError {
  readonly code = "invalid_connection" as const;
  override name = "InvalidConnectionError";
}

/** Key columns that do not pair up with the key they reference (composite keys). */
export class KeyArityError extends ConfigError {
  readonly code = "key_arity" as const;
  override name = "KeyArityError";
}

/** Every error found while loading a config, in file and position order. */
export class ConfigErrors extends Error {
  override name = "ConfigErrors";
  readonly errors: readonly ConfigError[];
  /** The text of each file involved, for excerpts (`file` → text). */
  readonly sources: ReadonlyMap<string, string>;

  constructor(errors: readonly ConfigError[], sources: ReadonlyMap<string, string> = new Map()) {
    const sorted = sortErrors(errors);
    super(
      `${sorted.length} config error${sorted.length === 1 ? "" : "s"}:\n` +
        sorted.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join("\n"),
    );
    this.errors = sorted;
    this.sources = sources;
  }
}

function sortErrors(errors: readonly ConfigError[]): ConfigError[] {
  // Files keep the order they were loaded in; within a file, errors follow the text.
  const fileOrder = new Map<string, number>();
  for (const e of errors) if (!fileOrder.has(e.file)) fileOrder.set(e.file, fileOrder.size);
  return [...errors].sort((a, b) =>
    fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.column - b.column
  );
}
