/**
 * The definition of `flusso status` (name, options, help); the work is in status.ts, loaded
 * only when the command runs so `flusso --help` stays fast.
 */
import { Command } from "@commander-js/extra-typings";
import { instanceOptions } from "./instance_options.ts";

/** The `status` command. */
export function statusCommand() {
  const [config, url, , json] = instanceOptions("public");
  return new Command("status")
    .description("show the state of a running flusso (phase, indexes, lag, counters)")
    .addOption(config)
    .addOption(url)
    .addOption(json)
    .action(async (opts) => {
      const { runStatus } = await import("./status.ts");
      await runStatus(opts);
    });
}
