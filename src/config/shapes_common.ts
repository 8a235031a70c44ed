/**
 * Shapes shared by flusso.toml and *.schema.yml, declared once with zod: the validator, the
 * TypeScript types of the raw files and the JSON Schema are all derived from them.
 */
import { z } from "zod";
import { DURATION_PATTERN } from "./duration.ts";
import { SIZE_PATTERN } from "./size.ts";

/** A table, schema or column name as written (quoted later, so any non-empty text). */
export const Identifier = z.string().min(1);

/** `{ env = "VAR" }`: a value read from an environment variable at start. */
export const EnvRef = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: "expected an environment variable name (letters, digits, _)",
  }),
}).meta({ description: "Read the value from this environment variable at start." });

/** `{ file = "path" }`: a value read from a file at start (trailing newline dropped). */
export const FileRef = z.strictObject({ file: z.string().min(1) }).meta({
  description: "Read the value from this file at start (relative to flusso.toml).",
});

/** A secret: literal text, `{ env }` or `{ file }`. Never printed. */
export const SecretValue = z.union([z.string(), EnvRef, FileRef]);

/** `"50ms"`, `"10s"`, `"1m"`, `"2h"`, `"1d"`. */
export const Duration = z.string({ error: 'expected a duration such as "50ms" or "10s"' })
  .regex(DURATION_PATTERN, {
    error: 'expected a duration: a number followed by ms, s, m, h or d, e.g. "50ms" or "10s"',
  }).meta({ description: 'A duration, e.g. "50ms", "10s", "5m".' });

/** `"16MiB"`, `"10MB"` or a number of bytes. */
export const Size = z.union([
  z.int().nonnegative(),
  z.string().regex(SIZE_PATTERN, {
    error: 'expected a size: a number followed by B, KB, KiB, MB, MiB, GB or GiB, e.g. "16MiB"',
  }),
]).meta({ description: 'A size in bytes, or with a unit: "16MiB", "10MB".' });

/** What to do with a document OpenSearch rejects for good. */
export const OnError = z.enum(["stop", "skip"]).meta({
  description:
    '"stop" halts the pipeline; "skip" quarantines the document in the dead-letter index.',
});
