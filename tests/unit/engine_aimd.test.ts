import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aimdDefaults, nextLimit } from "../../src/engine/aimd.ts";

const options = { max: 1000, min: 10, increase: 50, decreaseFactor: 0.5, targetLatencyMs: 500 };

describe("adaptive batch sizing", () => {
  it("halves_on_throttling_and_on_slow_flushes", () => {
    assert.equal(nextLimit(1000, { kind: "throttled" }, options), 500);
    assert.equal(nextLimit(500, { kind: "ok", latencyMs: 900 }, options), 250);
  });

  it("grows_additively_when_healthy_and_never_above_the_cap", () => {
    assert.equal(nextLimit(250, { kind: "ok", latencyMs: 20 }, options), 300);
    assert.equal(nextLimit(980, { kind: "ok", latencyMs: 20 }, options), 1000);
    assert.equal(nextLimit(1000, { kind: "ok", latencyMs: 20 }, options), 1000);
  });

  it("never_drops_below_the_floor", () => {
    let limit = 1000;
    for (let i = 0; i < 20; i++) limit = nextLimit(limit, { kind: "throttled" }, options);
    assert.equal(limit, 10);
  });

  it("recovers_to_the_cap_after_congestion_ends", () => {
    let limit = 10;
    for (let i = 0; i < 100; i++) limit = nextLimit(limit, { kind: "ok", latencyMs: 1 }, options);
    assert.equal(limit, 1000);
  });

  it("defaults_stay_within_the_configured_cap", () => {
    const d = aimdDefaults(1);
    assert.equal(d.max, 1);
    assert.equal(d.min, 1);
    assert.equal(nextLimit(1, { kind: "ok", latencyMs: 0 }, d), 1);
  });
});
