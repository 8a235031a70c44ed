/**
 * Resolution of secret values written as literal text, `{ env = "VAR" }` or
 * `{ file = "path" }`. A missing variable or unreadable file is a config error that names
 * the variable or file — never the value.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { type ConfigError, MissingSecretError } from "./errors.ts";
import { type DocPath, positionOf, type SourceDocument } from "./position.ts";
import { displayPath } from "./issues.ts";
import { Secret } from "./secret.ts";

/** A secret as written: literal, `{ env }` or `{ file }`. */
export type SecretInput = string | { readonly env: string } | { readonly file: string };

/** Where a secret is resolved: the process environment and the config's directory. */
export interface SecretContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative `{ file }` paths start from (the flusso.toml's). */
  readonly baseDir: string;
  readonly doc: SourceDocument;
}

/** The secret's text, or a MissingSecretError pointing at `path` in the document. */
export function resolveSecretText(
  input: SecretInput,
  path: DocPath,
  ctx: SecretContext,
): string | ConfigError {
  if (typeof input === "string") return input;
  const where = displayPath(path);
  if ("env" in input) {
    const value = ctx.env[input.env];
    if (value === undefined) {
      return new MissingSecretError(
        `${where}: environment variable ${input.env} is not set; export it or write the value ` +
          `another way`,
        {
          file: ctx.doc.file,
          position: positionOf(ctx.doc, [...path, "env"]),
          path: where,
          expected: `the environment variable ${input.env}`,
          variable: input.env,
        },
      );
    }
    return value;
  }
  const file = isAbsolute(input.file) ? input.file : join(ctx.baseDir, input.file);
  try {
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return new MissingSecretError(`${where}: cannot read secret file "${file}" (${reason})`, {
      file: ctx.doc.file,
      position: positionOf(ctx.doc, [...path, "file"]),
      path: where,
      expected: "a readable file",
    });
  }
}

/** Like resolveSecretText, wrapped in a Secret so it cannot be printed by accident. */
export function resolveSecret(
  input: SecretInput,
  path: DocPath,
  ctx: SecretContext,
): Secret | ConfigError {
  const text = resolveSecretText(input, path, ctx);
  return typeof text === "string" ? new Secret(text) : text;
}
