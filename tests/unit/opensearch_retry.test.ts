import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, classifyRequestError } from "../../src/opensearch/retry.ts";

const policy = { baseMs: 100, capMs: 1000 };
const responseError = (statusCode: number) =>
  Object.assign(new Error("boom"), { name: "ResponseError", statusCode });

describe("retry policy", () => {
  it("doubles_the_delay_per_attempt_up_to_the_cap", () => {
    const max = (attempt: number) => backoffDelay(attempt, policy, () => 1);
    assert.deepEqual([0, 1, 2, 3, 4, 10, 1000].map(max), [100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it("jitters_within_the_upper_half_of_the_step", () => {
    assert.equal(backoffDelay(2, policy, () => 0), 200);
    assert.equal(backoffDelay(2, policy, () => 0.5), 300);
    assert.equal(backoffDelay(2, policy, () => 1), 400);
  });

  it("retries_network_failures_timeouts_429_and_5xx", () => {
    for (const name of ["ConnectionError", "TimeoutError", "NoLivingConnectionsError"]) {
      assert.equal(classifyRequestError(Object.assign(new Error("x"), { name })).kind, "transient");
    }
    for (const status of [429, 500, 502, 503, 504]) {
      assert.equal(classifyRequestError(responseError(status)).kind, "transient");
    }
  });

  it("gives_up_on_tls_verification_failures_with_a_hint", () => {
    const error = Object.assign(new Error("self-signed certificate"), { name: "ConnectionError" });
    const failure = classifyRequestError(error);
    assert.equal(failure.kind, "fatal");
    assert.match(failure.message, /ca_file/);
  });

  it("splits_on_413_and_gives_up_on_other_4xx", () => {
    assert.equal(classifyRequestError(responseError(413)).kind, "too_large");
    for (const status of [400, 401, 403]) {
      assert.equal(classifyRequestError(responseError(status)).kind, "fatal");
    }
    assert.equal(classifyRequestError(new TypeError("bug")).kind, "fatal");
  });
});
