/**
 * The lifecycle record of each logical index, one document per index in
 * `<prefix>flusso_meta`: which generation serves reads, which one is being built (and how far
 * its backfill got), and which superseded generations still have to be dropped.
 */
import type { Client } from "@opensearch-project/opensearch";
import { adminCall as call, createIndexIfMissing } from "./index_admin.ts";

/** One generation index. */
export interface GenerationRecord {
  readonly generation: number;
  readonly schemaHash: string;
  /** The concrete index name. */
  readonly name: string;
}

/** Why a generation is being built. */
export type BuildReason = "initial" | "schema_change" | "reindex";

/** A generation being backfilled; it receives live writes but does not serve reads yet. */
export interface BuildingRecord extends GenerationRecord {
  readonly reason: BuildReason;
  readonly startedAt: string;
  /** The last root key the backfill made durable. */
  readonly cursor?: readonly string[];
}

/** The lifecycle record of one logical index. */
export interface IndexRecord {
  readonly index: string;
  /** The seeded generation behind the alias, if any. */
  readonly active?: GenerationRecord & { readonly seededAt: string };
  readonly building?: BuildingRecord;
  /** Superseded generations not yet deleted (a crash between swap and delete leaves them). */
  readonly retired: readonly string[];
  readonly updatedAt: string;
}

/** Reads and writes lifecycle records. */
export interface MetaStore {
  /** Creates the meta index when missing. */
  ensure(): Promise<void>;
  get(index: string): Promise<IndexRecord | undefined>;
  put(record: IndexRecord): Promise<void>;
}

/** The meta index's body: records are kept as source, only a few fields are indexed. */
export const META_INDEX_BODY = {
  settings: { number_of_shards: 1, auto_expand_replicas: "0-1" },
  mappings: {
    dynamic: false,
    properties: { index: { type: "keyword" }, updatedAt: { type: "date" } },
  },
} as const;

/** A meta store over the OpenSearch index `metaIndex`. */
export function createMetaStore(client: Client, metaIndex: string): MetaStore {
  return {
    async ensure() {
      await createIndexIfMissing(client, metaIndex, META_INDEX_BODY);
    },
    async get(index) {
      const response = await call(
        `reading the lifecycle record of ${index}`,
        () => client.get({ index: metaIndex, id: index }, { ignore: [404] }),
      );
      const body = response.body as { found?: boolean; _source?: unknown };
      if (body.found !== true || body._source === undefined) return undefined;
      return parseRecord(index, body._source);
    },
    async put(record) {
      await call(
        `writing the lifecycle record of ${record.index}`,
        () => client.index({ index: metaIndex, id: record.index, body: record as never }),
      );
    },
  };
}

/** Coerces a stored record; missing optional parts become absent, never malformed. */
export function parseRecord(index: string, source: unknown): IndexRecord {
  const s = (typeof source === "object" && source !== null ? source : {}) as Record<
    string,
    unknown
  >;
  return {
    index,
    active: isGeneration(s.active) ? s.active as IndexRecord["active"] : undefined,
    building: isGeneration(s.building) ? s.building as BuildingRecord : undefined,
    retired: Array.isArray(s.retired) ? s.retired.filter((r) => typeof r === "string") : [],
    updatedAt: typeof s.updatedAt === "string" ? s.updatedAt : new Date(0).toISOString(),
  };
}

function isGeneration(value: unknown): value is GenerationRecord {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.generation === "number" && typeof v.schemaHash === "string" &&
    typeof v.name === "string";
}
