/**
 * The definition of `flusso verify` (name, options, help); the comparison is in verify.ts,
 * loaded only when the command runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
import process from "node:process";
import { ExitCode } from "./exit_codes.ts";

/** The `verify` command. */
export function verifyCommand() {
  return new Command("verify")
    .description(
      "compare Postgres with the indexes (count, ids, content) and report missing, stale and extra documents",
    )
    .addOption(
      new Option("-c, --config <file>", "path of flusso.toml").env("FLUSSO_CONFIG")
        .makeOptionMandatory(),
    )
    .addOption(new Option("--index <name>", "only this index").env("FLUSSO_VERIFY_INDEX"))
    .addOption(
      new Option("--repair", "fix the drift through the normal (versioned) write path")
        .env("FLUSSO_VERIFY_REPAIR"),
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["human", "json"] as const)
        .default("human" as const).env("FLUSSO_VERIFY_FORMAT"),
    )
    .addOption(
      new Option("--page-size <n>", "keys and ids per page (bounds memory)").default("500")
        .env("FLUSSO_VERIFY_PAGE_SIZE"),
    )
    .action(async (options, command) => {
      const [{ runVerify }, { loggerFromGlobals }] = await Promise.all([
        import("./verify.ts"),
        import("./logging.ts"),
      ]);
      const logger = loggerFromGlobals(command.optsWithGlobals());
      const pageSize = Number(options.pageSize);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
        process.stderr.write(
          `flusso: --page-size must be an integer from 1 to 10000, got ${options.pageSize}\n`,
        );
        process.exit(ExitCode.Usage);
      }
      const code = await runVerify({
        config: options.config,
        index: options.index,
        repair: options.repair === true,
        format: options.format,
        pageSize,
      }, logger);
      process.exit(code);
    });
}
