import { describe, it } from "node:test";
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createSystemdNotifier, watchdogInterval } from "../../src/ops/systemd_notify.ts";
import { silentLogger } from "../../src/ops/logger.ts";

function recording(env: Record<string, string>) {
  const sent: string[][] = [];
  const notifier = createSystemdNotifier({
    logger: silentLogger,
    env,
    pid: 42,
    transport: (a) => {
      sent.push([...a]);
      return Promise.resolve();
    },
  });
  return { notifier, sent };
}

describe("ops systemd notify", () => {
  it("sends_nothing_when_not_under_systemd", async () => {
    const { notifier, sent } = recording({});
    assert.equal(notifier.enabled, false);
    await notifier.ready("live");
    await notifier.watchdog();
    await notifier.stopping();
    assert.deepEqual(sent, []);
  });

  it("sends_ready_status_and_stopping_in_order_on_one_line_each", async () => {
    const { notifier, sent } = recording({ NOTIFY_SOCKET: "/run/x" });
    void notifier.ready("live: 2 indexes");
    void notifier.status("lag 10 bytes\nsecond line");
    await notifier.stopping("draining");
    assert.deepEqual(sent, [
      ["READY=1", "STATUS=live: 2 indexes"],
      ["STATUS=lag 10 bytes second line"],
      ["STOPPING=1", "STATUS=draining"],
    ]);
  });

  it("a_failing_transport_never_throws_into_the_caller", async () => {
    const notifier = createSystemdNotifier({
      logger: silentLogger,
      env: { NOTIFY_SOCKET: "/run/x" },
      transport: () => Promise.reject(new Error("boom")),
    });
    await notifier.ready();
    await notifier.watchdog();
  });

  it("derives_the_ping_interval_as_half_of_watchdog_usec_for_this_pid_only", () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: "30000000" }, 1), 15_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }, 1), 15_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "2" }, 1), undefined);
    assert.equal(watchdogInterval({}, 1), undefined);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: "x" }, 1), undefined);
  });

  it("pings_the_watchdog_at_half_the_interval_only_while_healthy", async () => {
    const clock = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
    try {
      const { notifier, sent } = recording({ NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "10000000" });
      assert.equal(notifier.watchdogIntervalMs, 5_000);
      let healthy = true;
      const stop = notifier.startWatchdog(() => healthy);
      clock.tick(4_999);
      assert.equal(sent.length, 0);
      clock.tick(1);
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(sent, [["WATCHDOG=1"]]);
      healthy = false;
      clock.tick(10_000);
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(sent.length, 1, "an unhealthy process must stop pinging");
      healthy = true;
      clock.tick(5_000);
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(sent.length, 2);
      stop();
      clock.tick(60_000);
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(sent.length, 2, "no pings after stop");
    } finally {
      clock.uninstall();
    }
  });

  it("does_not_arm_a_watchdog_without_watchdog_usec", () => {
    const { notifier } = recording({ NOTIFY_SOCKET: "/run/x" });
    assert.equal(notifier.watchdogIntervalMs, undefined);
    notifier.startWatchdog(() => true)();
  });
});
