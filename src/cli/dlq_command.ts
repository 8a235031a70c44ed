/**
 * The definition of `flusso dlq list|replay|purge` (names, options, help); the work is in
 * dlq.ts, loaded only when a subcommand runs so `flusso --help` stays fast.
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { DlqDeps } from "./dlq.ts";

const configOption = () =>
  new Option("-c, --config <file>", "path of flusso.toml").env("FLUSSO_CONFIG")
    .makeOptionMandatory();
const sinkOption = () => new Option("--sink <name>", "only this sink").env("FLUSSO_DLQ_SINK");
const indexOption = () => new Option("--index <name>", "only this index").env("FLUSSO_DLQ_INDEX");
const limitOption = () =>
  new Option("--limit <n>", "most entries per sink").env("FLUSSO_DLQ_LIMIT").default("100")
    .argParser((value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) {
        throw new Error(`--limit must be an integer from 1 to 10000, got ${value}`);
      }
      return String(n);
    });

/**
 * The `dlq` command with its subcommands; `deps` replaces the config loader, sinks, database
 * and output (tests), default the real ones.
 */
export function dlqCommand(deps?: DlqDeps) {
  const dlq = new Command("dlq").description(
    "list, replay or purge documents quarantined by the skip policy",
  );
  const load = async () => {
    const impl = await import("./dlq.ts");
    return { impl, deps: deps ?? impl.defaultDlqDeps() };
  };
  dlq.command("list")
    .description("print quarantined documents as JSON lines, newest first")
    .addOption(configOption())
    .addOption(sinkOption())
    .addOption(indexOption())
    .addOption(limitOption())
    .action(async (options) => {
      const { impl, deps } = await load();
      await impl.runDlqList(deps, options);
    });
  dlq.command("replay")
    .description("rebuild quarantined documents from current rows and write them again")
    .addOption(configOption())
    .addOption(sinkOption())
    .addOption(indexOption())
    .addOption(limitOption().default("1000"))
    .action(async (options) => {
      const { impl, deps } = await load();
      await impl.runDlqReplay(deps, options);
    });
  dlq.command("purge")
    .description("delete quarantined documents (of one index with --index)")
    .addOption(configOption())
    .addOption(sinkOption())
    .addOption(indexOption())
    .action(async (options) => {
      const { impl, deps } = await load();
      await impl.runDlqPurge(deps, options);
    });
  return dlq;
}
