#!/usr/bin/env -S deno run -A
/** Entry point of the flusso binary: builds the CLI and runs it. */
import process from "node:process";
import { CommanderError } from "@commander-js/extra-typings";
import { buildProgram } from "./cli/program.ts";
import { ExitCode } from "./cli/exit_codes.ts";

// `flusso schema index | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(ExitCode.Ok);
  throw error;
});

const program = buildProgram();
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here with exitCode 0; usage errors were already printed.
    process.exit(error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(ExitCode.Failure);
}
