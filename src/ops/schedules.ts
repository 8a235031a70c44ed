/**
 * Per-index cron schedules for `verify` and `reindex` (croner). Runs of the same index never
 * overlap — not a verify with itself, nor a verify with a reindex — because both read and
 * write the same index: a tick that finds its index busy is skipped and logged. `list()`
 * feeds `/status` with each schedule's next run and last outcome.
 */
import { Cron } from "croner";
import type { IndexConfig } from "../config/model.ts";
import type { Logger } from "./logger.ts";

/** What a schedule runs. */
export type ScheduledTask = "verify" | "reindex";

/** One cron schedule of one index. */
export interface ScheduleDefinition {
  readonly index: string;
  readonly task: ScheduledTask;
  readonly cron: string;
}

/** How a run ended. */
export interface ScheduleRun {
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly outcome: "running" | "ok" | "failed";
  /** The failure's message (already free of secrets: it passed through the logger's rules). */
  readonly error?: string;
}

/** A schedule as `/status` shows it. */
export interface ScheduleState {
  readonly index: string;
  readonly task: ScheduledTask;
  readonly cron: string;
  /** ISO time of the next run, or null when stopped. */
  readonly nextRun: string | null;
  readonly running: boolean;
  readonly runs: number;
  /** Ticks skipped because the index was busy. */
  readonly skipped: number;
  readonly lastRun?: ScheduleRun;
}

/** Runs one task for one index; resolves when it is done. */
export type TaskRunner = (index: string, task: ScheduledTask) => Promise<void>;

/** Options of `startSchedules`. */
export interface ScheduleOptions {
  readonly definitions: readonly ScheduleDefinition[];
  readonly run: TaskRunner;
  readonly logger: Logger;
  /** IANA time zone the expressions are read in; default: the system's local time. */
  readonly timezone?: string;
  /** Work started outside the schedules (e.g. `POST /reindex`) that also makes an index busy. */
  readonly isBusy?: (index: string) => boolean;
  /** Error text for `lastRun.error`; default: the error's message. */
  readonly describeError?: (error: unknown) => string;
}

/** The running schedules. */
export interface Schedules {
  list(): ScheduleState[];
  /** True while a scheduled run of `index` is in progress. */
  isRunning(index: string): boolean;
  /** Stops future ticks; runs in progress finish on their own. */
  stop(): void;
  /** Resolves once no run is in progress. */
  idle(): Promise<void>;
}

/** The schedules an index configuration asks for (enabled indexes only). */
export function schedulesFromConfig(
  indexes: readonly Pick<IndexConfig, "name" | "enabled" | "verify" | "reindex">[],
): ScheduleDefinition[] {
  return indexes.filter((i) => i.enabled).flatMap((i) => [
    ...(i.verify ? [{ index: i.name, task: "verify" as const, cron: i.verify }] : []),
    ...(i.reindex ? [{ index: i.name, task: "reindex" as const, cron: i.reindex }] : []),
  ]);
}

/** Starts every schedule; they do not keep the process alive on their own. */
export function startSchedules(options: ScheduleOptions): Schedules {
  const busy = new Map<string, Promise<void>>();
  const describe = options.describeError ??
    ((e: unknown) => (e instanceof Error ? e.message : String(e)));

  const entries = options.definitions.map((definition) => {
    const state = {
      runs: 0,
      skipped: 0,
      lastRun: undefined as ScheduleRun | undefined,
    };
    const log = options.logger.child({ index: definition.index, task: definition.task });
    const tick = () => {
      if (busy.has(definition.index) || options.isBusy?.(definition.index)) {
        state.skipped++;
        log.warn("scheduled run skipped: the index is still busy with an earlier run", {
          cron: definition.cron,
        });
        return;
      }
      const startedAt = new Date().toISOString();
      state.runs++;
      state.lastRun = { startedAt, outcome: "running" };
      log.info("scheduled run started", { cron: definition.cron });
      const run = (async () => {
        try {
          await options.run(definition.index, definition.task);
          state.lastRun = { startedAt, finishedAt: new Date().toISOString(), outcome: "ok" };
          log.info("scheduled run finished");
        } catch (error) {
          state.lastRun = {
            startedAt,
            finishedAt: new Date().toISOString(),
            outcome: "failed",
            error: describe(error),
          };
          log.error("scheduled run failed", { error });
        } finally {
          busy.delete(definition.index);
        }
      })();
      busy.set(definition.index, run);
    };
    const job = new Cron(
      definition.cron,
      { timezone: options.timezone, unref: true, name: undefined },
      tick,
    );
    return { definition, state, job };
  });

  return {
    list: () =>
      entries.map(({ definition, state, job }) => ({
        index: definition.index,
        task: definition.task,
        cron: definition.cron,
        nextRun: job.nextRun()?.toISOString() ?? null,
        running: state.lastRun?.outcome === "running",
        runs: state.runs,
        skipped: state.skipped,
        ...(state.lastRun ? { lastRun: state.lastRun } : {}),
      })),
    isRunning: (index) => busy.has(index),
    stop() {
      for (const { job } of entries) job.stop();
    },
    async idle() {
      while (busy.size > 0) await Promise.all(busy.values());
    },
  };
}
