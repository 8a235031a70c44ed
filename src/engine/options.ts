/**
 * The engine's configuration as a plain object, so the engine never depends on config
 * loading: the CLI maps the loaded `Config` onto `EngineOptions`.
 */
import type { OnError, PipelineConfig } from "../config/model.ts";
import type { IndexDefinition } from "./ports.ts";
import { aimdDefaults, type AimdOptions } from "./aimd.ts";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";

/** One index as the engine needs it. */
export interface EngineIndex {
  readonly name: string;
  /** Disabled indexes are neither ensured, backfilled nor written. */
  readonly enabled: boolean;
  /** Per-index failure policy; overrides `EngineOptions.onError` when set. */
  readonly onError?: OnError;
  readonly definition: IndexDefinition;
}

/** Everything the engine is told. Only `pipeline`, `onError` and `indexes` are required. */
export interface EngineOptions {
  /** Queue and batch caps (`[pipeline]`). */
  readonly pipeline: PipelineConfig;
  /** The global failure policy (`on_error`), for indexes without their own. */
  readonly onError: OnError;
  readonly indexes: readonly EngineIndex[];
  /** Do not backfill unseeded indexes at start (`--skip-backfill`). Default false. */
  readonly skipBackfill?: boolean;
  /** How long a stop waits for the in-flight batch before abandoning it. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** Backoff of transient failures. Default 100 ms doubling to 30 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** Root keys per backfill page (one scan, one build, one write). Default 2000. */
  readonly backfillPageSize?: number;
  /**
   * Least time between two saves of a backfill's cursor (0: after every page). A resume
   * rewrites at most this much. Default 1 s.
   */
  readonly backfillCursorIntervalMs?: number;
  /** Most documents per `sink.write` within one live batch. Default 1000. */
  readonly flushChunkSize?: number;
  /**
   * Longest a catch-up window stays open (see deferred_keys.ts): while a backlog waits, the
   * documents of consecutive batches are built once per window, and its commits confirmed
   * with it. 0 builds every batch on its own. Default 2 s.
   */
  readonly catchUpWindowMs?: number;
  /** Adaptive batch sizing; defaults derive from `pipeline.maxChanges`. */
  readonly adaptive?: Partial<Omit<AimdOptions, "max">>;
}

/** `EngineOptions` with every default applied. */
export interface ResolvedEngineOptions {
  readonly pipeline: PipelineConfig;
  readonly onError: OnError;
  readonly indexes: readonly EngineIndex[];
  readonly skipBackfill: boolean;
  readonly shutdownGraceMs: number;
  readonly backoff: BackoffOptions;
  readonly backfillPageSize: number;
  readonly backfillCursorIntervalMs: number;
  readonly flushChunkSize: number;
  readonly catchUpWindowMs: number;
  readonly adaptive: AimdOptions;
}

/** Applies defaults and checks the bounds a running engine relies on. */
export function resolveOptions(options: EngineOptions): ResolvedEngineOptions {
  const p = options.pipeline;
  for (
    const [name, value] of [
      ["queue_capacity", p.queueCapacity],
      ["queue_bytes", p.queueBytes],
      ["max_changes", p.maxChanges],
      ["max_batch_bytes", p.maxBatchBytes],
    ] as const
  ) {
    if (!Number.isFinite(value) || value < 1) {
      throw new RangeError(`[pipeline] ${name} must be at least 1, got ${value}`);
    }
  }
  const adaptive = { ...aimdDefaults(p.maxChanges), ...options.adaptive, max: p.maxChanges };
  return {
    pipeline: p,
    onError: options.onError,
    indexes: options.indexes,
    skipBackfill: options.skipBackfill ?? false,
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    backfillPageSize: Math.max(1, options.backfillPageSize ?? 2000),
    backfillCursorIntervalMs: Math.max(0, options.backfillCursorIntervalMs ?? 1000),
    flushChunkSize: Math.max(1, options.flushChunkSize ?? 1000),
    catchUpWindowMs: Math.max(0, options.catchUpWindowMs ?? 2000),
    adaptive: { ...adaptive, min: Math.min(adaptive.min, adaptive.max) },
  };
}

/** The failure policy of `index`: its own, else the global one. */
export function policyOf(options: ResolvedEngineOptions, index: string): OnError {
  return options.indexes.find((i) => i.name === index)?.onError ?? options.onError;
}
