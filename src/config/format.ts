/**
 * Printing config errors: `file:line:col: message` lines, with a caret excerpt of the
 * offending line when writing to a terminal, or one JSON document for `--format json`.
 * Excerpts are redacted: a secret written in the file is never echoed back.
 */
import type { ConfigError, ConfigErrors } from "./errors.ts";

/** Options of the human format. */
export interface HumanFormatOptions {
  /** Show the source line and a caret under the column (on a terminal). */
  readonly excerpt?: boolean;
  /** ANSI colours (on a terminal). */
  readonly color?: boolean;
}

/** `file:line:col: message` per error, optionally with an excerpt; ends with a count line. */
export function formatErrorsHuman(errors: ConfigErrors, options: HumanFormatOptions = {}): string {
  const red = (s: string) => (options.color ? `\x1b[31m${s}\x1b[0m` : s);
  const bold = (s: string) => (options.color ? `\x1b[1m${s}\x1b[0m` : s);
  const lines: string[] = [];
  for (const error of errors.errors) {
    lines.push(
      `${bold(`${error.file}:${error.line}:${error.column}:`)} ${red("error:")} ${error.message}`,
    );
    if (options.excerpt) {
      const text = errors.sources.get(error.file);
      const excerpt = text === undefined ? undefined : excerptOf(text, error);
      if (excerpt) lines.push(excerpt);
    }
  }
  const n = errors.errors.length;
  lines.push(`${n} config error${n === 1 ? "" : "s"}; nothing was started`);
  return lines.join("\n");
}

/** One line per error, without excerpt or summary: the stable form tests compare. */
export function formatErrorLines(errors: readonly ConfigError[]): string[] {
  return errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`);
}

/** `{ "errors": [ { code, file, line, column, message, path?, expected?, suggestion? } ] }`. */
export function formatErrorsJson(errors: ConfigErrors): string {
  return JSON.stringify({ errors: errors.errors.map((e) => e.toJSON()) }, null, 2);
}

function excerptOf(text: string, error: ConfigError): string | undefined {
  const line = text.split(/\r?\n/)[error.line - 1];
  if (line === undefined) return undefined;
  const gutter = String(error.line).padStart(4);
  const shown = redactLine(line).replaceAll("\t", " ");
  return `${gutter} | ${shown}\n${" ".repeat(gutter.length)} | ${
    " ".repeat(Math.max(0, error.column - 1))
  }^`;
}

/**
 * A source line with literal secrets masked: values of password/token/connection_url keys
 * and the password part of URLs.
 */
export function redactLine(line: string): string {
  return line
    .replace(
      /((?:password|token|connection_url|secret)\s*[=:]\s*)(["'])(?:(?!\2).)*\2/gi,
      "$1$2[redacted]$2",
    )
    .replace(/((?:password|token|secret)\s*:\s*)([^\s"'{#][^#]*)/gi, "$1[redacted]")
    .replace(/(\/\/[^:/@\s]*:)[^@\s]+@/g, "$1[redacted]@");
}
