/**
 * The pure state transitions of an index's lifecycle record: what `ensure`, `markSeeded` and
 * `startReindex` change, decided without I/O so every case is unit-testable. The executor in
 * lifecycle.ts carries the plans out against OpenSearch.
 */
import type { IndexStatus } from "../engine/ports.ts";
import type { BuildingRecord, BuildReason, IndexRecord } from "./meta_store.ts";
import { generationIndexName } from "./naming.ts";

/** What to do for one index on start. */
export interface EnsurePlan {
  /** The record to store (its `retired` lists indexes to drop once the alias is right). */
  readonly record: IndexRecord;
  /** A generation index to create, when a new one starts. */
  readonly create?: BuildingRecord;
}

/**
 * Plans `ensure` for one index given its stored record (absent on first start; generations
 * whose index is gone already removed by the caller). A building generation of another schema
 * is dropped; when the serving generation is missing or of another schema, a new generation
 * starts, while the old one keeps serving until the new one is seeded.
 */
export function planEnsure(
  current: IndexRecord | undefined,
  definition: { readonly index: string; readonly schemaHash: string },
  prefix: string,
  now: string,
): EnsurePlan {
  const retired = [...(current?.retired ?? [])];
  const active = current?.active;
  let building = current?.building;
  const highest = Math.max(active?.generation ?? 0, building?.generation ?? 0);
  if (building !== undefined && building.schemaHash !== definition.schemaHash) {
    retired.push(building.name);
    building = undefined;
  }
  let create: BuildingRecord | undefined;
  if (building === undefined && active?.schemaHash !== definition.schemaHash) {
    const reason: BuildReason = active === undefined ? "initial" : "schema_change";
    create = newGeneration(definition, prefix, highest + 1, reason, now);
    building = create;
  }
  return {
    record: { index: definition.index, active, building, retired: unique(retired), updatedAt: now },
    create,
  };
}

/**
 * Plans `markSeeded`: the building generation becomes the serving one, the previous serving
 * generation is retired. Returns undefined when nothing is being built (already seeded).
 */
export function planSeeded(current: IndexRecord, now: string): IndexRecord | undefined {
  const building = current.building;
  if (building === undefined) return undefined;
  const retired = [...current.retired];
  if (current.active !== undefined && current.active.name !== building.name) {
    retired.push(current.active.name);
  }
  return {
    index: current.index,
    active: {
      generation: building.generation,
      schemaHash: building.schemaHash,
      name: building.name,
      seededAt: now,
    },
    building: undefined,
    retired: unique(retired),
    updatedAt: now,
  };
}

/**
 * Plans `startReindex`: always a new, empty generation of the current schema. A generation
 * still being built is retired, never reused: a TRUNCATE removes rows without a delete per
 * document, so what that generation already holds may be gone from Postgres, and a backfill
 * from current rows only adds documents (an older-versioned write also loses to what is there).
 */
export function planReindex(
  current: IndexRecord,
  definition: { readonly index: string; readonly schemaHash: string },
  prefix: string,
  now: string,
): EnsurePlan & { readonly create: BuildingRecord } {
  const retired = [...current.retired];
  if (current.building !== undefined) retired.push(current.building.name);
  const generation = Math.max(current.active?.generation ?? 0, current.building?.generation ?? 0) +
    1;
  const create = newGeneration(definition, prefix, generation, "reindex", now);
  return {
    record: { ...current, building: create, retired: unique(retired), updatedAt: now },
    create,
  };
}

/** The record with the backfill cursor of its building generation moved to `key`. */
export function withCursor(
  current: IndexRecord,
  key: readonly string[],
  now: string,
): IndexRecord | undefined {
  if (current.building === undefined) return undefined;
  return { ...current, building: { ...current.building, cursor: [...key] }, updatedAt: now };
}

/**
 * What the engine sees: `seeded` is false while any generation is being built (first seed,
 * schema change or reindex) — the engine then backfills `generation` from `backfillCursor`.
 */
export function statusOf(record: IndexRecord): IndexStatus {
  const building = record.building;
  if (building !== undefined) {
    return {
      index: record.index,
      seeded: false,
      generation: building.generation,
      ...(building.cursor !== undefined ? { backfillCursor: building.cursor } : {}),
    };
  }
  return { index: record.index, seeded: true, generation: record.active?.generation ?? 0 };
}

/**
 * The create-index body of a generation: the definition's body with periodic refresh off
 * (backfill runs without it; `markSeeded` restores the configured interval) and the sink's
 * shard and replica counts where the body names none.
 */
export function generationBody(
  body: Readonly<Record<string, unknown>>,
  defaults: { readonly numberOfShards: number; readonly numberOfReplicas: number },
): Record<string, unknown> {
  const copy = structuredClone(body) as Record<string, unknown>;
  const settings = isRecord(copy.settings) ? copy.settings : {};
  const nested = isRecord(settings.index) ? settings.index : undefined;
  delete settings.refresh_interval;
  delete settings["index.refresh_interval"];
  if (nested !== undefined) delete nested.refresh_interval;
  const has = (key: string) =>
    settings[key] !== undefined || settings[`index.${key}`] !== undefined ||
    nested?.[key] !== undefined;
  if (!has("number_of_shards")) settings.number_of_shards = defaults.numberOfShards;
  if (!has("number_of_replicas")) settings.number_of_replicas = defaults.numberOfReplicas;
  settings.refresh_interval = "-1";
  copy.settings = settings;
  return copy;
}

function newGeneration(
  definition: { readonly index: string; readonly schemaHash: string },
  prefix: string,
  generation: number,
  reason: BuildReason,
  now: string,
): BuildingRecord {
  return {
    generation,
    schemaHash: definition.schemaHash,
    name: generationIndexName(prefix, definition.index, definition.schemaHash, generation),
    reason,
    startedAt: now,
  };
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
