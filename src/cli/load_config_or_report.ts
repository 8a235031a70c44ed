/** Config loading for commands: errors go to stderr in the human format, never as a trace. */
import process from "node:process";
import { ConfigErrors } from "../config/errors.ts";
import { formatErrorsHuman } from "../config/format.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/model.ts";

/**
 * Loads `path`; on a config error prints every error (`file:line:col: message`, with caret
 * excerpts on a terminal) and returns undefined, so the caller exits with code 2.
 */
export async function loadConfigOrReport(path: string): Promise<Config | undefined> {
  try {
    return await loadConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    const tty = Boolean(process.stderr.isTTY);
    process.stderr.write(`${formatErrorsHuman(error, { excerpt: tty, color: tty })}\n`);
    return undefined;
  }
}
