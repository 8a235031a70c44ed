/**
 * `?filter_path=` response filtering, as OpenSearch applies it to every JSON response: a
 * comma-separated list of dot-separated paths; `*` matches one key of any name, `**` any
 * number of levels; arrays are transparent (the path applies to each element). Objects left
 * empty are dropped, and a response where nothing matches becomes `{}`. Exclusions (`-path`)
 * are not emulated.
 */

type Json = unknown;

/** The `filter_path` value split into patterns, or undefined when absent or empty. */
export function parseFilterPath(raw: string | null): string[][] | undefined {
  if (raw === null) return undefined;
  const patterns = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  return patterns.length === 0 ? undefined : patterns.map((p) => p.split("."));
}

/** `value` reduced to what `patterns` select; `{}` when nothing is selected. */
export function applyFilterPath(value: Json, patterns: readonly string[][]): Json {
  return filter(value, patterns) ?? {};
}

const MISSING = undefined;

function matches(segment: string, key: string): boolean {
  if (segment === "*") return true;
  if (!segment.includes("*")) return segment === key;
  const re = new RegExp(
    "^" + segment.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*") +
      "$",
  );
  return re.test(key);
}

/** Returns the filtered value, or undefined when nothing under it is selected. */
function filter(value: Json, patterns: readonly string[][]): Json {
  if (patterns.some((p) => p.length === 0)) return value; // a pattern ended here: keep it all
  if (Array.isArray(value)) {
    const kept = value.map((v) => filter(v, patterns)).filter((v) => v !== MISSING);
    return kept.length === 0 ? MISSING : kept;
  }
  if (typeof value !== "object" || value === null) return MISSING;
  const out: Record<string, Json> = {};
  let any = false;
  for (const [key, child] of Object.entries(value as Record<string, Json>)) {
    const next: string[][] = [];
    for (const p of patterns) {
      if (p[0] === "**") {
        next.push(p); // `**` may swallow this level
        if (p.length > 1 && matches(p[1], key)) next.push(p.slice(2));
      } else if (matches(p[0], key)) next.push(p.slice(1));
    }
    if (next.length === 0) continue;
    const kept = filter(child, next);
    if (kept !== MISSING) {
      out[key] = kept;
      any = true;
    }
  }
  return any ? out : MISSING;
}
