/**
 * In-memory ports for engine tests: a scripted `ChangeSource`, a `DocumentBuilder` over a
 * map of rows, and a `Sink` that applies external versioning like OpenSearch. Each records
 * what it was asked (confirms, writes, builds) and has knobs for the failures the engine
 * must survive: rejections, transient errors, a crash before or after a flush, a gate that
 * holds writes. A shared `timeline` orders source and sink calls for ordering invariants.
 */
import type { Change, Lsn, SourceEvent } from "../../src/engine/change.ts";
import {
  type BuiltDocument,
  type ChangeSource,
  type DocKey,
  type DocumentBuilder,
  type IndexDefinition,
  type IndexStatus,
  type Rejection,
  type Resolution,
  type Sink,
  type SinkWrite,
  type SourceStart,
  TransientSinkError,
  TransientSourceError,
} from "../../src/engine/ports.ts";
import type { EngineEvent, Observer } from "../../src/engine/observer.ts";

/** Thrown by the memory ports to simulate the process dying at that point. */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = "SimulatedCrash";
  }
}

/** An ordered record of calls across ports: `write:<lsn>:<ids>` and `confirm:<lsn>`. */
export type Timeline = string[];

/** Documents as rows: index → key text → document body. */
export type MemoryRows = Map<
  string,
  Map<string, { key: DocKey; document: Record<string, unknown> }>
>;

/** A key as text, for maps. */
export function keyText(key: DocKey): string {
  return key.join("\u0000");
}

/** Creates empty rows for `indexes`. */
export function memoryRows(...indexes: string[]): MemoryRows {
  return new Map(indexes.map((i) => [i, new Map()]));
}

/** Sets (or with `document` null, removes) the row behind `index`/`id`. */
export function setRow(
  rows: MemoryRows,
  index: string,
  id: string,
  document: Record<string, unknown> | null,
): void {
  const table = rows.get(index) ?? new Map();
  rows.set(index, table);
  if (document === null) table.delete(id);
  else table.set(id, { key: [id], document });
}

/** A change to row `id` of `table` (column `id`, or `column` for a related table). */
export function change(
  table: string,
  id: string,
  lsn: Lsn,
  options: { op?: Change["op"]; column?: string; size?: number } = {},
): Change {
  const op = options.op ?? "update";
  const row = { [options.column ?? "id"]: id };
  return {
    op,
    table: { schema: "public", name: table },
    new: op === "delete" || op === "truncate" ? undefined : row,
    old: op === "delete" ? row : undefined,
    lsn,
    size: options.size ?? 100,
  };
}

// ---------------------------------------------------------------------------------------
// Source

/** Knobs of the memory source. */
export interface MemorySourceOptions {
  /** Keep `events()` open after the log, waiting for appends, until aborted. */
  follow?: boolean;
  /** What `open()` reports. */
  slotCreated?: boolean;
  startLsn?: Lsn;
  /** Offer an exported snapshot with this name. */
  snapshot?: string;
  /** `events()` throws `TransientSourceError` once after this many events. */
  transientAfterEvents?: number;
  timeline?: Timeline;
}

/** A scripted change source with a confirmed position, like a slot. */
export interface MemorySource extends ChangeSource {
  /** Appends one committed transaction; its changes take `lsn` as commit LSN. */
  commit(lsn: Lsn, changes: readonly Change[], commitTime?: Date): void;
  /** Every `confirm` call, in order. */
  readonly confirms: Lsn[];
  /** The slot's confirmed position (survives "restarts": reuse the object). */
  readonly confirmedLsn: Lsn;
  /** Events handed to the engine so far. */
  readonly pulled: number;
  readonly snapshotReleased: boolean;
  readonly closed: boolean;
}

/** Creates a memory source. */
export function memorySource(options: MemorySourceOptions = {}): MemorySource {
  const log: { lsn: Lsn; events: SourceEvent[] }[] = [];
  const confirms: Lsn[] = [];
  let confirmed = options.startLsn ?? 0n;
  let pulled = 0;
  let snapshotReleased = false;
  let closed = false;
  let transientPending = options.transientAfterEvents !== undefined;
  let wake: (() => void) | undefined;

  return {
    confirms,
    get confirmedLsn() {
      return confirmed;
    },
    get pulled() {
      return pulled;
    },
    get snapshotReleased() {
      return snapshotReleased;
    },
    get closed() {
      return closed;
    },
    commit(lsn, changes, commitTime = new Date(0)) {
      const events: SourceEvent[] = changes.map((c) => ({
        kind: "change",
        change: { ...c, lsn },
      }));
      events.push({ kind: "commit", lsn, commitTime });
      log.push({ lsn, events });
      wake?.();
    },
    open(): Promise<SourceStart> {
      closed = false;
      const name = options.snapshot;
      return Promise.resolve({
        slotCreated: options.slotCreated ?? false,
        startLsn: confirmed,
        snapshot: name === undefined ? undefined : {
          name,
          release() {
            snapshotReleased = true;
            return Promise.resolve();
          },
        },
      });
    },
    async *events(signal: AbortSignal) {
      // Like a slot: everything after the confirmed position, then (follow) what arrives.
      const from = confirmed;
      let next = log.findIndex((t) => t.lsn > from);
      if (next < 0) next = log.length;
      for (;;) {
        // One run per transaction, as the Postgres source hands out a small one.
        while (next < log.length) {
          if (signal.aborted) return;
          const events = log[next].events;
          if (transientPending && pulled + events.length > options.transientAfterEvents!) {
            // The events before the failure still arrive, as a shorter run.
            const before = options.transientAfterEvents! - pulled;
            if (before > 0) {
              pulled += before;
              yield events.slice(0, before);
            }
            transientPending = false;
            throw new TransientSourceError("connection lost (simulated)");
          }
          pulled += events.length;
          yield events.slice();
          next++;
        }
        if (!options.follow || signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
        wake = undefined;
      }
    },
    confirm(lsn) {
      confirms.push(lsn);
      options.timeline?.push(`confirm:${lsn}`);
      if (lsn > confirmed) confirmed = lsn;
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Builder

/** How a table's changes map to an index: the key column of the row in that table. */
export interface Route {
  readonly index: string;
  readonly column: string;
}

/** Knobs of the memory builder. */
export interface MemoryBuilderOptions {
  /** table name → route; a table without a route maps to the index of its name, column id. */
  routes?: Record<string, Route>;
  /** `build` throws `TransientSourceError` this many times first. */
  transientBuilds?: number;
  /** Offer `buildPage` (pages after the first are built from a key range). */
  pages?: boolean;
  /** With `pages`, also offer `pageBounds` (several range pages read at once). */
  bounds?: boolean;
  /**
   * Report root-row deletes as `Resolution.gone` (a table whose route column is `id` is an
   * index's root) and offer `absent`, like the Postgres builder.
   */
  gone?: boolean;
}

/** One `scanKeys`, `buildPage` (`page`) or `pageBounds` (`bounds`) call. */
export interface ScanRecord {
  readonly index: string;
  readonly after?: DocKey;
  readonly through?: DocKey;
  readonly snapshot?: string;
  readonly page?: boolean;
  readonly bounds?: boolean;
}

/** A builder over `rows` that records every key it builds. */
export interface MemoryBuilder extends DocumentBuilder {
  /** One entry per built key: `index/key`. */
  readonly built: string[];
  /** One entry per key written as a delete without a build (`absent`): `index/key`. */
  readonly absentKeys: string[];
  readonly resolveCalls: number;
  /** Every `scanKeys` (and `buildPage`) call's options. */
  readonly scans: ScanRecord[];
}

/** Creates a memory builder reading `rows`. */
export function memoryBuilder(rows: MemoryRows, options: MemoryBuilderOptions = {}): MemoryBuilder {
  const built: string[] = [];
  const absentKeys: string[] = [];
  let resolveCalls = 0;
  const scans: ScanRecord[] = [];
  const sortedKeys = (index: string) =>
    [...(rows.get(index)?.values() ?? [])].map((r) => r.key)
      .sort((a, b) => keyText(a) < keyText(b) ? -1 : keyText(a) > keyText(b) ? 1 : 0);
  let transient = options.transientBuilds ?? 0;
  const routeOf = (table: string): Route =>
    options.routes?.[table] ?? { index: table, column: "id" };
  return {
    built,
    absentKeys,
    scans,
    get resolveCalls() {
      return resolveCalls;
    },
    resolve(changes): Promise<Resolution> {
      resolveCalls++;
      const keys = new Map<string, Map<string, DocKey>>();
      const gone = new Map<string, Map<string, DocKey>>();
      const truncated = new Set<string>();
      for (const c of changes) {
        const route = routeOf(c.table.name);
        if (c.op === "truncate") {
          truncated.add(route.index);
          continue;
        }
        if (options.gone && route.column === "id") {
          const perIndex = gone.get(route.index) ?? new Map<string, DocKey>();
          gone.set(route.index, perIndex);
          const id = (c.new ?? c.old)?.id;
          if (id !== undefined && id !== null) {
            if (c.op === "delete") perIndex.set(id, [id]);
            else perIndex.delete(id);
          }
        }
        for (const row of [c.new, c.old]) {
          const value = row?.[route.column];
          if (value === undefined || value === null) continue;
          const perIndex = keys.get(route.index) ?? new Map();
          keys.set(route.index, perIndex);
          perIndex.set(value, [value]);
        }
      }
      return Promise.resolve({
        keys: new Map([...keys].map(([index, m]) => [index, [...m.values()]])),
        truncated,
        ...(options.gone
          ? { gone: new Map([...gone].map(([index, m]) => [index, [...m.values()]])) }
          : {}),
      });
    },
    ...(options.gone
      ? {
        absent(index: string, keys: readonly DocKey[]): BuiltDocument[] {
          return keys.map((key) => {
            absentKeys.push(`${index}/${keyText(key)}`);
            return { index, key, id: keyText(key), document: null };
          });
        },
      }
      : {}),
    build(index, keys): Promise<BuiltDocument[]> {
      if (transient > 0) {
        transient--;
        return Promise.reject(new TransientSourceError("postgres restarting (simulated)"));
      }
      return Promise.resolve(keys.map((key) => {
        built.push(`${index}/${keyText(key)}`);
        const row = rows.get(index)?.get(keyText(key));
        return { index, key, id: keyText(key), document: row ? { ...row.document } : null };
      }));
    },
    scanKeys(index, { after, limit, snapshot }): Promise<DocKey[]> {
      scans.push({ index, after, snapshot });
      const all = sortedKeys(index);
      const from = after === undefined ? all : all.filter((k) => keyText(k) > keyText(after));
      return Promise.resolve(from.slice(0, limit));
    },
    ...(options.pages
      ? {
        buildPage(index: string, { after, limit, through, snapshot }: {
          after: DocKey;
          limit: number;
          through?: DocKey;
          snapshot?: string;
        }) {
          scans.push({ index, after, snapshot, page: true, ...(through ? { through } : {}) });
          const later = sortedKeys(index).filter((k) => keyText(k) > keyText(after));
          const keys = through === undefined
            ? later.slice(0, limit)
            : later.filter((k) => keyText(k) <= keyText(through));
          const documents: BuiltDocument[] = keys.map((key) => {
            built.push(`${index}/${keyText(key)}`);
            const row = rows.get(index)!.get(keyText(key))!;
            return { index, key, id: keyText(key), document: { ...row.document } };
          });
          return Promise.resolve({ keys, documents });
        },
        ...(options.bounds
          ? {
            pageBounds(index: string, { after, limit, pages, snapshot }: {
              after: DocKey;
              limit: number;
              pages: number;
              snapshot?: string;
            }) {
              scans.push({ index, after, snapshot, bounds: true });
              const later = sortedKeys(index).filter((k) => keyText(k) > keyText(after));
              const bounds: DocKey[] = [];
              for (let n = limit; n <= later.length && bounds.length < pages; n += limit) {
                bounds.push(later[n - 1]);
              }
              return Promise.resolve(bounds);
            },
          }
          : {}),
      }
      : {}),
    estimateRows(index) {
      return Promise.resolve(rows.get(index)?.size ?? 0);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Sink

/** A stored document with its external version; a delete leaves a versioned tombstone. */
export interface StoredDocument {
  readonly version: Lsn;
  readonly document: Readonly<Record<string, unknown>> | null;
}

/** One index in the memory sink. */
export interface MemoryIndex {
  generation: number;
  seeded: boolean;
  cursor?: DocKey;
  docs: Map<string, StoredDocument>;
}

/** Knobs of the memory sink (mutable between runs). */
export interface MemorySinkOptions {
  /** Initial state per index; missing indexes are created unseeded by `ensure`. */
  indexes?: Record<string, { seeded: boolean; generation?: number; cursor?: DocKey }>;
  /** Refuses a write for good when this returns a reason. */
  reject?: (write: SinkWrite) => { type: string; reason: string } | undefined;
  /** The next this-many `write` calls throw `TransientSinkError`. */
  transientWrites?: number;
  /** The n-th `write` call (1-based) crashes before applying anything. */
  crashBeforeWrite?: number;
  /** The n-th `write` call (1-based) applies its writes, then crashes before returning. */
  crashAfterWrite?: number;
  /** Every `write` waits for this before doing anything. */
  gate?: Promise<void>;
  /** The n-th `write` call (1-based) waits for what this returns before doing anything. */
  gateOf?: (call: number) => Promise<void> | undefined;
  timeline?: Timeline;
}

/** The memory sink, with what it recorded. */
export interface MemorySink extends Sink {
  readonly options: MemorySinkOptions;
  readonly indexes: Map<string, MemoryIndex>;
  /** Successful `write` calls, in order. */
  readonly writes: { writes: readonly SinkWrite[]; caughtUp: boolean }[];
  /** Every `write` call started, including failed ones. */
  readonly writeCalls: number;
  readonly quarantined: Rejection[];
  readonly seeded: string[];
  readonly reindexed: string[];
  /** Current documents of `index` (tombstones left out). */
  documents(index: string): Map<string, Readonly<Record<string, unknown>>>;
}

/** Creates a memory sink. */
export function memorySink(options: MemorySinkOptions = {}): MemorySink {
  const indexes = new Map<string, MemoryIndex>();
  for (const [name, s] of Object.entries(options.indexes ?? {})) {
    indexes.set(name, {
      generation: s.generation ?? 1,
      seeded: s.seeded,
      cursor: s.cursor,
      docs: new Map(),
    });
  }
  const writes: { writes: readonly SinkWrite[]; caughtUp: boolean }[] = [];
  const quarantined: Rejection[] = [];
  const seeded: string[] = [];
  const reindexed: string[] = [];
  let writeCalls = 0;
  const indexOf = (name: string) => {
    const index = indexes.get(name);
    if (!index) throw new Error(`memory sink: unknown index ${name}`);
    return index;
  };

  return {
    options,
    indexes,
    writes,
    get writeCalls() {
      return writeCalls;
    },
    quarantined,
    seeded,
    reindexed,
    documents(name) {
      const out = new Map<string, Readonly<Record<string, unknown>>>();
      for (const [id, d] of indexes.get(name)?.docs ?? []) if (d.document) out.set(id, d.document);
      return out;
    },
    ensure(definitions: readonly IndexDefinition[]): Promise<IndexStatus[]> {
      return Promise.resolve(definitions.map(({ index }) => {
        const state: MemoryIndex = indexes.get(index) ??
          { generation: 1, seeded: false, docs: new Map() };
        indexes.set(index, state);
        return {
          index,
          seeded: state.seeded,
          generation: state.generation,
          backfillCursor: state.cursor,
        };
      }));
    },
    async write(batch, { caughtUp }) {
      const call = ++writeCalls;
      if (options.gate) await options.gate;
      const own = options.gateOf?.(call);
      if (own) await own;
      if (options.crashBeforeWrite === call) throw new SimulatedCrash(`before write ${call}`);
      if ((options.transientWrites ?? 0) > 0) {
        options.transientWrites!--;
        throw new TransientSinkError("429 too many requests (simulated)");
      }
      const rejections: Rejection[] = [];
      for (const w of batch) {
        const refusal = options.reject?.(w);
        if (refusal) {
          rejections.push({ write: w, ...refusal });
          continue;
        }
        const docs = indexOf(w.index).docs;
        const current = docs.get(w.id);
        // external_gte: an older version loses (a conflict, which the sink treats as done).
        if (!current || w.version >= current.version) {
          docs.set(w.id, { version: w.version, document: w.document });
        }
      }
      writes.push({ writes: batch, caughtUp });
      options.timeline?.push(
        `write:${batch.map((w) => `${w.index}/${w.id}@${w.version}`).join(",")}`,
      );
      if (options.crashAfterWrite === call) throw new SimulatedCrash(`after write ${call}`);
      return rejections;
    },
    quarantine(rejections) {
      quarantined.push(...rejections);
      return Promise.resolve();
    },
    saveBackfillCursor(index, key) {
      indexOf(index).cursor = key;
      options.timeline?.push(`cursor:${index}/${key.join(",")}`);
      return Promise.resolve();
    },
    markSeeded(index) {
      const state = indexOf(index);
      state.seeded = true;
      state.cursor = undefined;
      seeded.push(index);
      return Promise.resolve();
    },
    startReindex(index) {
      const state = indexOf(index);
      indexes.set(index, {
        generation: state.generation + 1,
        seeded: false,
        docs: new Map(),
      });
      reindexed.push(index);
      return Promise.resolve();
    },
    close() {
      return Promise.resolve();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Observer

/** An observer that keeps every event. */
export interface RecordingObserver extends Observer {
  readonly events: EngineEvent[];
  /** Events of one type, typed. */
  of<T extends EngineEvent["type"]>(type: T): Extract<EngineEvent, { type: T }>[];
}

/** Creates a recording observer. */
export function recordingObserver(): RecordingObserver {
  const events: EngineEvent[] = [];
  return {
    events,
    emit(event) {
      events.push(event);
    },
    of<T extends EngineEvent["type"]>(type: T) {
      return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Time

/** A clock whose sleeps end at the next macrotask, recording what was asked. */
export interface FastClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
  readonly sleeps: number[];
}

/** Creates a fast clock: backoff and delays without waiting. */
export function fastClock(): FastClock {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve(false);
        setTimeout(() => resolve(!signal?.aborted), 0);
      });
    },
  };
}

/** Lets the event loop run until `predicate` holds (no time limit in ms; a turn limit). */
export async function eventually(predicate: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2000; turn++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never happened: ${what}`);
}

/** Lets the event loop run `turns` macrotask turns. */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
