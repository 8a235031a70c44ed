import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isConnectionError, transientOnDisconnect } from "../../src/postgres/transient_errors.ts";
import { TransientSourceError } from "../../src/engine/ports.ts";

const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code });

describe("postgres transient errors", () => {
  it("treats_lost_connections_and_shutdowns_as_retryable", () => {
    for (const code of ["CONNECTION_CLOSED", "ECONNREFUSED", "57P01", "57P03", "08006", "40001"]) {
      assert.ok(isConnectionError(withCode(code)), code);
    }
  });

  it("keeps_query_errors_fatal", () => {
    for (const code of ["42703", "22P02", "42P01"]) {
      assert.ok(!isConnectionError(withCode(code)), code);
    }
    assert.ok(!isConnectionError(new Error("no code")));
    assert.ok(!isConnectionError("not an error"));
  });

  it("rethrows_a_disconnect_as_transient_source_error_and_other_errors_unchanged", async () => {
    await assert.rejects(
      transientOnDisconnect("build x", () => Promise.reject(withCode("CONNECTION_CLOSED"))),
      (error: unknown) => error instanceof TransientSourceError && /build x/.test(error.message),
    );
    const bad = withCode("42703");
    await assert.rejects(
      transientOnDisconnect("build x", () => Promise.reject(bad)),
      (e) => e === bad,
    );
  });
});
