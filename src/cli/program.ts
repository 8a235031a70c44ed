import { Command } from "@commander-js/extra-typings";
import { VERSION } from "../version.ts";
import { globalOptions } from "./global_options.ts";
import { serviceCommand } from "./service_command.ts";
import { checkCommand } from "./check_command.ts";
import { schemaCommand } from "./schema_command.ts";
import { syncCommand } from "./sync_command.ts";
import { dlqCommand } from "./dlq_command.ts";
import { slotCommand } from "./slot_command.ts";
import { statusCommand } from "./status_command.ts";
import { indexesCommand } from "./indexes_command.ts";
import { reindexCommand } from "./reindex_command.ts";
import { verifyCommand } from "./verify_command.ts";

/**
 * Builds the `flusso` command line. Only command definitions are imported here: each command
 * loads its implementation when it runs, so `flusso --help` pays for commander alone.
 * Commands register themselves here as their capability lands; the program never offers a
 * command that cannot run.
 */
export function buildProgram(): Command {
  const [logFormat, logLevel] = globalOptions();
  const program = new Command("flusso")
    .description("Keeps OpenSearch indexes in sync with PostgreSQL.")
    .version(VERSION, "-V, --version", "print the version")
    .addOption(logFormat)
    .addOption(logLevel)
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Every flag has a FLUSSO_* environment twin (shown as "env:"); a flag wins over its twin.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.`,
    )
    .addCommand(syncCommand())
    .addCommand(serviceCommand())
    .addCommand(checkCommand())
    .addCommand(schemaCommand())
    .addCommand(dlqCommand())
    .addCommand(slotCommand())
    .addCommand(statusCommand())
    .addCommand(indexesCommand())
    .addCommand(reindexCommand())
    .addCommand(verifyCommand());
  return program as unknown as Command;
}
