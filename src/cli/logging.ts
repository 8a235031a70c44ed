/** The logger every command builds from the global `--log-format` and `--log-level`. */
import { createLogger, defaultLogFormat, type LogFormat, useColor } from "../ops/log_writer.ts";
import type { Logger, LogLevel } from "../ops/logger.ts";

/** Builds the process logger from the global options (flags or their FLUSSO_* twins). */
export function loggerFromGlobals(globals: object): Logger {
  const { logFormat, logLevel } = globals as { logFormat?: string; logLevel?: string };
  const format = (logFormat as LogFormat | undefined) ?? defaultLogFormat();
  return createLogger({
    format,
    level: (logLevel as LogLevel | undefined) ?? "info",
    color: format === "pretty" && useColor(),
  });
}
