/**
 * The definition of `flusso check` (name, options, help); the check itself is in check.ts,
 * loaded only when the command runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
import process from "node:process";
import type { CheckIo } from "./check.ts";

/** Output formats of `flusso check`. */
export const CHECK_FORMATS = ["human", "json"] as const;

/** The `check` command; `io` replaces stdout, stderr and the environment (tests). */
export function checkCommand(io?: CheckIo) {
  return new Command("check")
    .description(
      "validate the config, print the resolved index mappings and, unless --offline, compare " +
        "it with the database",
    )
    .addOption(
      new Option("-c, --config <file>", "path of flusso.toml").env("FLUSSO_CONFIG")
        .default("flusso.toml"),
    )
    .addOption(
      new Option("--offline", "do not connect to Postgres").env("FLUSSO_OFFLINE").default(false),
    )
    .addOption(
      new Option("--format <format>", "output format").choices(CHECK_FORMATS).env("FLUSSO_FORMAT")
        .default("human" as const),
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 clean (warnings allowed), 1 findings with errors, 2 unusable config.",
    )
    .action(async (options) => {
      const { defaultCheckIo, runCheck } = await import("./check.ts");
      process.exitCode = await runCheck(
        { config: options.config, offline: Boolean(options.offline), format: options.format },
        io ?? defaultCheckIo(),
      );
    });
}
