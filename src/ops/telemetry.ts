/**
 * Everything an operator sees, wired from one event stream: the status model (/status,
 * /readyz), the metrics (/metrics), the logs and the backfill progress. The composition root
 * passes `telemetry.observer` to the engine and `telemetry.publicProviders()` to the public
 * HTTP surface.
 */
import { fanOut, type Observer } from "../engine/observer.ts";
import type { Logger } from "./logger.ts";
import { createRegistry, type MetricRegistry } from "./metrics.ts";
import { createObserverMetrics, type ObserverMetrics } from "./observer_metrics.ts";
import { createLoggingObserver } from "./observer_log.ts";
import { createBackfillProgressObserver, type ProgressSink } from "./observer_progress.ts";
import type { PublicProviders } from "./routes.ts";
import type { ScheduleState } from "./schedules.ts";
import {
  createStatusModel,
  type SlotSample,
  type StatusModel,
  statusPhase,
} from "./status_model.ts";

/** Options of `createTelemetry`. */
export interface TelemetryOptions {
  readonly logger: Logger;
  /** Backfill progress display; omit to rely on logs of the other events only. */
  readonly progress?: ProgressSink;
  readonly version?: string;
  /** The schedules' listing for /status (next runs, last outcome). */
  readonly schedules?: () => readonly ScheduleState[];
  readonly registry?: MetricRegistry;
  readonly now?: () => Date;
}

/** The wired telemetry. */
export interface Telemetry {
  /** Give this to the engine. */
  readonly observer: Observer;
  readonly status: StatusModel;
  readonly metrics: ObserverMetrics;
  readonly registry: MetricRegistry;
  /** Feed slot-lag samples here (status and metrics). */
  recordSlot(sample: SlotSample): void;
  /** Providers for `publicRoutes`. */
  publicProviders(): PublicProviders;
}

/** Creates status, metrics, logs and progress over one observer. */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const now = options.now ?? (() => new Date());
  const registry = options.registry ?? createRegistry();
  const status = createStatusModel(now);
  const metrics = createObserverMetrics(registry, { now: () => now().getTime() });
  registry.onCollect(() => metrics.recordPhase(statusPhase(status.state())));
  const observers: Observer[] = [status, metrics, createLoggingObserver(options.logger)];
  if (options.progress) observers.push(createBackfillProgressObserver(options.progress));
  const all = fanOut(...observers);
  // The engine's hot path must never fail because of reporting.
  const observer: Observer = {
    emit(event) {
      try {
        all.emit(event);
      } catch (error) {
        options.logger.debug("an observer failed", { error, event: event.type });
      }
    },
  };
  return {
    observer,
    status,
    metrics,
    registry,
    recordSlot(sample) {
      status.recordSlot(sample);
      metrics.recordSlot(sample);
    },
    publicProviders: () => ({
      isReady: () => status.isReady(),
      status: () => status.document({ version: options.version, schedules: options.schedules?.() }),
      metrics: () => registry.render(),
    }),
  };
}
