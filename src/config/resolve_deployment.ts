/**
 * A validated flusso.toml → the deployment half of `Config`: defaults applied, secrets
 * resolved, `DATABASE_URL` and `<SINK>_OPENSEARCH_URL|USERNAME|PASSWORD` applied, durations
 * and sizes converted, schedules and references checked. Every problem becomes a
 * positioned ConfigError; resolution goes on after one, so all are reported together.
 */
import { connectionFromParts, ConnectionUrlError, parseConnectionUrl } from "./connection.ts";
import { cronProblem } from "./cron.ts";
import { parseDuration } from "./duration.ts";
import {
  type ConfigError,
  DuplicateNameError,
  InvalidConnectionError,
  InvalidCronError,
  InvalidValueError,
  MissingKeyError,
  UnknownReferenceError,
} from "./errors.ts";
import { displayPath } from "./issues.ts";
import type {
  LiveRefresh,
  OnError,
  PipelineConfig,
  PostgresConnection,
  ServerConfig,
  SinkConfig,
  SourceConfig,
} from "./model.ts";
import { type DocPath, positionOf } from "./position.ts";
import { Secret } from "./secret.ts";
import { resolveSecret, resolveSecretText, type SecretContext } from "./secrets.ts";
import type { DeploymentFile } from "./shapes_deployment.ts";
import { parseSize } from "./size.ts";
import { nearest } from "./suggest.ts";

/** Defaults of flusso.toml, as documented in SCHEMA.md. */
export const DEPLOYMENT_DEFAULTS = {
  onError: "stop" as OnError,
  prefix: "",
  slot: "flusso",
  publication: "flusso",
  managePublication: true,
  heartbeat: "10s",
  sink: {
    tlsVerify: true,
    batchSize: 1000,
    maxBytes: "10MiB",
    timeoutSecs: 30,
    maxRetries: 8,
    numberOfShards: 1,
    numberOfReplicas: 1,
    refreshInterval: "1s",
    liveRefresh: "immediate" as LiveRefresh,
  },
  pipeline: {
    queueCapacity: 4096,
    queueBytes: "64MiB",
    // Batches close at max_delay at low rates; under a backlog a larger batch builds a
    // document touched by many changes once instead of once per 1,024 changes.
    maxChanges: 4096,
    maxDelay: "50ms",
    maxBatchBytes: "16MiB",
  },
  server: { publicAddress: "127.0.0.1:9464", privateAddress: "127.0.0.1:9465" },
} as const;

/** An `[[index]]` entry before its schema file is loaded. */
export interface IndexEntry {
  readonly position: number;
  readonly name: string;
  readonly schema: string;
  readonly enabled: boolean;
  readonly onError: OnError;
  readonly sink: string;
  readonly verify?: string;
  readonly reindex?: string;
}

/** The deployment half of Config. */
export interface ResolvedDeployment {
  readonly onError: OnError;
  readonly prefix: string;
  readonly source: SourceConfig;
  readonly sinks: readonly SinkConfig[];
  readonly pipeline: PipelineConfig;
  readonly server: ServerConfig;
  readonly indexes: readonly IndexEntry[];
}

/** The environment name prefix of a sink's overrides: `search` → `SEARCH_OPENSEARCH_`. */
export function sinkEnvPrefix(sink: string): string {
  return `${sink.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_OPENSEARCH_`;
}

/** Resolves a validated flusso.toml; returns the deployment, or the errors found. */
export function resolveDeployment(
  file: DeploymentFile,
  ctx: SecretContext,
): { ok: true; value: ResolvedDeployment } | { ok: false; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const take = <T>(result: T | ConfigError, fallback: T): T => {
    if (result instanceof Error) {
      errors.push(result as ConfigError);
      return fallback;
    }
    return result;
  };
  const at = (path: DocPath) => ({
    file: ctx.doc.file,
    position: positionOf(ctx.doc, path),
    path: displayPath(path),
  });
  const duration = (text: string | undefined, fallback: string): number =>
    parseDuration(text ?? fallback); // already validated by the shape
  const size = (v: string | number | undefined, fallback: string): number =>
    parseSize(v ?? fallback);

  const onError = file.on_error ?? DEPLOYMENT_DEFAULTS.onError;
  const source = file.source ?? {};
  const connection = take(resolveConnection(source.connection_url, ctx), undefined);
  const sourceConfig: SourceConfig = {
    type: "postgres",
    connection: connection ?? { host: "", port: 0, user: "", database: "" },
    slot: source.slot ?? DEPLOYMENT_DEFAULTS.slot,
    publication: source.publication ?? DEPLOYMENT_DEFAULTS.publication,
    managePublication: source.manage_publication ?? DEPLOYMENT_DEFAULTS.managePublication,
    heartbeatMs: duration(source.heartbeat_interval, DEPLOYMENT_DEFAULTS.heartbeat),
  };

  const sinkNames = Object.keys(file.sinks);
  if (sinkNames.length === 0) {
    errors.push(
      new MissingKeyError("sinks: at least one sink is required, e.g. [sinks.search]", {
        ...at(["sinks"]),
        expected: "a [sinks.<name>] table",
      }),
    );
  }
  const sinks: SinkConfig[] = sinkNames.map((name) => {
    const raw = file.sinks[name];
    const path = ["sinks", name];
    const prefix = sinkEnvPrefix(name);
    const type = raw.type ?? "opensearch";
    const url = ctx.env[`${prefix}URL`] ?? raw.url;
    if (type === "opensearch") {
      if (url === undefined) {
        errors.push(
          new MissingKeyError(
            `missing required key "url" in sinks.${name} (or set ${prefix}URL)`,
            { ...at(path), expected: 'an http(s) URL, e.g. "https://localhost:9200"' },
          ),
        );
      } else if (!isHttpUrl(url)) {
        errors.push(
          new InvalidValueError(
            `sinks.${name}.url: expected an http:// or https:// URL${
              ctx.env[`${prefix}URL`] !== undefined ? ` (from ${prefix}URL)` : ""
            }`,
            { ...at([...path, "url"]), expected: "an http(s) URL" },
          ),
        );
      }
    }
    const envPassword = ctx.env[`${prefix}PASSWORD`];
    const password = envPassword !== undefined
      ? new Secret(envPassword)
      : raw.password !== undefined
      ? take(resolveSecret(raw.password, [...path, "password"], ctx), undefined)
      : undefined;
    // OpenSearch holds a `wait_for` write until a scheduled refresh; with none it would hang
    // until the request times out, and the batch with it.
    if (raw.live_refresh === "wait_for" && raw.refresh_interval === "-1") {
      errors.push(
        new InvalidValueError(
          `sinks.${name}.live_refresh: "wait_for" waits for a scheduled refresh, but ` +
            `refresh_interval = "-1" schedules none; set a refresh_interval such as "1s", or ` +
            `use "immediate" or "interval"`,
          at([...path, "live_refresh"]),
        ),
      );
    }
    const username = ctx.env[`${prefix}USERNAME`] ?? raw.username;
    return {
      name,
      type,
      url: url ?? "",
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      tlsVerify: raw.tls_verify ?? DEPLOYMENT_DEFAULTS.sink.tlsVerify,
      ...(raw.ca_file !== undefined ? { caFile: raw.ca_file } : {}),
      batchSize: raw.batch_size ?? DEPLOYMENT_DEFAULTS.sink.batchSize,
      maxBytes: size(raw.max_bytes, DEPLOYMENT_DEFAULTS.sink.maxBytes),
      timeoutMs: Math.round((raw.timeout_secs ?? DEPLOYMENT_DEFAULTS.sink.timeoutSecs) * 1000),
      maxRetries: raw.max_retries ?? DEPLOYMENT_DEFAULTS.sink.maxRetries,
      numberOfShards: raw.number_of_shards ?? DEPLOYMENT_DEFAULTS.sink.numberOfShards,
      numberOfReplicas: raw.number_of_replicas ?? DEPLOYMENT_DEFAULTS.sink.numberOfReplicas,
      refreshInterval: raw.refresh_interval ?? DEPLOYMENT_DEFAULTS.sink.refreshInterval,
      liveRefresh: raw.live_refresh ?? DEPLOYMENT_DEFAULTS.sink.liveRefresh,
    };
  });

  const p = file.pipeline ?? {};
  const pipeline: PipelineConfig = {
    queueCapacity: p.queue_capacity ?? DEPLOYMENT_DEFAULTS.pipeline.queueCapacity,
    queueBytes: size(p.queue_bytes, DEPLOYMENT_DEFAULTS.pipeline.queueBytes),
    maxChanges: p.max_changes ?? DEPLOYMENT_DEFAULTS.pipeline.maxChanges,
    maxDelayMs: duration(p.max_delay, DEPLOYMENT_DEFAULTS.pipeline.maxDelay),
    maxBatchBytes: size(p.max_batch_bytes, DEPLOYMENT_DEFAULTS.pipeline.maxBatchBytes),
  };

  const s = file.server ?? {};
  const token = s.token !== undefined
    ? take(resolveSecret(s.token, ["server", "token"], ctx), undefined)
    : undefined;
  const server: ServerConfig = {
    publicAddress: s.public_address ?? DEPLOYMENT_DEFAULTS.server.publicAddress,
    privateAddress: s.private_address ?? DEPLOYMENT_DEFAULTS.server.privateAddress,
    ...(token ? { token } : {}),
  };
  // Port 0 asks the OS for a free port, so two ":0" addresses never collide.
  if (server.publicAddress === server.privateAddress && !/:0$/.test(server.publicAddress)) {
    errors.push(
      new InvalidValueError(
        "server.private_address: must differ from public_address (the control surface needs " +
          "its own port)",
        at(["server", "private_address"]),
      ),
    );
  }

  const seen = new Map<string, number>();
  const indexes: IndexEntry[] = [];
  file.index.forEach((raw, i) => {
    const path = ["index", i];
    const first = seen.get(raw.name);
    if (first !== undefined) {
      errors.push(
        new DuplicateNameError(
          `index[${i}].name: index "${raw.name}" is already declared at line ${
            positionOf(ctx.doc, ["index", first, "name"]).line
          }; index names must be unique`,
          at([...path, "name"]),
        ),
      );
    } else seen.set(raw.name, i);
    let sink = raw.sink;
    if (sink !== undefined && !sinkNames.includes(sink)) {
      const suggestion = nearest(sink, sinkNames);
      errors.push(
        new UnknownReferenceError(
          `index[${i}].sink: no sink named "${sink}"; declared: ${
            sinkNames.map((n) => `"${n}"`).join(", ")
          }${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
          { ...at([...path, "sink"]), suggestion },
        ),
      );
    }
    if (sink === undefined) {
      if (sinkNames.length > 1) {
        errors.push(
          new MissingKeyError(
            `missing required key "sink" in index[${i}]: there are ${sinkNames.length} sinks (${
              sinkNames.join(", ")
            }), so each index names the one it writes to`,
            { ...at(path), expected: `one of ${sinkNames.map((n) => `"${n}"`).join(", ")}` },
          ),
        );
      }
      sink = sinkNames[0] ?? "";
    }
    for (const key of ["verify", "reindex"] as const) {
      const expression = raw[key];
      if (expression === undefined) continue;
      const problem = cronProblem(expression);
      if (problem) {
        errors.push(
          new InvalidCronError(
            `index[${i}].${key}: invalid cron schedule ${JSON.stringify(expression)}: ${problem}`,
            { ...at([...path, key]), expected: 'a cron expression such as "0 3 * * 0"' },
          ),
        );
      }
    }
    indexes.push({
      position: i,
      name: raw.name,
      schema: raw.schema,
      enabled: raw.enabled ?? true,
      onError: raw.on_error ?? onError,
      sink,
      ...(raw.verify !== undefined ? { verify: raw.verify } : {}),
      ...(raw.reindex !== undefined ? { reindex: raw.reindex } : {}),
    });
  });

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      onError,
      prefix: file.prefix ?? DEPLOYMENT_DEFAULTS.prefix,
      source: sourceConfig,
      sinks,
      pipeline,
      server,
      indexes,
    },
  };
}

function resolveConnection(
  raw: NonNullable<DeploymentFile["source"]>["connection_url"],
  ctx: SecretContext,
): PostgresConnection | ConfigError {
  const path: DocPath = ["source", "connection_url"];
  const where = displayPath(path);
  const override = ctx.env.DATABASE_URL;
  if (override !== undefined && override !== "") {
    return fromUrl(override, "DATABASE_URL", ["source"], ctx);
  }
  if (raw === undefined) {
    return new MissingKeyError(
      'missing required key "connection_url" in source (or set DATABASE_URL)',
      {
        file: ctx.doc.file,
        position: positionOf(ctx.doc, ["source"], "key"),
        path: where,
        expected: "a postgres:// URL, { env }, { file } or connection parts",
      },
    );
  }
  if (typeof raw === "string" || "env" in raw || "file" in raw) {
    const text = resolveSecretText(raw, path, ctx);
    if (typeof text !== "string") return text;
    return fromUrl(text, where, path, ctx);
  }
  let password: Secret | undefined;
  if (raw.password !== undefined) {
    const resolved = resolveSecret(raw.password, [...path, "password"], ctx);
    if (!(resolved instanceof Secret)) return resolved;
    password = resolved;
  }
  return connectionFromParts({ ...raw, password });
}

function fromUrl(
  url: string,
  origin: string,
  path: DocPath,
  ctx: SecretContext,
): PostgresConnection | ConfigError {
  try {
    return parseConnectionUrl(url);
  } catch (error) {
    if (!(error instanceof ConnectionUrlError)) throw error;
    return new InvalidConnectionError(`${origin}: ${error.message}`, {
      file: ctx.doc.file,
      position: positionOf(ctx.doc, path),
      path: displayPath(path),
      expected: "postgres://user:password@host:port/database",
    });
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
