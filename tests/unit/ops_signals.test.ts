import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  abortOnShutdownSignals,
  onShutdownSignals,
  type ShutdownSignal,
  type SignalSource,
} from "../../src/ops/signals.ts";

function fakeProcess() {
  const listeners = new Map<ShutdownSignal, Set<() => void>>();
  const source: SignalSource = {
    on(signal, listener) {
      listeners.set(signal, (listeners.get(signal) ?? new Set()).add(listener));
    },
    off(signal, listener) {
      listeners.get(signal)?.delete(listener);
    },
  };
  const send = (signal: ShutdownSignal) => {
    for (const listener of listeners.get(signal) ?? []) listener();
  };
  const count = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);
  return { source, send, count };
}

describe("shutdown signals", () => {
  it("first_signal_requests_a_graceful_stop_and_does_not_exit", () => {
    const fake = fakeProcess();
    const stops: string[] = [];
    const exits: number[] = [];
    onShutdownSignals((s) => stops.push(s), { source: fake.source, exit: (c) => exits.push(c) });
    fake.send("SIGTERM");
    assert.deepEqual(stops, ["SIGTERM"]);
    assert.deepEqual(exits, []);
  });

  it("second_signal_exits_at_once", () => {
    const fake = fakeProcess();
    const stops: string[] = [];
    const exits: number[] = [];
    onShutdownSignals((s) => stops.push(s), { source: fake.source, exit: (c) => exits.push(c) });
    fake.send("SIGINT");
    fake.send("SIGTERM");
    assert.deepEqual(stops, ["SIGINT"], "the stop callback runs once");
    assert.deepEqual(exits, [143]);
  });

  it("abort_signal_aborts_on_the_first_signal_and_dispose_removes_listeners", () => {
    const fake = fakeProcess();
    const { signal, dispose } = abortOnShutdownSignals({ source: fake.source, exit: () => {} });
    assert.equal(fake.count(), 2);
    assert.equal(signal.aborted, false);
    fake.send("SIGINT");
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, "SIGINT");
    dispose();
    assert.equal(fake.count(), 0);
  });
});
