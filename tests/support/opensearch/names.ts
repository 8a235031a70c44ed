/**
 * Name rules: index and alias names validated as OpenSearch does (MetadataCreateIndexService),
 * document ids limited to 512 bytes, and the `*` wildcard used by index expressions and
 * source filtering.
 */
import { Buffer } from "node:buffer";
import { OpenSearchError } from "./errors.ts";

const FORBIDDEN = ["\\", "/", "*", "?", '"', "<", ">", "|", " ", ","];
const FORBIDDEN_TEXT = '[ , ", *, \\, <, |, ,, >, /, ?]';

/** Why `name` is not a valid index or alias name, or undefined when it is valid. */
export function invalidNameReason(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (FORBIDDEN.some((c) => name.includes(c))) {
    return `must not contain the following characters ${FORBIDDEN_TEXT}`;
  }
  if (name.includes("#")) return "must not contain '#'";
  if (name.includes(":")) return "must not contain ':'";
  if (/^[_\-+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (name !== name.toLowerCase()) return "must be lowercase";
  if (name === "." || name === "..") return "must not be '.' or '..'";
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > 255) return `index name is too long, (${bytes} > 255)`;
  return undefined;
}

/** Throws `invalid_index_name_exception` when `name` is not a valid index name. */
export function validateIndexName(name: string): void {
  const why = invalidNameReason(name);
  if (why) {
    throw new OpenSearchError(
      400,
      "invalid_index_name_exception",
      `Invalid index name [${name}], ${why}`,
      { index_uuid: "_na_", index: name },
    );
  }
}

/** Throws `invalid_alias_name_exception` when `name` is not a valid alias name. */
export function validateAliasName(name: string): void {
  const why = invalidNameReason(name);
  if (why) {
    throw new OpenSearchError(
      400,
      "invalid_alias_name_exception",
      `Invalid alias name [${name}], ${why}`,
      { index_uuid: "_na_", index: name },
    );
  }
}

/** The validation message for an over-long `_id`, or undefined when the id fits. */
export function idTooLong(id: string): string | undefined {
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes <= 512) return undefined;
  return `id [${id}] is too long, must be no longer than 512 bytes but was: ${bytes}`;
}

const globCache = new Map<string, RegExp>();

/** True when `pattern` (where `*` matches any run of characters, dots included) matches `text`. */
export function globMatch(pattern: string, text: string): boolean {
  if (!pattern.includes("*")) return pattern === text;
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(
      ".*",
    );
    re = new RegExp(`^${body}$`, "s");
    globCache.set(pattern, re);
  }
  return re.test(text);
}
