/**
 * The definition of `flusso schema config|index`; the schemas are built in schema.ts, loaded
 * only when the command runs so `flusso --help` stays fast.
 */
import { Argument, Command } from "@commander-js/extra-typings";
import process from "node:process";

/** The `schema` command; `write` receives the output (stdout by default). */
export function schemaCommand(
  write: (text: string) => void = (text) => process.stdout.write(text),
) {
  return new Command("schema")
    .description("print the JSON Schema of flusso.toml (config) or of *.schema.yml (index)")
    .addArgument(new Argument("<kind>", "which file").choices(["config", "index"] as const))
    .action(async (kind) => {
      const { schemaText } = await import("./schema.ts");
      write(schemaText(kind));
    });
}
