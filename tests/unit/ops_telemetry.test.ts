import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EngineEvent } from "../../src/engine/observer.ts";
import { createTelemetry } from "../../src/ops/telemetry.ts";
import { createLogger } from "../../src/ops/log_writer.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus_parser.ts";

const events: EngineEvent[] = [
  { type: "phase", phase: "starting" },
  { type: "indexes_ensured", indexes: [{ index: "users", generation: 2, seeded: false }] },
  { type: "live_started", startLsn: 0x10n, slotCreated: true },
  { type: "phase", phase: "streaming" },
  { type: "backfill_started", index: "users", estimatedRows: 100, resumed: false },
  { type: "backfill_progress", index: "users", rowsDone: 40, estimatedRows: 100 },
  { type: "backfill_progress", index: "users", rowsDone: 90, estimatedRows: 100 },
  { type: "backfill_finished", index: "users", rows: 95, durationMs: 1000 },
  { type: "changes_captured", count: 5, bytes: 500 },
  {
    type: "batch_committed",
    changes: 5,
    transactions: 2,
    documents: { users: 3 },
    upserts: 2,
    deletes: 1,
    quarantined: 1,
    resolveMs: 1,
    buildMs: 4,
    flushMs: 20,
    latencyMs: 30,
    confirmedLsn: 0x20n,
    caughtUp: true,
    batchLimit: 1000,
  },
  {
    type: "document_quarantined",
    index: "users",
    id: "9",
    errorType: "mapper_parsing_exception",
    reason: "bad",
    lsn: 0x20n,
  },
  {
    type: "transient_error",
    component: "sink",
    operation: "sink.write",
    error: new Error("socket hang up at https://admin:pw@os:9200"),
    attempt: 1,
    retryInMs: 100,
  },
];

function setup() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    format: "json",
    level: "debug",
    write: (l) => lines.push(JSON.parse(l)),
  });
  const progress: string[] = [];
  const telemetry = createTelemetry({
    logger,
    version: "0.0.0-test",
    now: () => new Date("2026-11-28T10:00:00Z"),
    progress: {
      track: (label, total) => {
        progress.push(`track ${label} ${total}`);
        return {
          update: (done) => progress.push(`update ${label} ${done}`),
          finish: () => progress.push(`finish ${label}`),
        };
      },
    },
  });
  for (const e of events) telemetry.observer.emit(e);
  telemetry.recordSlot({
    exists: true,
    active: true,
    lagBytes: 2048,
    walStatus: "extended",
    safeWalSize: 1e9,
    confirmedFlushLsn: 0x20n,
    sampledAt: new Date(),
  });
  return { telemetry, lines, progress };
}

describe("ops telemetry", () => {
  it("metrics_from_events_parse_back_with_the_documented_names_and_types", () => {
    const { telemetry } = setup();
    const f = parsePrometheusText(telemetry.registry.render());
    const types: Record<string, string> = {
      flusso_changes_captured_total: "counter",
      flusso_changes_committed_total: "counter",
      flusso_documents_built_total: "counter",
      flusso_documents_quarantined_total: "counter",
      flusso_batches_total: "counter",
      flusso_flush_duration_seconds: "histogram",
      flusso_commit_to_indexed_seconds: "histogram",
      flusso_slot_lag_bytes: "gauge",
      flusso_queue_depth: "gauge",
      flusso_queue_bytes: "gauge",
      flusso_errors_total: "counter",
      flusso_backfill_rows_total: "counter",
      flusso_phase: "gauge",
      flusso_uptime_seconds: "gauge",
    };
    for (const [name, type] of Object.entries(types)) assert.equal(f.get(name)?.type, type, name);
    assert.equal(sampleValue(f, "flusso_changes_captured_total"), 5);
    assert.equal(sampleValue(f, "flusso_changes_committed_total"), 5);
    assert.equal(sampleValue(f, "flusso_documents_built_total", { index: "users" }), 3);
    assert.equal(sampleValue(f, "flusso_documents_quarantined_total", { index: "users" }), 1);
    assert.equal(sampleValue(f, "flusso_backfill_rows_total", { index: "users" }), 95);
    assert.equal(sampleValue(f, "flusso_flush_duration_seconds_count"), 1);
    assert.equal(sampleValue(f, "flusso_commit_to_indexed_seconds_bucket", { le: "0.05" }), 1);
    assert.equal(sampleValue(f, "flusso_commit_to_indexed_seconds_bucket", { le: "0.025" }), 0);
    assert.equal(sampleValue(f, "flusso_slot_lag_bytes"), 2048);
    assert.equal(sampleValue(f, "flusso_slot_wal_status", { status: "extended" }), 1);
    assert.equal(sampleValue(f, "flusso_slot_wal_status", { status: "reserved" }), 0);
    assert.equal(
      sampleValue(f, "flusso_errors_total", { kind: "transient", component: "sink" }),
      1,
    );
    assert.equal(sampleValue(f, "flusso_phase", { phase: "live" }), 1);
    assert.equal(sampleValue(f, "flusso_phase", { phase: "starting" }), 0);
    assert.equal(sampleValue(f, "flusso_index_generation", { index: "users" }), 2);
  });

  it("status_document_and_readiness_follow_the_same_events", () => {
    const { telemetry } = setup();
    const providers = telemetry.publicProviders();
    assert.equal(providers.isReady(), true);
    const doc = providers.status() as ReturnType<typeof telemetry.status.document>;
    assert.equal(doc.phase, "live");
    assert.equal(doc.version, "0.0.0-test");
    assert.equal(doc.slot?.lagBytes, 2048);
    assert.equal(doc.counters.changesCommitted, 5);
    assert.ok(!JSON.stringify(doc).includes("admin:pw"));
  });

  it("logs_errors_with_their_context_and_never_a_secret", () => {
    const { lines } = setup();
    const quarantine = lines.find((l) =>
      l.msg === "document quarantined to the dead-letter index"
    )!;
    assert.equal(quarantine.level, "warn");
    assert.equal(quarantine.index, "users");
    assert.equal(quarantine.lsn, "0/20");
    const retry = lines.find((l) => l.msg === "sink.write failed; retrying")!;
    assert.equal(retry.component, "sink");
    assert.equal(retry.attempt, 1);
    assert.ok(!JSON.stringify(lines).includes("admin:pw"));
  });

  it("drives_the_progress_display_from_backfill_events", () => {
    const { progress } = setup();
    assert.deepEqual(progress, [
      "track users 100",
      "update users 40",
      "update users 90",
      "update users 95",
      "finish users",
    ]);
  });

  it("an_observer_failure_never_reaches_the_engine", () => {
    const telemetry = createTelemetry({
      logger: createLogger({ format: "json", level: "debug", write: () => {} }),
      progress: {
        track: () => {
          throw new Error("terminal gone");
        },
      },
    });
    telemetry.observer.emit({
      type: "backfill_started",
      index: "x",
      estimatedRows: 1,
      resumed: false,
    });
  });
});
