/**
 * `flusso reindex <index>`: asks a running instance to rebuild one index into a new
 * generation; the old one keeps serving reads until the atomic alias swap.
 */
import { Command } from "@commander-js/extra-typings";
import process from "node:process";
import { requestInstance } from "../ops/ops_client.ts";
import { instanceOptions, runClient, targetFor } from "./instance.ts";

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
    .action((index, opts) =>
      runClient(async () => {
        const target = await targetFor("private", opts);
        const body = await requestInstance(
          target,
          "POST",
          `/reindex?index=${encodeURIComponent(index)}`,
        );
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(body, null, 2)}\n`
            : `reindex of ${index} started; follow it with \`flusso status\`\n`,
        );
      })
    );
}
