import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "../../src/engine/backoff.ts";
import { type RetryContext, retryTransient } from "../../src/engine/retry.ts";
import { AbandonedError, PortFailedError } from "../../src/engine/errors.ts";
import { TransientSinkError } from "../../src/engine/ports.ts";
import { decide } from "../../src/engine/policy.ts";
import { fastClock, recordingObserver } from "../support/memory_ports.ts";

function context(abandon = new AbortController().signal) {
  const clock = fastClock();
  const observer = recordingObserver();
  const ctx: RetryContext = {
    clock,
    observer,
    backoff: { initialMs: 100, maxMs: 1000 },
    random: () => 0.999,
    abandon,
  };
  return { ctx, clock, observer };
}

describe("retry and backoff", () => {
  it("backoff_grows_exponentially_is_capped_and_keeps_at_least_half", () => {
    const options = { initialMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(0, options, () => 0), 50);
    assert.equal(backoffDelay(0, options, () => 0.9999), 100);
    assert.equal(backoffDelay(3, options, () => 0.9999), 800);
    assert.equal(backoffDelay(10, options, () => 0.9999), 1000);
    assert.equal(backoffDelay(1000, options, () => 0), 500);
  });

  it("retries_transient_failures_with_growing_delays_until_success", async () => {
    const { ctx, clock, observer } = context();
    let calls = 0;
    const value = await retryTransient(ctx, "sink", "sink.write", () => {
      calls++;
      return calls <= 3 ? Promise.reject(new TransientSinkError("429")) : Promise.resolve("ok");
    });
    assert.equal(value, "ok");
    assert.deepEqual(clock.sleeps, [100, 200, 400]);
    assert.deepEqual(observer.of("transient_error").map((e) => e.attempt), [1, 2, 3]);
  });

  it("wraps_a_non_transient_failure_without_retrying", async () => {
    const { ctx, clock } = context();
    const error = await retryTransient(
      ctx,
      "builder",
      "builder.build(users)",
      () => Promise.reject(new Error("column does not exist")),
    ).then(() => undefined, (e) => e);
    assert.ok(error instanceof PortFailedError);
    assert.equal(error.component, "builder");
    assert.match(error.message, /builder\.build\(users\) failed: column does not exist/);
    assert.deepEqual(clock.sleeps, []);
  });

  it("gives_up_a_pending_call_when_abandoned", async () => {
    const abandon = new AbortController();
    const { ctx } = context(abandon.signal);
    const pending = retryTransient(ctx, "sink", "sink.write", () => new Promise(() => {}));
    abandon.abort();
    await assert.rejects(pending, AbandonedError);
  });

  it("policy_stops_on_any_stop_index_and_quarantines_only_under_skip", () => {
    const r = (index: string) => ({
      write: { index, id: "1", version: 1n, document: {} },
      type: "mapper_parsing_exception",
      reason: "bad",
    });
    const policy = (index: string) => index === "strict" ? "stop" as const : "skip" as const;
    assert.equal(decide([r("loose"), r("strict")], policy).stop?.write.index, "strict");
    assert.deepEqual(decide([r("strict")], policy).quarantine, []);
    assert.equal(decide([r("loose"), r("loose")], policy).quarantine.length, 2);
  });
});
