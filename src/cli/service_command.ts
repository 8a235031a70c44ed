/**
 * The definition of `flusso service install` (name, options, help); the unit is written by
 * service.ts, loaded only when the command runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
// Dependency-free (no imports of its own): its defaults are part of the help text.
import { DEFAULT_UNIT_OPTIONS } from "../ops/systemd_unit.ts";

/** Where the unit goes unless `--output` says otherwise. */
export const DEFAULT_UNIT_PATH = "/etc/systemd/system/flusso.service";

/** The `service` command with its `install` subcommand. */
export function serviceCommand() {
  const install = new Command("install")
    .description("write a systemd unit (Type=notify, hardened) for this binary and config")
    .addOption(
      new Option("-c, --config <file>", "flusso.toml the service runs with")
        .default("flusso.toml")
        .env("FLUSSO_CONFIG"),
    )
    .addOption(
      new Option("--binary <path>", "the flusso binary (default: this one when compiled)")
        .env("FLUSSO_SERVICE_BINARY"),
    )
    .addOption(
      new Option("--user <name>", "the dedicated system user to run as")
        .default(DEFAULT_UNIT_OPTIONS.user)
        .env("FLUSSO_SERVICE_USER"),
    )
    .addOption(
      new Option(
        "--environment-file <path>",
        "an optional env file for secrets (DATABASE_URL, FLUSSO_TOKEN, …)",
      )
        .default(DEFAULT_UNIT_OPTIONS.environmentFile!)
        .env("FLUSSO_SERVICE_ENVIRONMENT_FILE"),
    )
    .addOption(
      new Option("-o, --output <path>", "where to write the unit")
        .default(DEFAULT_UNIT_PATH)
        .env("FLUSSO_SERVICE_OUTPUT"),
    )
    .addOption(
      new Option("--dry-run", "print the unit instead of writing it").env("FLUSSO_DRY_RUN"),
    )
    .action(async (opts) => {
      const { runServiceInstall } = await import("./service.ts");
      runServiceInstall({
        config: opts.config,
        binary: opts.binary,
        user: opts.user,
        output: opts.output,
        environmentFile: opts.environmentFile,
        dryRun: opts.dryRun === true,
      });
    });
  return new Command("service")
    .description("manage the systemd service")
    .addCommand(install);
}
