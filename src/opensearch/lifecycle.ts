/**
 * Carries out the index lifecycle against OpenSearch: generations behind an alias, created
 * with refresh off, seeded, swapped in atomically and dropped once superseded. Keeps the
 * lifecycle record of every ensured index in memory so writes know their targets.
 */
import type { Client } from "@opensearch-project/opensearch";
import type { DocKey, IndexDefinition, IndexStatus } from "../engine/ports.ts";
import type { Logger } from "../ops/logger.ts";
import { LifecycleError, UnknownIndexError } from "./errors.ts";
import {
  createIndexIfMissing,
  deleteIndexIfExists,
  indexExists,
  pointAlias,
  refreshIndex,
  setRefreshInterval,
} from "./index_admin.ts";
import {
  generationBody,
  planEnsure,
  planReindex,
  planSeeded,
  statusOf,
  withCursor,
} from "./lifecycle_plan.ts";
import type { BuildingRecord, IndexRecord, MetaStore } from "./meta_store.ts";
import { aliasName } from "./naming.ts";

/** One concrete index a write goes to. */
export interface WriteTarget {
  readonly name: string;
  /** True for the generation behind the alias (visibility matters there). */
  readonly serving: boolean;
  /** True when its schema is the current definition's (its rejections are authoritative). */
  readonly current: boolean;
}

/** Sink-level settings the lifecycle applies to generations. */
export interface LifecycleSettings {
  readonly prefix: string;
  /** Restored on a generation when it is seeded. */
  readonly refreshInterval: string;
  readonly numberOfShards: number;
  readonly numberOfReplicas: number;
}

/** The lifecycle of every index the sink serves. */
export interface Lifecycle {
  ensure(definitions: readonly IndexDefinition[]): Promise<IndexStatus[]>;
  markSeeded(index: string): Promise<void>;
  startReindex(index: string): Promise<void>;
  saveBackfillCursor(index: string, key: DocKey): Promise<void>;
  /** Where a write to `index` goes: the serving generation and the one being built. */
  targets(index: string): WriteTarget[];
  /** The current record of an ensured index. */
  record(index: string): IndexRecord;
}

/** A lifecycle executor over `client`, keeping records in `meta`. */
export function createLifecycle(options: {
  readonly client: Client;
  readonly meta: MetaStore;
  readonly settings: LifecycleSettings;
  readonly logger: Logger;
  readonly now?: () => Date;
}): Lifecycle {
  const { client, meta, settings, logger } = options;
  const now = () => (options.now?.() ?? new Date()).toISOString();
  const known = new Map<string, { definition: IndexDefinition; record: IndexRecord }>();

  const entry = (index: string) => {
    const found = known.get(index);
    if (found === undefined) throw new UnknownIndexError(index, [...known.keys()]);
    return found;
  };

  const createGeneration = async (definition: IndexDefinition, building: BuildingRecord) => {
    const created = await createIndexIfMissing(
      client,
      building.name,
      generationBody(definition.body, settings),
    );
    logger.info(created ? "created generation" : "reusing generation", {
      index: definition.index,
      generation: building.generation,
      target: building.name,
      reason: building.reason,
    });
  };

  /** Drops retired generations (never while the alias may still point at them) and forgets them. */
  const dropRetired = async (record: IndexRecord): Promise<IndexRecord> => {
    if (record.retired.length === 0) return record;
    for (const name of record.retired) {
      if (name === record.active?.name || name === record.building?.name) continue;
      await deleteIndexIfExists(client, name);
      logger.info("dropped superseded generation", { index: record.index, target: name });
    }
    const cleaned = { ...record, retired: [], updatedAt: now() };
    await meta.put(cleaned);
    return cleaned;
  };

  const ensureOne = async (definition: IndexDefinition): Promise<IndexStatus> => {
    let stored = await meta.get(definition.index);
    if (stored?.active !== undefined && !(await indexExists(client, stored.active.name))) {
      logger.warn("serving generation is missing; rebuilding", {
        index: definition.index,
        target: stored.active.name,
      });
      stored = { ...stored, active: undefined };
    }
    if (stored?.building !== undefined && !(await indexExists(client, stored.building.name))) {
      stored = { ...stored, building: undefined };
    }
    const plan = planEnsure(stored, definition, settings.prefix, now());
    if (plan.create !== undefined) await createGeneration(definition, plan.create);
    // The alias must be right before any retired generation is dropped.
    if (plan.record.active !== undefined) {
      await pointAlias(
        client,
        aliasName(settings.prefix, definition.index),
        plan.record.active.name,
      );
    }
    await meta.put(plan.record);
    const record = await dropRetired(plan.record);
    known.set(definition.index, { definition, record });
    return statusOf(record);
  };

  return {
    async ensure(definitions) {
      const statuses: IndexStatus[] = [];
      for (const definition of definitions) statuses.push(await ensureOne(definition));
      return statuses;
    },

    async markSeeded(index) {
      const { definition, record } = entry(index);
      const seeded = planSeeded(record, now());
      if (seeded === undefined) {
        if (record.active !== undefined) return;
        throw new LifecycleError(index, "markSeeded: no generation is being built");
      }
      const building = record.building as BuildingRecord;
      await refreshIndex(client, building.name);
      await setRefreshInterval(client, building.name, settings.refreshInterval);
      // Record first: a crash after this point is finished by the next ensure (alias, drops).
      await meta.put(seeded);
      known.set(index, { definition, record: seeded });
      await pointAlias(client, aliasName(settings.prefix, index), building.name);
      logger.info("generation seeded and serving", {
        index,
        generation: building.generation,
        target: building.name,
      });
      known.set(index, { definition, record: await dropRetired(seeded) });
    },

    async startReindex(index) {
      const { definition, record } = entry(index);
      const plan = planReindex(record, definition, settings.prefix, now());
      if (record.building !== undefined) {
        logger.info("discarding the generation being built", {
          index,
          generation: record.building.generation,
          target: record.building.name,
        });
      }
      await createGeneration(definition, plan.create);
      await meta.put(plan.record);
      known.set(index, { definition, record: plan.record });
      // The sink holds its write lock exclusively here: no write can still target the old one.
      known.set(index, { definition, record: await dropRetired(plan.record) });
    },

    async saveBackfillCursor(index, key) {
      const { definition, record } = entry(index);
      const next = withCursor(record, key, now());
      if (next === undefined) {
        throw new LifecycleError(index, "saveBackfillCursor: no generation is being built");
      }
      await meta.put(next);
      known.set(index, { definition, record: next });
    },

    targets(index) {
      const { definition, record } = entry(index);
      const targets: WriteTarget[] = [];
      if (record.active !== undefined) {
        targets.push({
          name: record.active.name,
          serving: true,
          current: record.active.schemaHash === definition.schemaHash,
        });
      }
      if (record.building !== undefined) {
        targets.push({
          name: record.building.name,
          serving: false,
          current: record.building.schemaHash === definition.schemaHash,
        });
      }
      return targets;
    },

    record(index) {
      return entry(index).record;
    },
  };
}
