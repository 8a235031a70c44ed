import { describe, it } from "node:test";
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { runtimeCollector, startMemoryCeiling } from "../../src/ops/memory_ceiling.ts";

const MiB = 1024 * 1024;

/** Runs `test` with fake intervals (what the ceiling's check uses), restored afterwards. */
function withFakeIntervals(test: (clock: ReturnType<typeof FakeTimers.install>) => void): void {
  const clock = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
  try {
    test(clock);
  } finally {
    clock.uninstall();
  }
}

describe("memory ceiling", () => {
  it("collects_only_while_the_resident_set_is_above_the_ceiling_at_most_once_per_interval", () => {
    withFakeIntervals((clock) => {
      let rss = 100 * MiB;
      let collections = 0;
      const stop = startMemoryCeiling({
        softLimitBytes: 160 * MiB,
        intervalMs: 1000,
        growthBytes: 0,
        rss: () => rss,
        heapUsed: () => 10 * MiB,
        collect: () => collections++,
      });
      clock.tick(5000);
      assert.equal(collections, 0, "below the ceiling nothing is collected");
      rss = 170 * MiB;
      clock.tick(999);
      assert.equal(collections, 0, "no collection before the next check");
      clock.tick(3001);
      assert.equal(collections, 4, "one collection per interval while above");
      rss = 150 * MiB;
      clock.tick(3000);
      assert.equal(collections, 4);
      stop();
      rss = 300 * MiB;
      clock.tick(10_000);
      assert.equal(collections, 4, "stopped: no more checks");
    });
  });

  it("collects_again_only_after_the_resident_set_grew_by_a_step", () => {
    withFakeIntervals((clock) => {
      let rss = 170 * MiB;
      let collections = 0;
      const stop = startMemoryCeiling({
        softLimitBytes: 160 * MiB,
        intervalMs: 1000,
        growthBytes: 16 * MiB,
        rss: () => rss,
        heapUsed: () => 10 * MiB,
        collect: () => collections++,
      });
      clock.tick(1000);
      assert.equal(collections, 1);
      clock.tick(5000);
      assert.equal(collections, 1, "a plateau above the ceiling is not collected again");
      rss = 187 * MiB;
      clock.tick(1000);
      assert.equal(collections, 2, "16 MiB of growth is");
      rss = 150 * MiB;
      clock.tick(1000);
      rss = 161 * MiB;
      clock.tick(1000);
      assert.equal(collections, 3, "back above the ceiling after dropping below it");
      stop();
    });
  });

  it("collects_again_when_garbage_grew_a_step_even_if_the_resident_set_did_not", () => {
    withFakeIntervals((clock) => {
      let heap = 40 * MiB;
      let collections = 0;
      const stop = startMemoryCeiling({
        softLimitBytes: 160 * MiB,
        intervalMs: 1000,
        growthBytes: 16 * MiB,
        rss: () => 170 * MiB,
        heapUsed: () => heap,
        collect: () => {
          collections++;
          heap = 20 * MiB; // what is left live
        },
      });
      clock.tick(1000);
      assert.equal(collections, 1);
      heap = 35 * MiB;
      clock.tick(3000);
      assert.equal(collections, 1, "15 MiB of new garbage is under the step");
      heap = 36 * MiB;
      clock.tick(1000);
      assert.equal(collections, 2, "16 MiB of new garbage since the last collection is not");
      stop();
    });
  });

  it("backs_off_when_a_collection_finds_the_memory_live", () => {
    withFakeIntervals((clock) => {
      let heap = 100 * MiB; // over half the ceiling: live data, not garbage
      const at: number[] = [];
      const stop = startMemoryCeiling({
        softLimitBytes: 160 * MiB,
        intervalMs: 1000,
        growthBytes: 0,
        rss: () => 200 * MiB,
        heapUsed: () => heap,
        collect: () => at.push(clock.now / 1000),
      });
      clock.tick(16_000);
      // Waits of 1, 2, 4 … intervals between fruitless collections.
      assert.deepEqual(at, [1, 3, 6, 11]);
      heap = 20 * MiB; // garbage again: after the pending wait, every interval
      clock.tick(7_000);
      assert.deepEqual(at.slice(4), [20, 21, 22, 23]);
      stop();
    });
  });

  it("uses_the_runtime_collector_only_where_one_is_exposed", () => {
    const g = globalThis as { Bun?: { gc?: (force: boolean) => void } };
    // Under Bun the collector exists; under Deno without --expose-gc it does not.
    assert.equal(
      runtimeCollector() !== undefined,
      typeof g.Bun?.gc === "function" || "gc" in globalThis,
    );
    if (!("Bun" in globalThis) && !("gc" in globalThis)) {
      // Nothing to call: starting is a no-op that needs no stopping.
      const stop = startMemoryCeiling({ softLimitBytes: 0, intervalMs: 1 });
      stop();
    }
  });
});
