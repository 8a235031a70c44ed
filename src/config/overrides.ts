/**
 * Overrides of flusso.toml values from the environment and from command-line flags.
 * Precedence: flag > FLUSSO_* environment > file > default. The overridden raw values are
 * validated like the file's own, so a bad `FLUSSO_MAX_DELAY` gets the same clear error.
 * (`DATABASE_URL` and `<SINK>_OPENSEARCH_*` are applied while resolving, see resolve_deployment.ts.)
 */

/** Values from flags, keyed by their dotted flusso.toml path, e.g. `{ "source.slot": "s2" }`. */
export type ConfigOverrides = Readonly<Record<string, string | number | boolean | undefined>>;

/** The FLUSSO_* environment twins of flusso.toml keys. */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  FLUSSO_ON_ERROR: "on_error",
  FLUSSO_PREFIX: "prefix",
  FLUSSO_SLOT: "source.slot",
  FLUSSO_PUBLICATION: "source.publication",
  FLUSSO_MANAGE_PUBLICATION: "source.manage_publication",
  FLUSSO_HEARTBEAT_INTERVAL: "source.heartbeat_interval",
  FLUSSO_QUEUE_CAPACITY: "pipeline.queue_capacity",
  FLUSSO_QUEUE_BYTES: "pipeline.queue_bytes",
  FLUSSO_MAX_CHANGES: "pipeline.max_changes",
  FLUSSO_MAX_DELAY: "pipeline.max_delay",
  FLUSSO_MAX_BATCH_BYTES: "pipeline.max_batch_bytes",
  FLUSSO_PUBLIC_ADDRESS: "server.public_address",
  FLUSSO_PRIVATE_ADDRESS: "server.private_address",
};

/** Where an overridden value came from, for messages: `FLUSSO_SLOT` or `--flag source.slot`. */
export interface AppliedOverride {
  readonly path: readonly string[];
  readonly origin: string;
}

/**
 * Applies environment then flag overrides to a copy of the raw file value. Text from the
 * environment that looks like a number or boolean becomes one, so the validator sees the
 * value the user meant.
 */
export function applyOverrides(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigOverrides,
): { value: unknown; applied: AppliedOverride[] } {
  const value = structuredClone(raw ?? {}) as Record<string, unknown>;
  const applied: AppliedOverride[] = [];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { value: raw, applied };
  }
  for (const [name, dotted] of Object.entries(ENV_OVERRIDES)) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    setPath(value, dotted.split("."), coerce(dotted, text));
    applied.push({ path: dotted.split("."), origin: `environment variable ${name}` });
  }
  for (const [dotted, flag] of Object.entries(flags)) {
    if (flag === undefined) continue;
    setPath(value, dotted.split("."), flag);
    applied.push({ path: dotted.split("."), origin: `command-line flag for ${dotted}` });
  }
  return { value, applied };
}

const NUMERIC = new Set([
  "pipeline.queue_capacity",
  "pipeline.max_changes",
  "pipeline.queue_bytes",
  "pipeline.max_batch_bytes",
]);

function coerce(dotted: string, text: string): string | number | boolean {
  if (NUMERIC.has(dotted) && /^\d+$/.test(text)) return Number(text);
  if (dotted === "source.manage_publication" && (text === "true" || text === "false")) {
    return text === "true";
  }
  return text;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
