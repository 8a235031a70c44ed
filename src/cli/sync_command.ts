/**
 * The definition of `flusso sync` (name, options, help); `run` is an alias, for configs and
 * units written for flusso 0.15. The pipeline is wired in sync.ts, loaded only when the
 * command runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
import process from "node:process";
import { ExitCode } from "./exit_codes.ts";
import { reexecWithJscTuning } from "./jsc_tuning.ts";

/** The `sync` command (and its `run` alias). */
export function syncCommand() {
  return new Command("sync")
    .alias("run")
    .description("create the indexes, backfill them, then stream every committed change into them")
    .addOption(
      new Option("-c, --config <file>", "path of flusso.toml").env("FLUSSO_CONFIG")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--skip-backfill",
        "do not backfill unseeded indexes (they receive live changes only)",
      )
        .env("FLUSSO_SKIP_BACKFILL"),
    )
    .addOption(
      new Option(
        "--dry-run",
        "print NDJSON write operations to stdout instead of writing to OpenSearch",
      )
        .env("FLUSSO_DRY_RUN"),
    )
    .addOption(
      new Option("--shutdown-grace <seconds>", "how long a stop waits for the batch in flight")
        .env("FLUSSO_SHUTDOWN_GRACE").default("10"),
    )
    .action(async (options, command) => {
      // Before anything else: the tuned process starts over from here (jsc_tuning.ts).
      await reexecWithJscTuning();
      const [{ runSync }, { loggerFromGlobals }] = await Promise.all([
        import("./sync.ts"),
        import("./logging.ts"),
      ]);
      const logger = loggerFromGlobals(command.optsWithGlobals());
      const grace = Number(options.shutdownGrace);
      if (!Number.isFinite(grace) || grace < 0) {
        logger.error("--shutdown-grace must be a number of seconds ≥ 0", {
          value: options.shutdownGrace,
        });
        process.exit(ExitCode.Usage);
      }
      const code = await runSync({
        config: options.config,
        skipBackfill: options.skipBackfill === true,
        dryRun: options.dryRun === true,
        shutdownGraceMs: grace * 1000,
      }, logger);
      process.exit(code);
    });
}
