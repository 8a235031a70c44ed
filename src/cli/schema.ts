/**
 * `flusso schema config|index`: prints the JSON Schema of flusso.toml or of *.schema.yml,
 * for editor completion and validation (see the README for wiring it into VS Code).
 */
import { Argument, Command } from "@commander-js/extra-typings";
import process from "node:process";
import { configJsonSchema, indexJsonSchema } from "../config/json_schema.ts";

/** The JSON Schema text `flusso schema <kind>` prints. */
export function schemaText(kind: "config" | "index"): string {
  return `${JSON.stringify(kind === "config" ? configJsonSchema() : indexJsonSchema(), null, 2)}\n`;
}

/** The `schema` command; `write` receives the output (stdout by default). */
export function schemaCommand(
  write: (text: string) => void = (text) => process.stdout.write(text),
) {
  return new Command("schema")
    .description("print the JSON Schema of flusso.toml (config) or of *.schema.yml (index)")
    .addArgument(new Argument("<kind>", "which file").choices(["config", "index"] as const))
    .action((kind) => {
      write(schemaText(kind));
    });
}
