/**
 * `flusso sync --config F`: the composition root of the pipeline. Loads the config, wires the
 * Postgres source and document builder, the OpenSearch (or stdout) sinks and the telemetry to
 * the engine, serves the HTTP surfaces, talks to systemd, and runs until a signal or a fatal
 * error. The command's definition (and its `run` alias) is in sync_command.ts.
 */
import process from "node:process";
import postgres from "postgres";
import type { Config, IndexConfig, SinkConfig } from "../config/model.ts";
import { createEngineControl, runEngine } from "../engine/engine.ts";
import type { EngineIndex } from "../engine/options.ts";
import { type DocumentBuilder, type Sink, TransientSourceError } from "../engine/ports.ts";
import { routeSinks } from "../engine/sink_router.ts";
import { indexMapping } from "../model/mapping.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../opensearch/sink.ts";
import { createStdoutSink } from "../opensearch/stdout_sink.ts";
import { createPostgresChangeSource } from "../postgres/change_source.ts";
import { resolveColumns } from "../model/resolve_columns.ts";
import { tableKey } from "../model/relation_graph.ts";
import { clientOptions } from "../postgres/connect.ts";
import { dryRunSlotName } from "../postgres/slot.ts";
import { createPostgresDocumentBuilder } from "../postgres/document_builder.ts";
import { HttpError, startHttpSurface } from "../ops/http_server.ts";
import type { Logger } from "../ops/logger.ts";
import { privateRoutes, publicRoutes } from "../ops/routes.ts";
import { abortOnShutdownSignals } from "../ops/signals.ts";
import { createSystemdNotifier } from "../ops/systemd_notify.ts";
import { createTelemetry } from "../ops/telemetry.ts";
import { startMemoryCeiling } from "../ops/memory_ceiling.ts";
import { createProgressBoard } from "../ops/progress.ts";
import { type Schedules, schedulesFromConfig, startSchedules } from "../ops/schedules.ts";
import { createVerifier, DriftRemainsError, logVerifyReport } from "../ops/verify_run.ts";
import { aliasName } from "../opensearch/naming.ts";
import { VERSION } from "../version.ts";
import { ExitCode } from "./exit_codes.ts";
import { loadConfigOrReport } from "./load_config_or_report.ts";

/**
 * Resident set size above which sync asks the runtime for a full collection (checked every
 * 50 ms: at full speed flusso allocates tens of MiB a second, and a slower check let the
 * resident set overshoot by that much): its live heap is tens of MiB, the rest would be
 * garbage not yet collected.
 */
const MEMORY_SOFT_LIMIT = 144 * 1024 * 1024;

/** Options of `flusso sync`. */
export interface SyncOptions {
  readonly config: string;
  readonly skipBackfill: boolean;
  readonly dryRun: boolean;
  readonly shutdownGraceMs: number;
}

/** Runs the pipeline until stopped; returns the process exit code. */
export async function runSync(options: SyncOptions, logger: Logger): Promise<number> {
  const config = await loadConfigOrReport(options.config);
  if (!config) return ExitCode.Usage;
  const indexes = config.indexes.filter((i) => i.enabled);
  if (indexes.length === 0) {
    logger.error("no enabled index in the config: nothing to sync", { config: options.config });
    return ExitCode.Usage;
  }

  const shutdown = abortOnShutdownSignals();
  const notifier = createSystemdNotifier({ logger });
  // Backfill progress: bars on a terminal (stderr), progress log lines otherwise.
  const progress = createProgressBoard({
    isTTY: Boolean(process.stderr.isTTY),
    write: (text) => void process.stderr.write(text),
    logger,
  });
  let schedules: Schedules | undefined;
  const telemetry = createTelemetry({
    logger,
    version: VERSION,
    progress,
    schedules: () => schedules?.list() ?? [],
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  const control = createEngineControl();
  cleanups.push(startMemoryCeiling({ softLimitBytes: MEMORY_SOFT_LIMIT, intervalMs: 50 }));
  try {
    const sql = postgres(
      clientOptions(config.source.connection, { max: 8, applicationName: "flusso" }),
    );
    cleanups.push(() => sql.end({ timeout: 5 }));
    const rawBuilder = await createPostgresDocumentBuilder({ sql, indexes, logger });
    // Changes carry only the columns resolution reads; documents are re-read at build time.
    const resolveNeeds = resolveColumns(rawBuilder.graphs());
    const noColumns: ReadonlySet<string> = new Set();
    // A dry run streams from a temporary slot of its own: it confirms what it prints, and
    // confirming the configured slot would skip those changes for the real sync.
    const slot = options.dryRun
      ? dryRunSlotName(config.source.slot, process.pid)
      : config.source.slot;
    if (options.dryRun) {
      logger.info("dry run: streaming from a temporary replication slot", {
        slot,
        untouched: config.source.slot,
      });
    }
    const source = createPostgresChangeSource({
      connection: config.source.connection,
      slot,
      temporarySlot: options.dryRun,
      publication: config.source.publication,
      managePublication: config.source.managePublication,
      tables: rawBuilder.tablesOf(),
      heartbeatMs: config.source.heartbeatMs,
      columns: (table) => resolveNeeds.get(tableKey(table)) ?? noColumns,
      logger,
    });
    // When Postgres refuses the builder's queries (restarting, unreachable), drop the stream
    // too: a shutting-down server waits on its walsender until flusso confirms, which it
    // cannot do without those queries. The stream resumes from the confirmed position.
    const builder = interruptSourceOnOutage(rawBuilder, source);
    const { sink, openSearchSinks } = buildSink(config, indexes, options.dryRun, logger);

    const pub = await startHttpSurface({
      name: "public",
      address: config.server.publicAddress,
      routes: publicRoutes(telemetry.publicProviders()),
      logger,
    });
    cleanups.push(() => pub.close());
    if (config.server.token) {
      const priv = await startHttpSurface({
        name: "private",
        address: config.server.privateAddress,
        auth: { token: config.server.token },
        routes: privateRoutes({
          indexes: () => indexListing(config, indexes, telemetry, schedules),
          reindex: async (index) => {
            if (!indexes.some((i) => i.name === index)) {
              throw new HttpError(404, `no enabled index named "${index}"`);
            }
            await control.reindex(index);
            return { index, reindex: "started" };
          },
          dlq: async ({ index, limit }) => {
            const all = [...new Set(openSearchSinks.values())];
            const lists = await Promise.all(all.map((s) => s.dlq.list({ index, limit })));
            return lists.flat().slice(0, limit);
          },
        }),
        logger,
      });
      cleanups.push(() => priv.close());
    }
    logger.info("flusso started", {
      version: VERSION,
      status: `${pub.url}/status`,
      indexes: indexes.length,
    });

    const lagTimer = setInterval(() => {
      source.lag().then((sample) => telemetry.recordSlot(sample)).catch((error) =>
        logger.debug("slot lag sample failed", { error })
      );
    }, 10_000);
    lagTimer.unref?.();
    cleanups.push(() => clearInterval(lagTimer));

    // Scheduled verify (with repair) and reindex; a run never overlaps another of its index,
    // nor a backfill or reindex the engine is doing (e.g. one asked for by POST /reindex).
    const verifier = createVerifier({ config, sql, builder, sinks: openSearchSinks });
    // Stops a scheduled verify at its next page once flusso is stopping, for whatever reason.
    const stopVerify = new AbortController();
    schedules = startSchedules({
      definitions: schedulesFromConfig(indexes),
      logger,
      isBusy: (index) => {
        const state = telemetry.status.state().indexes[index]?.state;
        return state === "backfilling" || state === "reindexing" || state === "pending";
      },
      run: async (index, task) => {
        if (task === "reindex") return await control.reindex(index);
        const report = await verifier.verify(index, { repair: true, signal: stopVerify.signal });
        logVerifyReport(logger.child({ scheduled: true }), report);
        if (!report.inSync) throw new DriftRemainsError(report);
      },
    });
    const running = schedules;
    cleanups.push(async () => {
      running.stop();
      stopVerify.abort();
      await running.idle();
    });

    let announced = false;
    let lastStatusLine = 0;
    const stopWatchdog = notifier.startWatchdog(() => telemetry.status.isReady());
    cleanups.push(stopWatchdog);
    const observer = {
      emit(event: Parameters<typeof telemetry.observer.emit>[0]) {
        telemetry.observer.emit(event);
        if (event.type === "live_started" && !announced) {
          announced = true;
          void notifier.ready("streaming changes");
        }
        // `systemctl status` shows the latest STATUS= line; at most one every 5 s.
        const now = Date.now();
        if (
          announced && now - lastStatusLine >= 5_000 &&
          (event.type === "batch_committed" || event.type === "backfill_progress")
        ) {
          lastStatusLine = now;
          const counters = telemetry.status.document({ version: VERSION }).counters;
          const backfilling = event.type === "backfill_progress"
            ? `, backfilling ${event.index} ${event.rowsDone} rows`
            : "";
          void notifier.status(`live: ${counters.changesCommitted} changes indexed${backfilling}`);
        }
      },
    };

    const result = await runEngine(
      { source, builder, sink, observer, control },
      {
        pipeline: config.pipeline,
        onError: config.onError,
        indexes: indexes.map((i): EngineIndex => ({
          name: i.name,
          enabled: i.enabled,
          onError: i.onError,
          definition: indexMapping(i, sinkConfigOf(config, i)),
        })),
        skipBackfill: options.skipBackfill,
        shutdownGraceMs: options.shutdownGraceMs,
      },
      shutdown.signal,
    );
    void notifier.stopping("stopping");
    logger.info("flusso stopped", {
      reason: result.reason,
      batches: result.batches,
      changes: result.changes,
      abandoned: result.abandoned,
    });
    return ExitCode.Ok;
  } catch (error) {
    logger.error("flusso failed", { error });
    return ExitCode.Failure;
  } finally {
    shutdown.dispose();
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.debug("cleanup failed", { error });
      }
    }
  }
}

/** `GET /indexes`: one row per enabled index, flat enough for `flusso indexes` to tabulate. */
function indexListing(
  config: Config,
  indexes: readonly IndexConfig[],
  telemetry: ReturnType<typeof createTelemetry>,
  schedules: Schedules | undefined,
) {
  const facts = telemetry.status.state().indexes;
  const planned = schedules?.list() ?? [];
  const next = (index: string, task: "verify" | "reindex") =>
    planned.find((s) => s.index === index && s.task === task)?.nextRun ?? null;
  return {
    indexes: indexes.map((i) => {
      const f = facts[i.name];
      const backfill = f?.backfill;
      return {
        name: i.name,
        alias: aliasName(config.prefix, i.name),
        sink: i.sink,
        state: f?.state ?? "pending",
        generation: f?.generation ?? 0,
        seeded: f?.seeded ?? false,
        documents: f?.documents ?? 0,
        quarantined: f?.quarantined ?? 0,
        backfillRows: backfill?.rowsDone ?? null,
        backfillEstimate: backfill?.estimatedRows ?? null,
        backfillPercent: backfill === undefined
          ? null
          : backfill.finishedAt !== undefined
          ? 100
          : backfill.estimatedRows > 0
          ? Math.min(99, Math.floor((backfill.rowsDone / backfill.estimatedRows) * 100))
          : null,
        nextVerify: next(i.name, "verify"),
        nextReindex: next(i.name, "reindex"),
      };
    }),
  };
}

function sinkConfigOf(config: Config, index: IndexConfig): SinkConfig {
  const sink = config.sinks.find((s) => s.name === index.sink);
  if (!sink) {
    throw new Error(`index "${index.name}" names sink "${index.sink}", which is not configured`);
  }
  return sink;
}

function buildSink(
  config: Config,
  indexes: readonly IndexConfig[],
  dryRun: boolean,
  logger: Logger,
) {
  const bySinkName = new Map<string, Sink>();
  const openSearchSinks = new Map<string, OpenSearchSink>();
  for (const sinkConfig of config.sinks) {
    if (dryRun || sinkConfig.type === "stdout") {
      bySinkName.set(sinkConfig.name, createStdoutSink({ name: sinkConfig.name }));
    } else {
      const sink = createOpenSearchSink({ config: sinkConfig, prefix: config.prefix, logger });
      bySinkName.set(sinkConfig.name, sink);
      for (const i of indexes) if (i.sink === sinkConfig.name) openSearchSinks.set(i.name, sink);
    }
  }
  const routes = new Map(indexes.map((i) => [i.name, bySinkName.get(i.sink)!]));
  return { sink: routeSinks(routes), openSearchSinks };
}

function interruptSourceOnOutage(
  builder: DocumentBuilder,
  source: { interrupt(reason: string): void },
): DocumentBuilder {
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof TransientSourceError) source.interrupt(error.message);
      throw error;
    }
  };
  return {
    resolve: (changes) => guard(() => builder.resolve(changes)),
    build: (index, keys) => guard(() => builder.build(index, keys)),
    scanKeys: (index, options) => guard(() => builder.scanKeys(index, options)),
    estimateRows: (index) => guard(() => builder.estimateRows(index)),
    ...(builder.buildPage
      ? { buildPage: (index, options) => guard(() => builder.buildPage!(index, options)) }
      : {}),
    ...(builder.pageBounds
      ? { pageBounds: (index, options) => guard(() => builder.pageBounds!(index, options)) }
      : {}),
  };
}
