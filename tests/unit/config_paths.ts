/** Path helpers for the config tests (node:url/node:path, portable across Deno and Bun). */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Absolute path of the config fixtures, ending with "/". */
export const FIXTURES = `${REPO}/tests/fixtures/config/`;
