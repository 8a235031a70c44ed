/**
 * The index store: every index's settings, mapping, aliases and documents, plus refresh.
 *
 * Each index keeps the live documents (what realtime GET and writes see) and a separate
 * searchable view (what search, count and delete-by-query see). A refresh publishes only the
 * documents written since the last one, so its cost follows the writes, not the index size (when
 * most of the index was written since, it copies the live documents instead: cheaper per id).
 * Refreshes happen on request, on `refresh=true|wait_for`, and on the `refresh_interval`
 * schedule (ticks since index creation, evaluated when a search looks; `-1` disables it). An
 * index without an explicit interval that saw no search for 30 s is "search idle" and refreshes
 * when searched, as OpenSearch 2.x does.
 */
import { randomBytes } from "node:crypto";
import { type FieldInfo, fieldTable, type MappingDef } from "./mapping.ts";
import { defaultRoutingShards, shardOf } from "./routing.ts";
import { parseTimeValue } from "./settings.ts";
import type { Version } from "./versioning.ts";

/**
 * One stored document version. `raw` is the _source text exactly as it was sent; the parsed
 * form is built on first use (search, filtering, update) and cached, so bulk indexing keeps
 * only strings alive — much cheaper for the garbage collector than object trees.
 */
export class DocRecord {
  private parsed?: Record<string, unknown>;

  constructor(
    readonly id: string,
    readonly raw: string,
    readonly version: Version,
    readonly seqNo: number,
    readonly primaryTerm: number,
    readonly routing: string | undefined,
  ) {}

  /** The parsed _source. */
  get source(): Record<string, unknown> {
    this.parsed ??= JSON.parse(this.raw) as Record<string, unknown>;
    return this.parsed;
  }
}

/** What a delete leaves behind so later external versions still compare against it. */
export interface Tombstone {
  readonly version: Version;
  readonly seqNo: number;
  readonly primaryTerm: number;
}

/** Alias metadata as OpenSearch shows it under `aliases`. */
export interface AliasMeta {
  filter?: Record<string, unknown>;
  index_routing?: string;
  search_routing?: string;
  is_write_index?: boolean;
  is_hidden?: boolean;
}

/** One index. */
export interface IndexState {
  readonly name: string;
  readonly uuid: string;
  readonly createdAt: number;
  settings: Record<string, string>;
  mapping: MappingDef;
  aliases: Map<string, AliasMeta>;
  readonly docs: Map<string, DocRecord>;
  readonly tombstones: Map<string, Tombstone>;
  /**
   * What searches see. A refresh that publishes most of the index makes it `docs` itself, and
   * the next change of `docs` copies it first (see `publish`, `putDoc`, `dropDoc`).
   */
  visible: Map<string, DocRecord>;
  /**
   * Ids written since the last refresh, oldest write first; the value packs the write time and
   * the shard (`at * 1024 + shard`) so a write allocates no object here.
   */
  readonly pending: Map<string, number>;
  nextSeqNo: number;
  lastSearchAt: number;
  waiters: Array<() => void>;
  waitTimer?: ReturnType<typeof setTimeout>;
  fieldsCache?: Map<string, FieldInfo>;
}

const SEARCH_IDLE_MS = 30_000;

/** A 22-character random id in OpenSearch's URL-safe base64 style. */
export function randomUuid(): string {
  return randomBytes(16).toString("base64url").slice(0, 22);
}

/** A new, empty index. `settings` are flat `index.*` keys. */
export function newIndex(
  name: string,
  settings: Record<string, string>,
  mapping: MappingDef,
  now = Date.now(),
): IndexState {
  const uuid = randomUuid();
  return {
    name,
    uuid,
    createdAt: now,
    settings: {
      "index.number_of_shards": "1",
      "index.number_of_replicas": "1",
      ...settings,
      "index.uuid": uuid,
      "index.creation_date": String(now),
      "index.provided_name": name,
      "index.version.created": "136408127",
    },
    mapping,
    aliases: new Map(),
    docs: new Map(),
    tombstones: new Map(),
    visible: new Map(),
    pending: new Map(),
    nextSeqNo: 0,
    lastSearchAt: now,
    waiters: [],
  };
}

/** Primary shard count. */
export function shardCount(index: IndexState): number {
  return Number(index.settings["index.number_of_shards"] ?? "1");
}

/** Replica count. */
export function replicaCount(index: IndexState): number {
  return Number(index.settings["index.number_of_replicas"] ?? "1");
}

/** `_shards` of a write: every copy counts in total, only the primary can succeed on one node. */
export function writeShards(
  index: IndexState,
): { total: number; successful: number; failed: number } {
  return { total: 1 + replicaCount(index), successful: 1, failed: 0 };
}

/** The flat field table of the index's current mapping (cached until the mapping changes). */
export function fields(index: IndexState): Map<string, FieldInfo> {
  index.fieldsCache ??= fieldTable(index.mapping);
  return index.fieldsCache;
}

/** Replaces the mapping and drops derived caches. */
export function setMapping(index: IndexState, mapping: MappingDef): void {
  index.mapping = mapping;
  index.fieldsCache = undefined;
}

/** True when a lookup with `routing` reaches the shard the document was written to. */
export function sameShard(index: IndexState, doc: DocRecord, routing: string | undefined): boolean {
  const shards = shardCount(index);
  if (shards <= 1) return true;
  const routingShards = Number(
    index.settings["index.number_of_routing_shards"] ?? defaultRoutingShards(shards),
  );
  return shardOf(doc.routing ?? doc.id, shards, routingShards) ===
    shardOf(routing ?? doc.id, shards, routingShards);
}

/** The shard a document with this id and routing lives on. */
export function shardFor(index: IndexState, id: string, routing: string | undefined): number {
  const shards = shardCount(index);
  if (shards <= 1) return 0;
  const routingShards = Number(
    index.settings["index.number_of_routing_shards"] ?? defaultRoutingShards(shards),
  );
  return shardOf(routing ?? id, shards, routingShards);
}

/** Stores `doc` as the live document of its id (not yet searchable). */
export function putDoc(index: IndexState, doc: DocRecord): void {
  if (index.visible === index.docs) index.visible = new Map(index.docs);
  index.docs.set(doc.id, doc);
}

/** Removes the live document of `id` (it stays searchable until a refresh). */
export function dropDoc(index: IndexState, id: string): void {
  if (index.visible === index.docs) index.visible = new Map(index.docs);
  index.docs.delete(id);
}

/** Records that `id` changed on `shard`, so the next refresh of that shard publishes it. */
export function markWritten(index: IndexState, id: string, now: number, shard = 0): void {
  index.pending.delete(id);
  index.pending.set(id, now * 1024 + shard);
}

function publishOne(index: IndexState, id: string): void {
  const doc = index.docs.get(id);
  if (doc) index.visible.set(id, doc);
  else index.visible.delete(id);
  index.pending.delete(id);
}

function publish(index: IndexState, upTo: number): void {
  // Every write marks its id pending, so the ids that are not pending are the same in both
  // maps: publishing all of them makes the view the live documents. Sharing the map is cheaper
  // than three lookups per id when most of the index is pending (a bulk load); like a refresh
  // of OpenSearch, which opens the segments already written, it copies nothing. The copy waits
  // for the next write, if any comes.
  if (upTo === Infinity && index.pending.size * 2 >= index.docs.size) {
    index.visible = index.docs;
    index.pending.clear();
    return;
  }
  for (const [id, packed] of index.pending) {
    if (Math.floor(packed / 1024) > upTo) break;
    publishOne(index, id);
  }
}

/**
 * `refresh=true` on a write: OpenSearch refreshes only the shards the write touched, so on a
 * multi-shard index other shards' writes stay invisible.
 */
export function refreshShards(index: IndexState, shards: Set<number>): void {
  if (shardCount(index) <= 1) return refreshNow(index);
  for (const [id, packed] of index.pending) if (shards.has(packed % 1024)) publishOne(index, id);
}

/** Refresh interval in ms (-1: disabled) and whether it was set explicitly. */
export function refreshInterval(index: IndexState): { ms: number; explicit: boolean } {
  const v = index.settings["index.refresh_interval"];
  if (v === undefined) return { ms: 1000, explicit: false };
  return { ms: parseTimeValue(v, "index.refresh_interval"), explicit: true };
}

/** Makes every write so far searchable and releases `refresh=wait_for` waiters. */
export function refreshNow(index: IndexState): void {
  publish(index, Infinity);
  if (index.waitTimer) clearTimeout(index.waitTimer);
  index.waitTimer = undefined;
  const waiters = index.waiters;
  index.waiters = [];
  for (const w of waiters) w();
}

/** The time of the latest scheduled refresh tick at or before `now`. */
function lastTick(index: IndexState, interval: number, now: number): number {
  const step = Math.max(1, interval);
  return index.createdAt + Math.floor((now - index.createdAt) / step) * step;
}

/**
 * The searchable documents as of `now`, applying the scheduled refreshes that happened
 * since the last look (and the search-idle refresh). Marks the index as searched.
 */
export function searchView(index: IndexState, now = Date.now()): Map<string, DocRecord> {
  const { ms, explicit } = refreshInterval(index);
  if (ms >= 0 && index.pending.size > 0) {
    if (!explicit && now - index.lastSearchAt >= SEARCH_IDLE_MS) refreshNow(index);
    else publish(index, lastTick(index, ms, now));
  }
  index.lastSearchAt = now;
  return index.visible;
}

/** Resolves once the index's next refresh made the writes so far searchable (`wait_for`). */
export function waitForRefresh(index: IndexState, now = Date.now()): Promise<void> {
  if (index.pending.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    index.waiters.push(resolve);
    const { ms } = refreshInterval(index);
    if (ms < 0 || index.waitTimer) return; // only an explicit refresh releases it
    const next = lastTick(index, ms, now) + Math.max(1, ms);
    index.waitTimer = setTimeout(() => {
      index.waitTimer = undefined;
      refreshNow(index);
    }, Math.max(0, next - now));
  });
}

/** Every index, by name, with alias lookups. The single source of truth of one emulator. */
export class Cluster {
  readonly indices = new Map<string, IndexState>();
  readonly uuid = randomUuid();

  /** Indices carrying alias `name`, with the alias metadata on each. */
  aliasTargets(name: string): Array<{ index: IndexState; meta: AliasMeta }> {
    const out: Array<{ index: IndexState; meta: AliasMeta }> = [];
    for (const index of this.indices.values()) {
      const meta = index.aliases.get(name);
      if (meta) out.push({ index, meta });
    }
    return out;
  }

  /** True when `name` is an alias of at least one index. */
  isAlias(name: string): boolean {
    for (const index of this.indices.values()) if (index.aliases.has(name)) return true;
    return false;
  }

  /** Every alias name in use. */
  aliasNames(): Set<string> {
    const names = new Set<string>();
    for (const index of this.indices.values()) for (const a of index.aliases.keys()) names.add(a);
    return names;
  }

  /** Refreshes everything (used after a restart: recovery makes every write searchable). */
  refreshAll(): void {
    for (const index of this.indices.values()) refreshNow(index);
  }

  /** Cancels refresh timers and releases waiters (on close). */
  shutdown(): void {
    for (const index of this.indices.values()) refreshNow(index);
  }
}
