/**
 * The definition of `flusso reindex <index>` (name, options, help); the work is in reindex.ts,
 * loaded only when the command runs so `flusso --help` stays fast.
 */
import { Command } from "@commander-js/extra-typings";
import { instanceOptions } from "./instance_options.ts";

/** The `reindex` command. */
export function reindexCommand() {
  const [config, url, token, json] = instanceOptions("private");
  return new Command("reindex")
    .description("rebuild an index of a running flusso into a new generation (needs the token)")
    .argument("<index>", "the index to rebuild")
    .addOption(config)
    .addOption(url)
    .addOption(token)
    .addOption(json)
    .action(async (index, opts) => {
      const { runReindex } = await import("./reindex.ts");
      await runReindex(index, opts);
    });
}
