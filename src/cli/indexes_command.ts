/**
 * The definition of `flusso indexes` (name, options, help); the work is in indexes.ts, loaded
 * only when the command runs so `flusso --help` stays fast.
 */
import { Command } from "@commander-js/extra-typings";
import { instanceOptions } from "./instance_options.ts";

/** The `indexes` command. */
export function indexesCommand() {
  const [config, url, token, json] = instanceOptions("private");
  return new Command("indexes")
    .description("list the indexes of a running flusso (needs the control token)")
    .addOption(config)
    .addOption(url)
    .addOption(token)
    .addOption(json)
    .action(async (opts) => {
      const { runIndexes } = await import("./indexes.ts");
      await runIndexes(opts);
    });
}
