/**
 * The fully-resolved, immutable configuration the rest of flusso consumes: the deployment
 * (flusso.toml) and, per index, the document model (its *.schema.yml). Produced only by the
 * loader in this folder, after validation; every other module reads these types.
 */
import type { Secret } from "./secret.ts";

/** What to do with a document OpenSearch rejects for good. */
export type OnError = "stop" | "skip";

/** A schema-qualified table, unquoted (quoting happens where SQL is written). */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

/** Connection to Postgres, normalised from a URL or parts. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: Secret;
  readonly database: string;
  readonly sslmode?: "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
  readonly sslrootcert?: string;
}

/** `[source]`. */
export interface SourceConfig {
  readonly type: "postgres";
  readonly connection: PostgresConnection;
  readonly slot: string;
  readonly publication: string;
  readonly managePublication: boolean;
  /** Interval of `pg_logical_emit_message` heartbeats; 0 disables them. */
  readonly heartbeatMs: number;
}

/** One `[sinks.<name>]`. */
export interface SinkConfig {
  readonly name: string;
  readonly type: "opensearch" | "stdout";
  readonly url: string;
  readonly username?: string;
  readonly password?: Secret;
  readonly tlsVerify: boolean;
  readonly caFile?: string;
  readonly batchSize: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly numberOfShards: number;
  readonly numberOfReplicas: number;
  /** OpenSearch duration string, e.g. "1s". */
  readonly refreshInterval: string;
  /** How writes made while caught up become searchable (`live_refresh`). */
  readonly liveRefresh: LiveRefresh;
}

/** The `live_refresh` modes, in the order the docs list them. */
export const LIVE_REFRESH_MODES = ["immediate", "wait_for", "interval"] as const;

/**
 * When documents written while caught up become searchable: `immediate` asks each such bulk
 * for `refresh=true`, `wait_for` for `refresh=wait_for` (acknowledged after the next scheduled
 * refresh), `interval` for nothing (searchable within `refresh_interval`).
 */
export type LiveRefresh = typeof LIVE_REFRESH_MODES[number];

/** `[pipeline]`. */
export interface PipelineConfig {
  readonly queueCapacity: number;
  readonly queueBytes: number;
  readonly maxChanges: number;
  readonly maxDelayMs: number;
  readonly maxBatchBytes: number;
}

/** `[server]`. */
export interface ServerConfig {
  /** host:port of /healthz /readyz /status /metrics. */
  readonly publicAddress: string;
  /** host:port of the token-protected control surface. */
  readonly privateAddress: string;
  readonly token?: Secret;
}

/** Scalar field types, as written in *.schema.yml. */
export type ScalarType =
  | "text"
  | "identifier"
  | "keyword"
  | "enum"
  | "uuid"
  | "boolean"
  | "short"
  | "integer"
  | "long"
  | "float"
  | "double"
  | "decimal"
  | "date"
  | "timestamp"
  | "binary"
  | "json"
  | "custom";

/** A filter on a table's rows; values are always bound as parameters. */
export type Filter =
  | {
    readonly column: string;
    readonly op:
      | "eq"
      | "neq"
      | "lt"
      | "lte"
      | "gt"
      | "gte"
      | "like"
      | "ilike"
      | "in"
      | "not_in"
      | "between"
      | "is_null"
      | "is_not_null";
    /** A scalar, a list (in, not_in, between) or absent (is_null, is_not_null). */
    readonly value?: FilterValue;
  }
  | { readonly raw: string };

/** A filter operand. */
export type FilterValue =
  | string
  | number
  | boolean
  | null
  | readonly (string | number | boolean | null)[];

/** Ordering of a to-many relation. */
export interface OrderBy {
  readonly column: string;
  readonly direction: "asc" | "desc";
}

/** A junction table for many-to-many relations and aggregates. */
export interface Through {
  readonly table: TableRef;
  /** Column of the junction that references the parent's primary key. */
  readonly leftKey: string;
  /** Column of the junction that references the related table's primary key. */
  readonly rightKey: string;
}

/** A value from one column of the current row. */
export interface ScalarField {
  readonly kind: "scalar";
  readonly name: string;
  readonly type: ScalarType;
  readonly column: string;
  readonly required: boolean;
  readonly default?: unknown;
  readonly transforms: readonly ("lowercase" | "trim")[];
  /** Raw mapping properties merged last. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** enum: rank order of values. */
  readonly variants?: readonly string[];
  /** decimal: scaling factor (→ scaled_float). */
  readonly scale?: number;
  /** custom: the Postgres type expected and the OpenSearch mapping to use. */
  readonly postgres?: string;
  readonly opensearch?: Readonly<Record<string, unknown>>;
}

/** A sub-object built from columns of the same row. */
export interface ObjectField {
  readonly kind: "object";
  readonly name: string;
  readonly fields: readonly Field[];
}

/** A jsonb column with dynamic keys, all of one value type. */
export interface MapField {
  readonly kind: "map";
  readonly name: string;
  readonly column: string;
  readonly valueType: ScalarType;
}

/** A geo_point from `lat` + `lon` columns, or from one column. */
export interface GeoField {
  readonly kind: "geo";
  readonly name: string;
  readonly lat?: string;
  readonly lon?: string;
  readonly column?: string;
}

/** A fixed value. */
export interface ConstantField {
  readonly kind: "constant";
  readonly name: string;
  readonly value: string | number | boolean;
}

/** A join to another table. */
export interface RelationField {
  readonly kind: "belongs_to" | "has_one" | "has_many" | "many_to_many";
  readonly name: string;
  readonly table: TableRef;
  /** The related table's primary key columns. */
  readonly primaryKey: readonly string[];
  /** belongs_to: the columns of the *parent* row that reference `primaryKey`. */
  readonly column?: readonly string[];
  /** has_one / has_many: the columns of the *related* row that reference the parent's key. */
  readonly foreignKey?: readonly string[];
  /** many_to_many. */
  readonly through?: Through;
  readonly filters: readonly Filter[];
  readonly orderBy: readonly OrderBy[];
  readonly limit?: number;
  readonly fields: readonly Field[];
}

/** An aggregate over related rows. */
export interface AggregateField {
  readonly kind: "aggregate";
  readonly name: string;
  readonly fn: "count" | "sum" | "avg" | "min" | "max" | "ids";
  readonly table: TableRef;
  /** The related table's primary key (for `ids`, and to resolve changes). */
  readonly primaryKey: readonly string[];
  /** The aggregated column (sum, avg, min, max). */
  readonly column?: string;
  readonly valueType?: ScalarType;
  /** Columns of the related row that reference the parent's key (or use `through`). */
  readonly foreignKey?: readonly string[];
  readonly through?: Through;
  readonly filters: readonly Filter[];
}

/** Any field of a document. */
export type Field =
  | ScalarField
  | ObjectField
  | MapField
  | GeoField
  | ConstantField
  | RelationField
  | AggregateField;

/** A *.schema.yml: what one index's documents look like. */
export interface DocumentModel {
  /** The schema file, for messages. */
  readonly file: string;
  readonly table: TableRef;
  readonly primaryKey: readonly string[];
  readonly softDelete?: { readonly column: string };
  readonly filters: readonly Filter[];
  readonly fields: readonly Field[];
}

/** One `[[index]]` with its document model. */
export interface IndexConfig {
  /** Lowercase identifier; the stable identity of the index. */
  readonly name: string;
  readonly enabled: boolean;
  readonly onError: OnError;
  /** The sink the index writes to (the only sink when there is one). */
  readonly sink: string;
  /** Cron expressions, validated. */
  readonly verify?: string;
  readonly reindex?: string;
  readonly model: DocumentModel;
}

/** The whole configuration. */
export interface Config {
  /** Path of the flusso.toml it came from. */
  readonly file: string;
  readonly onError: OnError;
  readonly prefix: string;
  readonly source: SourceConfig;
  readonly sinks: readonly SinkConfig[];
  readonly pipeline: PipelineConfig;
  readonly server: ServerConfig;
  readonly indexes: readonly IndexConfig[];
}
