/**
 * The shape of flusso.toml, declared once: the validator, the raw TypeScript type
 * (`DeploymentFile`) and `flusso schema config` all come from `DeploymentShape`.
 */
import { z } from "zod";
import { Duration, EnvRef, FileRef, OnError, SecretValue, Size } from "./shapes_common.ts";
import { LIVE_REFRESH_MODES } from "./model.ts";

/** Postgres `sslmode` values flusso understands. */
export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;

/** `connection_url` written as parts instead of a URL. */
export const ConnectionParts = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535).optional(),
  user: z.string().min(1),
  password: SecretValue.optional(),
  database: z.string().min(1),
  sslmode: z.enum(SSL_MODES).optional(),
  sslrootcert: z.string().min(1).optional(),
});

/** `[source]`. */
export const SourceShape = z.strictObject({
  type: z.literal("postgres").optional(),
  connection_url: z.union([z.string().min(1), EnvRef, FileRef, ConnectionParts]).optional()
    .meta({
      description: "A postgres:// URL, { env }, { file }, or parts. DATABASE_URL overrides it.",
    }),
  slot: z.string().regex(/^[a-z0-9_]{1,63}$/, {
    error: "expected a replication slot name: 1 to 63 lowercase letters, digits or _",
  }).optional(),
  publication: z.string().min(1).max(63).optional(),
  manage_publication: z.boolean().optional().meta({
    description: "Create or extend the publication when the role may.",
  }),
  heartbeat_interval: Duration.optional().meta({
    description: 'Interval of heartbeat messages that keep an idle slot moving; "0s" disables.',
  }),
});

/** One `[sinks.<name>]`. */
export const SinkShape = z.strictObject({
  type: z.enum(["opensearch", "stdout"]).optional(),
  url: z.string().min(1).optional(),
  username: z.string().optional(),
  password: SecretValue.optional(),
  tls_verify: z.boolean().optional(),
  ca_file: z.string().min(1).optional(),
  batch_size: z.int().positive().optional().meta({ description: "Documents per bulk request." }),
  max_bytes: Size.optional().meta({ description: "Bytes per bulk request." }),
  timeout_secs: z.number().positive().optional(),
  max_retries: z.int().nonnegative().optional(),
  number_of_shards: z.int().positive().optional(),
  number_of_replicas: z.int().nonnegative().optional(),
  refresh_interval: z.string().regex(/^(-1|\d+(ms|s|m|h|d))$/, {
    error: 'expected an OpenSearch interval such as "1s", or "-1" to disable refresh',
  }).optional(),
  live_refresh: z.enum(LIVE_REFRESH_MODES).optional().meta({
    description: "When documents written while caught up become searchable: " +
      '"immediate" (refresh=true, searchable on confirm), "wait_for" (confirm after the ' +
      'next scheduled refresh), "interval" (within refresh_interval, no extra refreshes).',
  }),
});

/** `[pipeline]`. */
export const PipelineShape = z.strictObject({
  queue_capacity: z.int().positive().optional(),
  queue_bytes: Size.optional(),
  max_changes: z.int().positive().optional(),
  max_delay: Duration.optional(),
  max_batch_bytes: Size.optional(),
});

const Address = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d{1,5}$/, {
  error: 'expected host:port, e.g. "127.0.0.1:9464"',
});

/** `[server]`. */
export const ServerShape = z.strictObject({
  public_address: Address.optional(),
  private_address: Address.optional(),
  token: SecretValue.optional(),
});

/** One `[[index]]`. */
export const IndexShape = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, {
    error: "expected a lowercase identifier: a letter, then lowercase letters, digits or _",
  }),
  schema: z.string().min(1).meta({
    description: "Path of the *.schema.yml, relative to this file.",
  }),
  enabled: z.boolean().optional(),
  on_error: OnError.optional(),
  sink: z.string().min(1).optional().meta({
    description: "The sink this index writes to; optional when there is one sink.",
  }),
  verify: z.string().min(1).optional().meta({
    description: "Cron schedule: compare with Postgres and repair drift.",
  }),
  reindex: z.string().min(1).optional().meta({
    description: "Cron schedule: rebuild into a new generation.",
  }),
});

/** The whole flusso.toml. */
export const DeploymentShape = z.strictObject({
  on_error: OnError.optional(),
  prefix: z.string().regex(/^[a-z0-9_-]*$/, {
    error: "expected lowercase letters, digits, _ or - (OpenSearch index names are lowercase)",
  }).optional(),
  source: SourceShape.optional(),
  sinks: z.record(z.string(), SinkShape),
  pipeline: PipelineShape.optional(),
  server: ServerShape.optional(),
  index: z.array(IndexShape).min(1),
}).meta({ title: "flusso.toml", description: "flusso deployment configuration." });

/** flusso.toml as written (before defaults and resolution). */
export type DeploymentFile = z.infer<typeof DeploymentShape>;
