/**
 * Index settings: normalised to OpenSearch's flat `index.*` keys with string values, validated
 * for the settings whose values matter here, and shown nested or flat as `GET _settings` does.
 */
import { illegalArgument } from "./errors.ts";

/** Flat settings: `index.number_of_shards` → `"1"`; null marks a reset in put-settings. */
export type FlatSettings = Record<string, string | null>;

const NON_DYNAMIC = new Set([
  "index.number_of_shards",
  "index.number_of_routing_shards",
  "index.codec",
  "index.soft_deletes.enabled",
  "index.sort.field",
  "index.sort.order",
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Flattens nested or dotted settings into `index.*` keys with string values (null kept). */
export function flattenSettings(raw: unknown): FlatSettings {
  const out: FlatSettings = {};
  const walk = (v: unknown, prefix: string) => {
    if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
      return;
    }
    const key = prefix.startsWith("index.") ? prefix : `index.${prefix}`;
    out[key] = v === null ? null : Array.isArray(v) ? v.map(String).join(",") : String(v);
  };
  if (isPlainObject(raw)) walk(raw, "");
  return out;
}

/** Milliseconds of an OpenSearch time value (`1s`, `500ms`, `-1`); throws on a bad value. */
export function parseTimeValue(value: string, setting: string): number {
  if (value === "-1") return -1;
  const m = value.trim().match(/^(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)$/);
  if (!m) {
    throw illegalArgument(
      `failed to parse setting [${setting}] with value [${value}] as a time value: unit is missing or unrecognized`,
    );
  }
  const unit: Record<string, number> = {
    nanos: 1e-6,
    micros: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  return Number(m[1]) * unit[m[2]];
}

function checkInt(settings: FlatSettings, key: string, min: number, max: number): void {
  const v = settings[key];
  if (v === undefined || v === null) return;
  const n = Number(v);
  if (!/^-?\d+$/.test(v)) {
    throw illegalArgument(`Failed to parse value [${v}] for setting [${key}]`);
  }
  if (n < min) {
    throw illegalArgument(`Failed to parse value [${v}] for setting [${key}] must be >= ${min}`);
  }
  if (n > max) {
    throw illegalArgument(`Failed to parse value [${v}] for setting [${key}] must be <= ${max}`);
  }
}

/** Throws `illegal_argument_exception` for a setting value OpenSearch would reject. */
export function validateSettings(settings: FlatSettings): void {
  checkInt(settings, "index.number_of_shards", 1, 1024);
  checkInt(settings, "index.number_of_replicas", 0, 2147483647);
  checkInt(settings, "index.number_of_routing_shards", 1, 1024);
  checkInt(settings, "index.max_result_window", 1, 2147483647);
  const ri = settings["index.refresh_interval"];
  if (ri !== undefined && ri !== null) parseTimeValue(ri, "index.refresh_interval");
}

/** The settings a put-settings request may not change on an open index. */
export function nonDynamicKeys(settings: FlatSettings): string[] {
  return Object.keys(settings).filter((k) => NON_DYNAMIC.has(k));
}

/** Nests flat `a.b.c` keys back into objects, as `GET _settings` shows them by default. */
export function nestSettings(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(flat).sort()) {
    const parts = key.split(".");
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      if (!isPlainObject(next)) cur[parts[i]] = {};
      cur = cur[parts[i]] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]] = flat[key];
  }
  return out;
}
