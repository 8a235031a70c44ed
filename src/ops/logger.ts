/**
 * The logging interface every module receives (never a global): one message plus context
 * fields. Implementations write JSON lines or human-readable text; they redact secrets.
 */

/** Context attached to a log line: index, table, lsn, error, … */
export type LogFields = Readonly<Record<string, unknown>>;

/** Severity, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where modules send what an operator may want to read. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** A logger that drops everything; the default in tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
