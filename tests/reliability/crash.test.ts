/**
 * Crash tests: a seeded random workload over the examples/shop schema runs the whole time
 * while `kill -9` hits the compiled `flusso sync` at random moments — during the initial
 * backfill, mid-reindex (POST /reindex, then kill), mid-batch and mid-flush (emulator latency
 * widens the flush window; some kills wait for a `_bulk` request in flight) — and flusso is
 * restarted after each. Once everything settles, every index must equal the oracle's
 * documents built from Postgres, and the slot's confirmed_flush_lsn must never have passed a
 * change whose documents the sink had not acknowledged (support/ack_audit.ts).
 *
 * Reduced (make test): 26 kill points, ~2 minutes. FLUSSO_SOAK=1: 200 kill points.
 * FLUSSO_RELIABILITY_SEED replays a run.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  auditAcks,
  describeAckAudit,
  dumpAuditInputs,
  type SlotSampler,
  startSlotSampler,
} from "./support/ack_audit.ts";
import { assertGroundTruth } from "./support/ground_truth.ts";
import { confirmedFlushLsn } from "./support/quiesce.ts";
import { type Random, runSeed, seededRandom } from "./support/random.ts";
import { type ShopHarness, startShopHarness } from "./support/shop_harness.ts";
import { scenario, SOAK } from "./support/trials.ts";
import { createWorkload, type Workload, type WorkloadStats } from "./support/workload.ts";

const SEED = runSeed(process.env, 1128);
const KILLS = SOAK
  ? { backfill: 40, reindex: 40, live: 120 }
  : { backfill: 6, reindex: 6, live: 14 };
const FILE = "crash.test.ts";
/** Where a failing audit leaves its inputs (samples, transactions, request log). */
const AUDIT_DUMP = "cov/reliability/crash-audit.json";
/** Where a failed quiescence leaves the last flusso process's output. */
const QUIESCE_DUMP = "cov/reliability/crash-quiesce-flusso.log";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("crash: kill -9 at random moments, restart, nothing lost", () => {
  let h: ShopHarness;
  let random: Random;
  let workload: Workload;
  let sampler: SlotSampler;
  const stopWorkload = new AbortController();
  let workloadDone: Promise<WorkloadStats>;
  /** Kill points of the current scenario by what flusso was doing when it was killed. */
  let observed: Record<string, number> = {};
  let kills = 0;
  let auditSummary = "";
  let quiesced = "";

  /** Leaves the last process's output where a failed quiescence can be read. */
  function dumpFlussoOutput(): void {
    mkdirSync(dirname(QUIESCE_DUMP), { recursive: true });
    writeFileSync(QUIESCE_DUMP, h.flusso?.output() ?? "");
  }

  before(async () => {
    random = seededRandom(SEED);
    h = await startShopHarness({
      label: "crash",
      customers: 1000,
      // Small bulk requests and retries enough to ride out every restart.
      sink: { batch_size: 100, timeout_secs: 10, max_retries: 50 },
      pipeline: { max_delay: "20ms" },
    });
    workload = createWorkload({
      sql: h.db.sql,
      seed: SEED,
      largeTransactionRows: SOAK ? { min: 5000, max: 20000 } : { min: 3000, max: 6000 },
      pauseMs: 8,
    });
    sampler = startSlotSampler({ sql: h.db.sql, slot: h.db.slot, intervalMs: 40 });
  });

  after(async () => {
    stopWorkload.abort();
    await workloadDone?.catch(() => {});
    await sampler?.stop();
    await h?.close();
  });

  /** What flusso is doing right now, as seen from outside (status phase + a bulk in flight). */
  async function whatIsHappening(): Promise<string> {
    const inFlight = h.emulator.requests.some((r) =>
      r.status === 0 && r.path.endsWith("/_bulk") && r.fault === undefined
    );
    let phase = "starting";
    try {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 300);
      const status = await h.flusso!.status().finally(() => clearTimeout(timer));
      const states = status.indexes.map((i) => i.state);
      phase = states.includes("reindexing")
        ? "reindexing"
        : states.includes("backfilling")
        ? "backfilling"
        : status.phase;
    } catch { /* not up yet */ }
    return inFlight ? `${phase}+mid-flush` : phase;
  }

  async function kill(): Promise<void> {
    const what = await whatIsHappening();
    await h.flusso!.kill9();
    observed[what] = (observed[what] ?? 0) + 1;
    kills++;
  }

  const notes = (extra: () => string = () => "") => () =>
    [`seed ${SEED}`, ...Object.entries(observed).map(([k, v]) => `${k}: ${v}`)].join(", ") +
    extra();

  it("survives_kill_9_during_the_initial_backfill", async () => {
    observed = {};
    await scenario("crash.kill_during_backfill", async (trial) => {
      // Slow bulk answers stretch the backfill of 1000 customers over several seconds.
      h.emulator.faults.latency(120);
      workloadDone = workload.run({ signal: stopWorkload.signal, maxMs: 30 * 60_000 });
      workloadDone.catch(() => {}); // awaited (and its failure reported) by the ground-truth step
      for (let i = 0; i < KILLS.backfill; i++) {
        await h.start({ wait: "none" });
        await sleep(random.int(300, 2500));
        await kill();
        trial();
      }
      h.emulator.faults.clear();
      await h.start({ wait: "live", timeoutMs: 120_000 });
    }, { file: FILE, notes: notes() });
  });

  it("survives_kill_9_mid_reindex", async () => {
    observed = {};
    await scenario("crash.kill_mid_reindex", async (trial) => {
      h.emulator.faults.latency(30);
      for (let i = 0; i < KILLS.reindex; i++) {
        const index = random.chance(0.7) ? "customers" : "products";
        assert.equal(await h.reindex(index), 202, `POST /reindex?index=${index}`);
        await sleep(random.int(0, 1200));
        await kill();
        trial();
        await h.start({ wait: "live", timeoutMs: 120_000 });
      }
      h.emulator.faults.clear();
    }, { file: FILE, notes: notes() });
  });

  it("survives_kill_9_mid_batch_and_mid_flush", async () => {
    observed = {};
    await scenario("crash.kill_mid_batch_and_flush", async (trial) => {
      for (let i = 0; i < KILLS.live; i++) {
        h.emulator.faults.latency(random.int(20, 250));
        // Rare operations on a schedule, so every run has them whatever the draw.
        if (i % 5 === 2) workload.enqueue("large_transaction");
        if (i % 7 === 4) workload.enqueue("truncate_related");
        if (i % 60 === 1) workload.enqueue("truncate_root");
        if (random.chance(0.5)) {
          // Let this process confirm something first: kills that always land before the first
          // confirmation would leave the slot behind for the whole phase (and the audit idle).
          const from = await confirmedFlushLsn(h.db.sql, h.db.slot);
          const deadline = Date.now() + 10_000;
          while (
            Date.now() < deadline &&
            (await confirmedFlushLsn(h.db.sql, h.db.slot) ?? 0n) <= (from ?? 0n)
          ) {
            await sleep(20);
          }
        }
        if (random.chance(0.5)) {
          // Precisely mid-flush: wait for a bulk request in flight.
          const deadline = Date.now() + 3000;
          await sleep(random.int(50, 400));
          while (
            Date.now() < deadline &&
            !h.emulator.requests.some((r) => r.status === 0 && r.path.endsWith("/_bulk"))
          ) await sleep(5);
        } else {
          await sleep(random.int(100, 1500));
        }
        await kill();
        trial();
        await h.start({ wait: "live", timeoutMs: 120_000 });
      }
      h.emulator.faults.clear();
    }, { file: FILE, notes: notes() });
  });

  it("index_equals_postgres_after_every_kill", async () => {
    observed = {};
    await scenario("crash.ground_truth_after_kills", async (trial) => {
      stopWorkload.abort();
      const stats = await workloadDone;
      // The backlog left by the kill phases is workload-sized (hundreds of MB of WAL in soak
      // mode, each restart having replayed from the slot): wait while flusso makes progress,
      // fail once it stalls for a minute.
      try {
        const q = await h.quiesce(SOAK ? 40 * 60_000 : 10 * 60_000, 60_000);
        quiesced = `; quiesced in ${(q.waitedMs / 1000).toFixed(1)} s (backlog ${
          ((Number(q.targetLsn - (q.startLsn ?? q.targetLsn))) / 2 ** 20).toFixed(0)
        } MiB of WAL)`;
      } catch (error) {
        dumpFlussoOutput();
        throw error;
      }
      assertGroundTruth(await h.groundTruth());
      trial();
      assert.ok(kills >= KILLS.backfill + KILLS.reindex + KILLS.live, `${kills} kill points`);
      assert.ok(stats.transactions > 0);
    }, {
      file: FILE,
      notes: notes(() =>
        `; ${kills} kills; ${workload.transactions.length} transactions${quiesced}`
      ),
    });
  });

  it("never_confirms_a_change_before_the_sink_acknowledged_its_documents", async () => {
    observed = {};
    await scenario("crash.confirmed_lsn_audit", async (trial) => {
      const samples = await sampler.stop();
      const report = auditAcks({
        samples,
        transactions: workload.transactions,
        requests: h.emulator.requests,
      });
      trial(report.checkedTransactions);
      auditSummary = describeAckAudit(report, 0);
      if (report.violations.length > 0) {
        dumpAuditInputs(AUDIT_DUMP, {
          samples,
          transactions: workload.transactions,
          requests: h.emulator.requests,
        });
      }
      // Guard against a vacuous audit: plenty of (document, confirmation) pairs were checked.
      assert.ok(report.checkedDocuments >= 200, describeAckAudit(report));
      assert.equal(report.violations.length, 0, describeAckAudit(report));
    }, { file: FILE, notes: notes(() => `; ${samples().length} slot samples; ${auditSummary}`) });
  });

  const samples = () => sampler?.samples ?? [];
});
