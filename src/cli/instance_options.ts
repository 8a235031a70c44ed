/**
 * The options `flusso status`, `flusso indexes` and `flusso reindex` share to locate a running
 * instance (`--config`, `--url`, `--token`, `--json`). Only commander here: it is loaded for
 * every `flusso --help`.
 */
import { Option } from "@commander-js/extra-typings";
import type { Surface } from "../ops/ops_client.ts";

/** The config file used when `--config` is absent and it exists in the working directory. */
export const DEFAULT_CONFIG = "flusso.toml";

/** `--config`, `--url` and (for the control surface) `--token`. */
export function instanceOptions(surface: Surface) {
  const url = surface === "public"
    ? new Option("--url <url>", "the public surface of the instance (default: from the config)")
      .env("FLUSSO_STATUS_URL")
    : new Option("--url <url>", "the control surface of the instance (default: from the config)")
      .env("FLUSSO_CONTROL_URL");
  return [
    new Option(
      "-c, --config <file>",
      `flusso.toml to read [server] from (default: ./${DEFAULT_CONFIG} when present)`,
    )
      .env("FLUSSO_CONFIG"),
    url,
    new Option("--token <token>", "bearer token of the control surface (prefer the env twin)")
      .env("FLUSSO_TOKEN"),
    new Option("--json", "print the raw JSON answer").env("FLUSSO_JSON"),
  ] as const;
}
