/**
 * The `Logger` implementation: one JSON object per line (for journald, files, collectors) or
 * human-readable lines with optional colour (for a terminal). Every value passes through
 * `sanitize`, so a secret can never reach a log line.
 */
import process from "node:process";
import type { LogFields, Logger, LogLevel } from "./logger.ts";
import { type Plain, sanitize } from "./redact.ts";

/** How log lines look. */
export type LogFormat = "json" | "pretty";

/** Options of `createLogger`. */
export interface LoggerOptions {
  readonly format: LogFormat;
  /** Lines below this level are dropped. */
  readonly level: LogLevel;
  /** ANSI colours in pretty output; default false (see `useColor`). */
  readonly color?: boolean;
  /** Receives each finished line, without its newline; default: stderr. */
  readonly write?: (line: string) => void;
  /** The clock; default `new Date()`. */
  readonly now?: () => Date;
  /** Fields added to every line. */
  readonly fields?: LogFields;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys every JSON line starts with; a field of the same name is renamed, never lost. */
const RESERVED = new Set(["time", "level", "msg"]);

/** Creates a logger; `child()` loggers share its options and add fields. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const min = RANK[options.level];
  const render = options.format === "json"
    ? renderJson
    : (time: Date, level: LogLevel, msg: string, fields: Record<string, Plain>) =>
      renderPretty(time, level, msg, fields, options.color ?? false);

  const make = (base: LogFields): Logger => {
    const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
      if (RANK[level] < min) return;
      const merged = sanitizeFields(fields ? { ...base, ...fields } : base);
      try {
        write(render(now(), level, sanitize(message) as string, merged));
      } catch {
        // A broken log sink (closed pipe) must not take the pipeline down with it.
      }
    };
    return {
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/**
 * The default format for a stream: pretty on a terminal, JSON lines otherwise (journald,
 * pipes, files).
 */
export function defaultLogFormat(isTTY: boolean | undefined = process.stderr.isTTY): LogFormat {
  return isTTY ? "pretty" : "json";
}

/**
 * Whether pretty output may use colour: only on a terminal, never when `NO_COLOR` is set to
 * a non-empty value (https://no-color.org), always when `FORCE_COLOR` is set to a non-zero value.
 */
export function useColor(
  isTTY: boolean | undefined = process.stderr.isTTY,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") {
    return true;
  }
  return isTTY === true && env.TERM !== "dumb";
}

function sanitizeFields(fields: LogFields): Record<string, Plain> {
  const out: Record<string, Plain> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[RESERVED.has(key) ? `field_${key}` : key] = sanitize(value, key);
  }
  return out;
}

function renderJson(
  time: Date,
  level: LogLevel,
  msg: string,
  fields: Record<string, Plain>,
): string {
  return JSON.stringify({ time: time.toISOString(), level, msg, ...fields });
}

const ANSI = {
  reset: "\x1b[0m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  green: "\x1b[32m",
  gray: "\x1b[90m",
  cyan: "\x1b[36m",
} as const;
const LEVEL_COLOR: Readonly<Record<LogLevel, string>> = {
  debug: ANSI.gray,
  info: ANSI.green,
  warn: ANSI.yellow,
  error: ANSI.red,
};

/** `12:00:00.123 INFO  message key=value error=Name: message`. */
function renderPretty(
  time: Date,
  level: LogLevel,
  msg: string,
  fields: Record<string, Plain>,
  color: boolean,
): string {
  const paint = (code: string, text: string) => (color ? `${code}${text}${ANSI.reset}` : text);
  const clock = time.toISOString().slice(11, 23);
  const parts = [
    paint(ANSI.dim, clock),
    paint(LEVEL_COLOR[level] + (level === "error" ? ANSI.bold : ""), level.toUpperCase().padEnd(5)),
    msg,
  ];
  for (const [key, value] of Object.entries(fields)) {
    parts.push(`${paint(ANSI.cyan, key)}=${prettyValue(value)}`);
  }
  return parts.join(" ");
}

function prettyValue(value: Plain): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (isErrorLike(value)) {
    const causes: string[] = [];
    let cause: Plain | undefined = value.cause;
    while (isErrorLike(cause) && causes.length < 5) {
      causes.push(`${cause.name}: ${cause.message}`);
      cause = cause.cause;
    }
    const text = [`${value.name}: ${value.message}`, ...causes].join(" ← caused by ");
    return JSON.stringify(text);
  }
  return JSON.stringify(value);
}

function isErrorLike(
  value: Plain | undefined,
): value is { name: string; message: string; cause?: Plain } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as Record<string, Plain>).name === "string" &&
    typeof (value as Record<string, Plain>).message === "string";
}
