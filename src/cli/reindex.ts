/**
 * `flusso reindex <index>`: asks a running instance to rebuild one index into a new
 * generation; the old one keeps serving reads until the atomic alias swap. The command's
 * definition is in reindex_command.ts.
 */
import process from "node:process";
import { requestInstance } from "../ops/ops_client.ts";
import { type InstanceFlags, runClient, targetFor } from "./instance.ts";

/** Asks the instance to reindex `index`; prints the answer (the JSON with `--json`). */
export function runReindex(
  index: string,
  opts: InstanceFlags & { readonly json?: boolean },
): Promise<void> {
  return runClient(async () => {
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
  });
}
