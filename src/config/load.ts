/**
 * The config loader: flusso.toml and every *.schema.yml it names → one immutable,
 * fully-typed `Config`, or a `ConfigErrors` holding every problem found (syntax, shape,
 * secrets, references, schedules), each with its file, line and column.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import process from "node:process";
import {
  type ConfigError,
  ConfigErrors,
  ConfigFileNotFoundError,
  ConfigSyntaxError,
} from "./errors.ts";
import { displayPath, validate } from "./issues.ts";
import type { Config, DocumentModel, IndexConfig } from "./model.ts";
import { applyOverrides, type ConfigOverrides } from "./overrides.ts";
import { positionOf, type SourceDocument } from "./position.ts";
import { resolveDeployment } from "./resolve_deployment.ts";
import { resolveDocument } from "./resolve_document.ts";
import { Secret } from "./secret.ts";
import { DeploymentShape } from "./shapes_deployment.ts";
import { DocumentShape } from "./shapes_document.ts";
import { parseTomlSource } from "./toml_source.ts";
import { parseYamlSource } from "./yaml_source.ts";

export type { ConfigOverrides } from "./overrides.ts";

/** Options of loadConfig. */
export interface LoadOptions {
  /** The environment for `{ env }` secrets and overrides; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values from command-line flags, by dotted flusso.toml path; they win over everything. */
  readonly overrides?: ConfigOverrides;
}

/**
 * Loads and validates `path` (a flusso.toml) and the schema files of its indexes.
 * Throws ConfigErrors (with every error found) when the config is unusable.
 */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  const errors: ConfigError[] = [];
  const fail = () => new ConfigErrors(errors, sources);

  const text = await readText(path, undefined);
  if (typeof text !== "string") {
    errors.push(text);
    throw fail();
  }
  sources.set(path, text);
  let parsed: SourceDocument;
  try {
    parsed = parseTomlSource(path, text);
  } catch (error) {
    if (!(error instanceof ConfigSyntaxError)) throw error;
    errors.push(error);
    throw fail();
  }
  const { value, applied } = applyOverrides(parsed.value, env, options.overrides ?? {});
  const doc: SourceDocument = { ...parsed, value };
  const baseDir = dirname(path);

  const shape = validate(DeploymentShape, doc);
  const deployment = shape.ok ? resolveDeployment(shape.value, { env, baseDir, doc }) : undefined;
  if (!shape.ok) errors.push(...shape.errors.map((e) => noteOverride(e, applied)));
  if (deployment && !deployment.ok) errors.push(...deployment.errors);

  // Schema files are checked even when flusso.toml has errors, so one run shows everything.
  const entries = indexEntriesOf(doc.value);
  const models = new Map<number, DocumentModel>();
  for (const entry of entries) {
    const schemaPath = isAbsolute(entry.schema) ? entry.schema : join(baseDir, entry.schema);
    const schemaText = await readText(schemaPath, {
      file: path,
      position: positionOf(doc, ["index", entry.position, "schema"]),
      path: displayPath(["index", entry.position, "schema"]),
    });
    if (typeof schemaText !== "string") {
      errors.push(schemaText);
      continue;
    }
    sources.set(schemaPath, schemaText);
    const model = documentFromText(schemaPath, schemaText);
    if (Array.isArray(model)) errors.push(...model);
    else models.set(entry.position, model);
  }

  if (errors.length > 0 || !deployment?.ok) throw fail();
  const d = deployment.value;
  const indexes: IndexConfig[] = d.indexes.map((entry) => ({
    name: entry.name,
    enabled: entry.enabled,
    onError: entry.onError,
    sink: entry.sink,
    ...(entry.verify !== undefined ? { verify: entry.verify } : {}),
    ...(entry.reindex !== undefined ? { reindex: entry.reindex } : {}),
    model: models.get(entry.position)!,
  }));
  return deepFreeze({
    file: path,
    onError: d.onError,
    prefix: d.prefix,
    source: d.source,
    sinks: d.sinks,
    pipeline: d.pipeline,
    server: d.server,
    indexes,
  });
}

/**
 * Loads one *.schema.yml on its own (for tests and tools); throws ConfigErrors.
 */
export async function loadDocumentModel(path: string): Promise<DocumentModel> {
  const text = await readText(path, undefined);
  if (typeof text !== "string") throw new ConfigErrors([text]);
  const model = documentFromText(path, text);
  if (Array.isArray(model)) throw new ConfigErrors(model, new Map([[path, text]]));
  return deepFreeze(model);
}

/** Parses, validates and resolves schema-file text; returns the model or its errors. */
export function documentFromText(file: string, text: string): DocumentModel | ConfigError[] {
  const doc = parseYamlSource(file, text);
  if (Array.isArray(doc)) return doc;
  const shape = validate(DocumentShape, doc);
  if (!shape.ok) return shape.errors;
  const resolved = resolveDocument(shape.value, doc);
  return resolved.ok ? resolved.value : resolved.errors;
}

/** `[[index]]` entries whose `schema` can be followed, even in an otherwise invalid file. */
function indexEntriesOf(value: unknown): { position: number; schema: string }[] {
  const list = (value as { index?: unknown } | null)?.index;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry, position) => {
    const schema = (entry as { schema?: unknown } | null)?.schema;
    return typeof schema === "string" && schema !== "" ? [{ position, schema }] : [];
  });
}

async function readText(
  file: string,
  from: { file: string; position: { line: number; column: number }; path: string } | undefined,
): Promise<string | ConfigError> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    const message = from
      ? `${from.path}: cannot read schema file "${file}" (${reason})`
      : `cannot read config file "${file}" (${reason})`;
    return new ConfigFileNotFoundError(message, {
      file: from?.file ?? file,
      position: from?.position ?? { line: 1, column: 1 },
      path: from?.path,
      expected: "a readable file",
    });
  }
}

/** Says which override set a value that turned out invalid. */
function noteOverride(
  error: ConfigError,
  applied: readonly { path: readonly string[]; origin: string }[],
): ConfigError {
  const hit = applied.find((o) => error.path === o.path.join("."));
  if (!hit) return error;
  const Kind = error.constructor as new (
    message: string,
    details: ConstructorParameters<typeof ConfigFileNotFoundError>[1],
  ) => ConfigError;
  return new Kind(`${error.message} (set by ${hit.origin})`, {
    file: error.file,
    position: { line: error.line, column: error.column },
    path: error.path,
    expected: error.expected,
    suggestion: error.suggestion,
  });
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || value instanceof Secret) return value;
  for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  return Object.freeze(value);
}
