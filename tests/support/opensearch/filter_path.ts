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

/** True when a pattern ended at this level: the value is kept whole. */
export function keepsWhole(patterns: readonly string[][]): boolean {
  for (const p of patterns) if (p.length === 0) return true;
  return false;
}

/** The patterns that continue below `key` of an object; empty when nothing under it is selected. */
export function childPatterns(patterns: readonly string[][], key: string): string[][] {
  const next: string[][] = [];
  for (const p of patterns) {
    if (p[0] === "**") {
      next.push(p); // `**` may swallow this level
      if (p.length > 1 && matches(p[1], key)) next.push(p.slice(2));
    } else if (matches(p[0], key)) next.push(p.slice(1));
  }
  return next;
}

/** Returns the filtered value, or undefined when nothing under it is selected. */
function filter(value: Json, patterns: readonly string[][]): Json {
  if (keepsWhole(patterns)) return value; // a pattern ended here: keep it all
  if (Array.isArray(value)) {
    const kept = value.map((v) => filter(v, patterns)).filter((v) => v !== MISSING);
    return kept.length === 0 ? MISSING : kept;
  }
  if (typeof value !== "object" || value === null) return MISSING;
  const out: Record<string, Json> = {};
  let any = false;
  for (const [key, child] of Object.entries(value as Record<string, Json>)) {
    const next = childPatterns(patterns, key);
    if (next.length === 0) continue;
    const kept = filter(child, next);
    if (kept !== MISSING) {
      out[key] = kept;
      any = true;
    }
  }
  return any ? out : MISSING;
}

/** `value` reduced to what `patterns` select, or undefined when nothing under it is selected. */
export function filterValue(value: Json, patterns: readonly string[][]): Json {
  return filter(value, patterns);
}

/** Marks where a value goes in a `FilterTemplate` shape. */
export class Hole {
  /** `index` is the position of the value in `FilterTemplate.render`'s `values`. */
  constructor(readonly index: number) {}
}

/**
 * A reply fragment of a fixed shape whose scalars vary, filtered once: which keys survive
 * depends only on key names and on what is an object, so the filter runs on a shape whose
 * scalars are `Hole`s, and each reply only fills the holes that survived (no object per reply,
 * no tree walk). `parts` alternates literal JSON text and hole numbers.
 */
export class FilterTemplate {
  /** Literal text at even positions, hole numbers at odd positions. */
  private readonly parts: (string | number)[];
  /** False when the filter selects nothing of the shape (the fragment is dropped). */
  readonly kept: boolean;
  /** The holes that survived, in order. */
  readonly holes: readonly number[];

  constructor(shape: Json, patterns: readonly string[][]) {
    const marker = (v: Json): Json => {
      if (v instanceof Hole) return `\u0000${v.index}\u0000`;
      if (Array.isArray(v)) return v.map(marker);
      if (typeof v === "object" && v !== null) {
        const o: Record<string, Json> = {};
        for (const [k, c] of Object.entries(v)) o[k] = marker(c);
        return o;
      }
      return v;
    };
    const filtered = filter(marker(shape), patterns);
    this.kept = filtered !== MISSING;
    this.parts = this.kept
      ? JSON.stringify(filtered).split(/"\\u0000(\d+)\\u0000"/).map((p, i) =>
        i % 2 === 1 ? Number(p) : p
      )
      : [];
    this.holes = this.parts.filter((_, i) => i % 2 === 1) as number[];
  }

  /** The JSON text of the fragment with `values(hole)` (JSON text) in each surviving hole. */
  render(values: (hole: number) => string): string {
    const parts = this.parts;
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) {
      out += values(parts[i] as number) + (parts[i + 1] as string);
    }
    return out;
  }
}
