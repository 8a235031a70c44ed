import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  type ScheduledTask,
  type Schedules,
  schedulesFromConfig,
  startSchedules,
} from "../../src/ops/schedules.ts";
import { silentLogger } from "../../src/ops/logger.ts";

const START = Date.parse("2026-03-01T00:00:30Z");
const MINUTE = 60_000;

describe("ops schedules", () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  let schedules: Schedules | undefined;
  beforeEach(() => {
    clock = FakeTimers.install({ now: START, toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => {
    schedules?.stop();
    schedules = undefined;
    clock.uninstall();
  });

  /** A runner whose runs stay in progress until released. */
  function controlledRunner() {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const run = (index: string, task: ScheduledTask) => {
      started.push(`${index}:${task}@${new Date(Date.now()).toISOString().slice(11, 16)}`);
      return new Promise<void>((resolve) => release.push(resolve));
    };
    return { started, release, run };
  }

  it("runs_each_task_when_its_cron_expression_fires", async () => {
    const { started, release, run } = controlledRunner();
    schedules = startSchedules({
      definitions: [{ index: "users", task: "verify", cron: "*/2 * * * *" }],
      run,
      logger: silentLogger,
      timezone: "UTC",
    });
    await clock.tickAsync(MINUTE);
    assert.deepEqual(started, []);
    await clock.tickAsync(MINUTE);
    assert.deepEqual(started, ["users:verify@00:02"]);
    release.shift()!();
    await clock.tickAsync(2 * MINUTE);
    assert.deepEqual(started, ["users:verify@00:02", "users:verify@00:04"]);
    release.shift()!();
    await clock.tickAsync(0);
    assert.equal(schedules.list()[0].runs, 2);
    assert.equal(schedules.list()[0].lastRun?.outcome, "ok");
  });

  it("skips_a_tick_while_the_same_index_is_still_running", async () => {
    const { started, release, run } = controlledRunner();
    schedules = startSchedules({
      definitions: [
        { index: "users", task: "verify", cron: "* * * * *" },
        { index: "users", task: "reindex", cron: "*/2 * * * *" },
        { index: "orders", task: "verify", cron: "*/2 * * * *" },
      ],
      run,
      logger: silentLogger,
      timezone: "UTC",
    });
    await clock.tickAsync(MINUTE); // 00:01 users verify starts
    await clock.tickAsync(MINUTE); // 00:02 users verify again + users reindex: both skipped; orders runs
    assert.deepEqual(started, ["users:verify@00:01", "orders:verify@00:02"]);
    const [verify, reindex, orders] = schedules.list();
    assert.equal(verify.skipped, 1);
    assert.equal(reindex.skipped, 1);
    assert.equal(orders.skipped, 0);
    assert.equal(verify.running, true);
    assert.equal(schedules.isRunning("users"), true);
    release.shift()!(); // users verify done
    await clock.tickAsync(MINUTE); // 00:03 users verify runs again
    assert.deepEqual(started.at(-1), "users:verify@00:03");
    release.forEach((r) => r());
    await schedules.idle();
  });

  it("respects_work_started_outside_the_schedules", async () => {
    const { started, run } = controlledRunner();
    let manualReindex = true;
    schedules = startSchedules({
      definitions: [{ index: "users", task: "verify", cron: "* * * * *" }],
      run,
      logger: silentLogger,
      timezone: "UTC",
      isBusy: (index) => index === "users" && manualReindex,
    });
    await clock.tickAsync(MINUTE);
    assert.deepEqual(started, []);
    manualReindex = false;
    await clock.tickAsync(MINUTE);
    assert.equal(started.length, 1);
  });

  it("records_a_failed_run_and_keeps_scheduling", async () => {
    let calls = 0;
    schedules = startSchedules({
      definitions: [{ index: "users", task: "verify", cron: "* * * * *" }],
      run: () => {
        calls++;
        return Promise.reject(new Error("opensearch unreachable"));
      },
      logger: silentLogger,
      timezone: "UTC",
    });
    await clock.tickAsync(MINUTE);
    const [state] = schedules.list();
    assert.equal(state.lastRun?.outcome, "failed");
    assert.equal(state.lastRun?.error, "opensearch unreachable");
    await clock.tickAsync(MINUTE);
    assert.equal(calls, 2);
  });

  it("lists_the_next_run_of_each_schedule", () => {
    schedules = startSchedules({
      definitions: [
        { index: "users", task: "verify", cron: "0 */6 * * *" },
        { index: "users", task: "reindex", cron: "0 3 * * 0" },
      ],
      run: () => Promise.resolve(),
      logger: silentLogger,
      timezone: "UTC",
    });
    const [verify, reindex] = schedules.list();
    assert.equal(verify.nextRun, "2026-03-01T06:00:00.000Z");
    assert.equal(reindex.nextRun, "2026-03-01T03:00:00.000Z"); // 2026-03-01 is a Sunday
    assert.equal(verify.running, false);
    schedules.stop();
    assert.equal(schedules.list()[0].nextRun, null);
  });

  it("derives_schedules_from_enabled_indexes_only", () => {
    assert.deepEqual(
      schedulesFromConfig([
        { name: "users", enabled: true, verify: "0 * * * *", reindex: undefined },
        { name: "off", enabled: false, verify: "0 * * * *", reindex: "0 3 * * *" },
        { name: "orders", enabled: true, verify: undefined, reindex: "0 3 * * *" },
      ]),
      [
        { index: "users", task: "verify", cron: "0 * * * *" },
        { index: "orders", task: "reindex", cron: "0 3 * * *" },
      ],
    );
  });
});
