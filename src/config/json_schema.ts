/**
 * JSON Schemas of flusso.toml and *.schema.yml, derived from the same zod declarations the
 * loader validates with (so they cannot drift apart). Draft-07, the dialect editor plugins
 * (VS Code YAML, Even Better TOML) read best. `flusso schema config|index` prints them.
 */
import { z } from "zod";
import { DeploymentShape } from "./shapes_deployment.ts";
import { DocumentShape } from "./shapes_document.ts";

/** A JSON Schema document. */
export type JsonSchema = Record<string, unknown>;

function toSchema(shape: z.ZodType, id: string): JsonSchema {
  const schema = z.toJSONSchema(shape, {
    target: "draft-7",
    io: "input",
    unrepresentable: "any",
  }) as JsonSchema;
  return { ...schema, $id: id };
}

/** The JSON Schema of flusso.toml. */
export function configJsonSchema(): JsonSchema {
  return toSchema(DeploymentShape, "https://flusso.dev/schema/flusso.toml.json");
}

/** The JSON Schema of a *.schema.yml. */
export function indexJsonSchema(): JsonSchema {
  return toSchema(DocumentShape, "https://flusso.dev/schema/index.schema.json");
}
