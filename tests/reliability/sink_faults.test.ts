/**
 * Sink faults, injected into the OpenSearch emulator while a seeded workload runs: a 429
 * storm, 5xx bursts, connection resets mid-response, per-item 429s, an emulator restart and a
 * stall longer than the sink's timeout (timeout_secs = 2; 60 s under FLUSSO_SOAK=1). After
 * each, flusso must still be running (no exit), recover by itself once the fault clears, and
 * the index must equal Postgres exactly. At the end, the confirmed-LSN audit runs over the
 * whole file's history (items rejected by per-item faults are not counted as acknowledged).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import type { RequestLogEntry } from "../support/opensearch/emulator.ts";
import {
  auditAcks,
  describeAckAudit,
  dumpAuditInputs,
  type SlotSampler,
  startSlotSampler,
} from "./support/ack_audit.ts";
import { assertGroundTruth } from "./support/ground_truth.ts";
import { runSeed } from "./support/random.ts";
import { type ShopHarness, startShopHarness } from "./support/shop_harness.ts";
import { scenario, SOAK } from "./support/trials.ts";
import { createWorkload, type Workload } from "./support/workload.ts";

const SEED = runSeed(process.env, 4242);
const FILE = "sink_faults.test.ts";
const STALL_MS = SOAK ? 60_000 : 5_000;
/** Where a failing audit leaves its inputs. */
const AUDIT_DUMP = "cov/reliability/sink_faults-audit.json";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sink faults: flusso keeps going, recovers by itself, loses nothing", () => {
  let h: ShopHarness;
  let workload: Workload;
  let sampler: SlotSampler;
  /** Per-item faults armed: ids and the time window, so the audit does not count them. */
  const itemFaults: { ids: Set<string>; from: number; to: number }[] = [];
  let auditSummary = "";

  before(async () => {
    h = await startShopHarness({
      label: "sink_faults",
      customers: 300,
      sink: { timeout_secs: 2, batch_size: 200 },
      pipeline: { max_delay: "20ms" },
    });
    workload = createWorkload({
      sql: h.db.sql,
      seed: SEED,
      largeTransactionRows: { min: 2000, max: 4000 },
      // No truncates here: a rebuild is the crash tests' business; keep each scenario short.
      weights: { truncate_related: 0, truncate_root: 0 },
      pauseMs: 10,
    });
    sampler = startSlotSampler({ sql: h.db.sql, slot: h.db.slot, intervalMs: 40 });
    await h.start();
  });

  after(async () => {
    await sampler?.stop();
    await h?.close();
  });

  /** Requests of the log from `from` on that the emulator faulted (or, for 429 items, all). */
  const faultedSince = (from: number, pred: (r: RequestLogEntry) => boolean) =>
    h.emulator.requests.filter((r) => r.time >= from && pred(r)).length;

  /** Settles, then: flusso never exited, and the index equals Postgres. */
  async function settleAndCheck(): Promise<void> {
    h.emulator.faults.clear();
    await h.quiesce(SOAK ? 180_000 : 60_000);
    const proc = h.flusso!;
    const exited = await Promise.race([proc.exited(), sleep(0).then(() => undefined)]);
    assert.equal(
      exited,
      undefined,
      `flusso exited (${exited}) during the fault:\n${proc.output().slice(-3000)}`,
    );
    assertGroundTruth(await h.groundTruth());
  }

  /** Runs the workload for `ms` (a burst of changes for flusso to push through the fault). */
  const workFor = (ms: number) => workload.run({ maxMs: ms });

  /** Waits (bounded) until `done()` holds; flusso keeps retrying what the fault refused. */
  async function waitUntil(done: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    while (!done() && Date.now() < deadline) await sleep(20);
    return done();
  }

  /** Arms a fault of `n` requests, pushes a burst of changes into it, waits until consumed. */
  async function consumed(
    arm: () => void,
    count: () => number,
    n: number,
    what: string,
  ): Promise<number> {
    arm();
    await workFor(1_000);
    assert.ok(
      await waitUntil(() => count() >= n, 90_000),
      `only ${count()} of ${n} ${what} consumed`,
    );
    return count();
  }

  it("rides_out_a_429_storm", async () => {
    await scenario("sink_faults.429_storm", async (trial) => {
      const from = Date.now();
      const count = () => faultedSince(from, (r) => r.fault === "fail" && r.status === 429);
      // Consecutive 429s (flusso backs off between them), then most requests refused.
      trial(await consumed(() => h.emulator.faults.failNext(12, 429), count, 12, "429s"));
      h.emulator.faults.failFraction(0.6, 429, SEED);
      await workFor(SOAK ? 30_000 : 3_000);
      trial(count() - 12);
      await settleAndCheck();
    }, {
      file: FILE,
      notes: `seed ${SEED}; 12 consecutive 429s, then 60 % of requests for ${SOAK ? 30 : 3} s`,
    });
  });

  it("rides_out_5xx_bursts", async () => {
    await scenario("sink_faults.5xx_bursts", async (trial) => {
      for (const status of [503, 500, 503] as const) {
        const from = Date.now();
        const count = () => faultedSince(from, (r) => r.fault === "fail" && r.status === status);
        trial(await consumed(() => h.emulator.faults.failNext(6, status), count, 6, `${status}s`));
      }
      await settleAndCheck();
    }, { file: FILE, notes: `seed ${SEED}; 3 bursts of 6 consecutive 5xx (503, 500, 503)` });
  });

  it("rides_out_connection_resets_mid_response", async () => {
    await scenario("sink_faults.connection_resets", async (trial) => {
      for (let i = 0; i < (SOAK ? 20 : 4); i++) {
        const from = Date.now();
        const count = () => faultedSince(from, (r) => r.fault === "reset");
        trial(await consumed(() => h.emulator.faults.resetNext(2), count, 2, "resets"));
      }
      await settleAndCheck();
    }, { file: FILE, notes: `seed ${SEED}; ${SOAK ? 20 : 4} × 2 connections reset mid-response` });
  });

  it("retries_per_item_429s_until_every_item_is_accepted", async () => {
    await scenario("sink_faults.per_item_429", async (trial) => {
      // Reject every document the transactions can touch: every customer and product id.
      const [{ c }] = await h.db.sql<
        { c: string[] }[]
      >`SELECT array_agg(id::text) AS c FROM customers`;
      const [{ p }] = await h.db.sql<
        { p: string[] }[]
      >`SELECT array_agg(id::text) AS p FROM products`;
      const ids = new Set([...c, ...p]);
      const window = { ids, from: Date.now(), to: Infinity };
      itemFaults.push(window);
      h.emulator.faults.rejectItems([...ids], "429");
      await workFor(1_000);
      await sleep(SOAK ? 20_000 : 2_000); // flusso retries the rejected items meanwhile
      h.emulator.faults.clear();
      window.to = Date.now();
      const bulks = faultedSince(
        window.from,
        (r) => r.path.endsWith("/_bulk") && r.time <= window.to,
      );
      trial(bulks);
      assert.ok(bulks >= 3, `only ${bulks} bulk requests while items were rejected`);
      await workFor(500);
      await settleAndCheck();
    }, {
      file: FILE,
      notes: `seed ${SEED}; every id answered with a per-item 429 for ${SOAK ? 20 : 3} s`,
    });
  });

  it("survives_an_emulator_restart", async () => {
    await scenario("sink_faults.emulator_restart", async (trial) => {
      h.emulator.faults.latency(100); // requests in flight when the restart drops them
      const stop = new AbortController();
      const running = workload.run({ signal: stop.signal, maxMs: 120_000 });
      for (let i = 0; i < (SOAK ? 10 : 2); i++) {
        await sleep(700);
        await h.emulator.restart();
        trial();
      }
      stop.abort();
      await running;
      h.emulator.faults.clear();
      await workFor(500);
      await settleAndCheck();
    }, { file: FILE, notes: `seed ${SEED}; ${SOAK ? 10 : 2} restarts under 100 ms latency` });
  });

  it("survives_a_stall_longer_than_the_sink_timeout", async () => {
    await scenario("sink_faults.stall", async (trial) => {
      const from = Date.now();
      // Every request for STALL_MS is accepted and never answered; timeout_secs is 2.
      h.emulator.faults.stallNext(1_000_000);
      await workFor(STALL_MS);
      h.emulator.faults.clear();
      const stalled = faultedSince(from, (r) => r.fault === "stall");
      trial(stalled);
      assert.ok(stalled >= 2, `only ${stalled} requests stalled`);
      await settleAndCheck();
    }, { file: FILE, notes: `seed ${SEED}; ${STALL_MS / 1000} s stall, timeout_secs = 2` });
  });

  it("never_confirms_a_change_before_the_sink_acknowledged_its_documents", async () => {
    await scenario("sink_faults.confirmed_lsn_audit", async (trial) => {
      const samples = await sampler.stop();
      const report = auditAcks({
        samples,
        transactions: workload.transactions,
        requests: h.emulator.requests,
        ignoreItem: (entry, _index, id) =>
          itemFaults.some((w) => w.ids.has(id) && entry.time >= w.from && entry.time <= w.to),
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
      assert.ok(report.checkedDocuments >= 200, describeAckAudit(report));
      assert.equal(report.violations.length, 0, describeAckAudit(report));
    }, { file: FILE, notes: () => `seed ${SEED}; ${auditSummary}` });
  });
});
