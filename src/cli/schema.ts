/**
 * `flusso schema config|index`: the JSON Schema of flusso.toml or of *.schema.yml, for editor
 * completion and validation (see the README for wiring it into VS Code). The command's
 * definition is in schema_command.ts.
 */
import { configJsonSchema, indexJsonSchema } from "../config/json_schema.ts";

/** The JSON Schema text `flusso schema <kind>` prints. */
export function schemaText(kind: "config" | "index"): string {
  return `${JSON.stringify(kind === "config" ? configJsonSchema() : indexJsonSchema(), null, 2)}\n`;
}
