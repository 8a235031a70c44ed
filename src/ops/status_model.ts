/**
 * The `/status` document, derived only from engine events (plus slot-lag samples and the
 * schedules' own listing): a pure reducer `reduceStatus(state, event, at)` and a renderer
 * `renderStatus(state, now)`. `createStatusModel` wraps both as an `Observer` for the wiring.
 * Nothing secret enters the state: error messages pass through `redactText`.
 */
import { formatLsn, type Lsn } from "../engine/change.ts";
import type { EngineEvent, EnginePhase, Observer } from "../engine/observer.ts";
import { redactText } from "./redact.ts";
import type { ScheduleState } from "./schedules.ts";

/** What an operator sees as the service's phase. */
export type StatusPhase = "starting" | "backfilling" | "live" | "stopping" | "stopped" | "failed";

/** An index's state. */
export type IndexState = "pending" | "backfilling" | "reindexing" | "live";

/** A slot-lag sample; `SlotLag` from src/postgres/slot_lag.ts fits structurally. */
export interface SlotSample {
  readonly exists: boolean;
  readonly lagBytes: number;
  readonly walStatus: string | null;
  readonly safeWalSize: number | null;
  readonly active: boolean;
  readonly confirmedFlushLsn: Lsn | null;
  readonly sampledAt: Date;
}

/** Per-index facts held by the reducer. */
export interface IndexFacts {
  readonly state: IndexState;
  readonly generation: number;
  readonly seeded: boolean;
  readonly documents: number;
  readonly quarantined: number;
  readonly backfill?: {
    readonly rowsDone: number;
    readonly estimatedRows: number;
    readonly resumed: boolean;
    readonly startedAt: string;
    readonly finishedAt?: string;
    readonly durationMs?: number;
  };
}

/** The last error seen, already redacted. */
export interface LastError {
  readonly at: string;
  readonly kind: "transient" | "fatal";
  readonly component?: string;
  readonly operation?: string;
  readonly name: string;
  readonly message: string;
  readonly attempt?: number;
}

/** Everything the reducer remembers. Immutable: each event yields a new state. */
export interface StatusState {
  readonly startedAt: string;
  readonly enginePhase: EnginePhase;
  readonly indexes: Readonly<Record<string, IndexFacts>>;
  readonly counters: {
    readonly changesCaptured: number;
    readonly bytesCaptured: number;
    readonly changesCommitted: number;
    readonly transactions: number;
    readonly batches: number;
    readonly documents: number;
    readonly upserts: number;
    readonly deletes: number;
    readonly quarantined: number;
    readonly transientErrors: number;
  };
  readonly startLsn?: Lsn;
  readonly slotCreated?: boolean;
  readonly confirmedLsn?: Lsn;
  readonly lastFlushAt?: string;
  readonly lastLatencyMs?: number;
  readonly batchLimit?: number;
  readonly queue: {
    readonly depth: number;
    readonly bytes: number;
    readonly capacity: number;
    readonly capacityBytes: number;
  };
  readonly slot?: SlotSample;
  readonly lastError?: LastError;
}

/** The initial state at process start. */
export function initialStatus(startedAt: Date): StatusState {
  return {
    startedAt: startedAt.toISOString(),
    enginePhase: "starting",
    indexes: {},
    counters: {
      changesCaptured: 0,
      bytesCaptured: 0,
      changesCommitted: 0,
      transactions: 0,
      batches: 0,
      documents: 0,
      upserts: 0,
      deletes: 0,
      quarantined: 0,
      transientErrors: 0,
    },
    queue: { depth: 0, bytes: 0, capacity: 0, capacityBytes: 0 },
  };
}

/** Applies one engine event observed at `at`. Pure. */
export function reduceStatus(state: StatusState, event: EngineEvent, at: Date): StatusState {
  const iso = at.toISOString();
  const index = (name: string, fn: (facts: IndexFacts) => IndexFacts): StatusState => {
    const facts = state.indexes[name] ??
      { state: "pending", generation: 0, seeded: false, documents: 0, quarantined: 0 };
    return { ...state, indexes: { ...state.indexes, [name]: fn(facts) } };
  };
  switch (event.type) {
    case "phase":
      return { ...state, enginePhase: event.phase };
    case "indexes_ensured": {
      const indexes: Record<string, IndexFacts> = { ...state.indexes };
      for (const i of event.indexes) {
        const previous = indexes[i.index];
        indexes[i.index] = {
          state: i.seeded ? "live" : "pending",
          generation: i.generation,
          seeded: i.seeded,
          documents: previous?.documents ?? 0,
          quarantined: previous?.quarantined ?? 0,
        };
      }
      return { ...state, indexes };
    }
    case "backfill_started":
      return index(event.index, (f) => ({
        ...f,
        state: f.state === "reindexing" ? "reindexing" : "backfilling",
        backfill: {
          rowsDone: 0,
          estimatedRows: event.estimatedRows,
          resumed: event.resumed,
          startedAt: iso,
        },
      }));
    case "backfill_progress":
      return index(event.index, (f) => ({
        ...f,
        backfill: {
          resumed: false,
          startedAt: iso,
          ...f.backfill,
          rowsDone: event.rowsDone,
          estimatedRows: event.estimatedRows,
        },
      }));
    case "backfill_finished":
      return index(event.index, (f) => ({
        ...f,
        state: "live",
        seeded: true,
        // A reindex serves a new generation once its backfill is done.
        generation: f.state === "reindexing" ? f.generation + 1 : f.generation,
        backfill: {
          resumed: false,
          estimatedRows: event.rows,
          startedAt: new Date(at.getTime() - event.durationMs).toISOString(),
          ...f.backfill,
          rowsDone: event.rows,
          finishedAt: iso,
          durationMs: event.durationMs,
        },
      }));
    case "reindex_started":
      return index(event.index, (f) => ({ ...f, state: "reindexing" }));
    case "live_started":
      return { ...state, startLsn: event.startLsn, slotCreated: event.slotCreated };
    case "changes_captured":
      return {
        ...state,
        counters: {
          ...state.counters,
          changesCaptured: state.counters.changesCaptured + event.count,
          bytesCaptured: state.counters.bytesCaptured + event.bytes,
        },
      };
    case "queue":
      return {
        ...state,
        queue: {
          depth: event.depth,
          bytes: event.bytes,
          capacity: event.capacity,
          capacityBytes: event.capacityBytes,
        },
      };
    case "batch_committed": {
      const indexes: Record<string, IndexFacts> = { ...state.indexes };
      let documents = 0;
      for (const [name, count] of Object.entries(event.documents)) {
        documents += count;
        const facts = indexes[name] ??
          { state: "pending", generation: 0, seeded: false, documents: 0, quarantined: 0 };
        indexes[name] = { ...facts, documents: facts.documents + count };
      }
      const c = state.counters;
      return {
        ...state,
        indexes,
        counters: {
          ...c,
          changesCommitted: c.changesCommitted + event.changes,
          transactions: c.transactions + event.transactions,
          batches: c.batches + 1,
          documents: c.documents + documents,
          upserts: c.upserts + event.upserts,
          deletes: c.deletes + event.deletes,
        },
        lastFlushAt: iso,
        lastLatencyMs: event.latencyMs ?? state.lastLatencyMs,
        confirmedLsn: event.confirmedLsn ?? state.confirmedLsn,
        batchLimit: event.batchLimit,
      };
    }
    case "batch_held":
      // Counted when the batch that writes its keys commits.
      return state;
    case "batch_limit":
      return { ...state, batchLimit: event.limit };
    case "document_quarantined": {
      const next = index(event.index, (f) => ({ ...f, quarantined: f.quarantined + 1 }));
      return {
        ...next,
        counters: { ...next.counters, quarantined: next.counters.quarantined + 1 },
      };
    }
    case "transient_error":
      return {
        ...state,
        counters: { ...state.counters, transientErrors: state.counters.transientErrors + 1 },
        lastError: {
          at: iso,
          kind: "transient",
          component: event.component,
          operation: event.operation,
          name: event.error.name,
          message: redactText(event.error.message),
          attempt: event.attempt,
        },
      };
    case "fatal_error":
      return {
        ...state,
        lastError: {
          at: iso,
          kind: "fatal",
          name: event.error.name,
          message: redactText(event.error.message),
        },
      };
  }
}

/** The operator's phase: "streaming" splits into backfilling and live. */
export function statusPhase(state: StatusState): StatusPhase {
  if (state.enginePhase !== "streaming") return state.enginePhase;
  const busy = Object.values(state.indexes).some((i) =>
    i.state === "backfilling" || i.state === "reindexing" || i.state === "pending"
  );
  return busy ? "backfilling" : "live";
}

/** Ready (for /readyz and READY=1) while backfilling or live. */
export function isReady(state: StatusState): boolean {
  const phase = statusPhase(state);
  return phase === "backfilling" || phase === "live";
}

/** Extras the renderer adds: the version and the schedules' listing. */
export interface StatusExtras {
  readonly version?: string;
  readonly schedules?: readonly ScheduleState[];
}

/** The /status JSON document (LSNs as Postgres prints them, times as ISO strings). */
export function renderStatus(state: StatusState, now: Date, extras: StatusExtras = {}) {
  const lsn = (
    value: Lsn | undefined | null,
  ) => (value === undefined || value === null ? null : formatLsn(value));
  const schedules = extras.schedules ?? [];
  return {
    phase: statusPhase(state),
    ready: isReady(state),
    ...(extras.version === undefined ? {} : { version: extras.version }),
    startedAt: state.startedAt,
    uptimeSeconds: Math.max(0, Math.floor((now.getTime() - Date.parse(state.startedAt)) / 1000)),
    indexes: Object.entries(state.indexes).map(([name, f]) => ({
      name,
      state: f.state,
      generation: f.generation,
      seeded: f.seeded,
      documents: f.documents,
      quarantined: f.quarantined,
      backfill: f.backfill === undefined ? null : {
        ...f.backfill,
        percent: f.backfill.finishedAt !== undefined
          ? 100
          : f.backfill.estimatedRows > 0
          ? Math.min(99, Math.floor((f.backfill.rowsDone / f.backfill.estimatedRows) * 100))
          : null,
      },
      schedules: schedules.filter((s) => s.index === name).map(({ index: _, ...s }) => s),
    })),
    counters: state.counters,
    lastFlushAt: state.lastFlushAt ?? null,
    lastLatencyMs: state.lastLatencyMs ?? null,
    startLsn: lsn(state.startLsn),
    confirmedLsn: lsn(state.confirmedLsn),
    slotCreated: state.slotCreated ?? null,
    slot: state.slot === undefined ? null : {
      exists: state.slot.exists,
      active: state.slot.active,
      lagBytes: state.slot.lagBytes,
      walStatus: state.slot.walStatus,
      safeWalSize: state.slot.safeWalSize,
      confirmedFlushLsn: lsn(state.slot.confirmedFlushLsn),
      sampledAt: state.slot.sampledAt.toISOString(),
    },
    queue: state.queue,
    batchLimit: state.batchLimit ?? null,
    lastError: state.lastError ?? null,
  };
}

/** The /status document's type. */
export type StatusDocument = ReturnType<typeof renderStatus>;

/** A live status model: an `Observer` plus readers for the HTTP routes. */
export interface StatusModel extends Observer {
  /** Records a slot-lag sample (from the periodic sampler). */
  recordSlot(sample: SlotSample): void;
  state(): StatusState;
  isReady(): boolean;
  /** The /status document now. */
  document(extras?: StatusExtras): StatusDocument;
}

/** Creates a status model that starts now. */
export function createStatusModel(now: () => Date = () => new Date()): StatusModel {
  let state = initialStatus(now());
  return {
    emit(event) {
      state = reduceStatus(state, event, now());
    },
    recordSlot(sample) {
      state = { ...state, slot: sample };
    },
    state: () => state,
    isReady: () => isReady(state),
    document: (extras) => renderStatus(state, now(), extras),
  };
}
