import { Option } from "@commander-js/extra-typings";

/** Log output formats: one JSON object per line, or human-readable. */
export const LOG_FORMATS = ["json", "pretty"] as const;
/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** The options every command accepts; each has a FLUSSO_* environment twin. */
export function globalOptions() {
  return [
    new Option(
      "--log-format <format>",
      "log output format (default: pretty on a terminal, else json)",
    )
      .choices(LOG_FORMATS)
      .env("FLUSSO_LOG_FORMAT"),
    new Option("--log-level <level>", "minimum log level").choices(LOG_LEVELS).default(
      "info" as const,
    )
      .env("FLUSSO_LOG_LEVEL"),
  ] as const;
}
