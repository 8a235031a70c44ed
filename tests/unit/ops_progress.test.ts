import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createProgressBoard,
  estimateProgress,
  formatDuration,
  groupDigits,
  renderProgressLine,
} from "../../src/ops/progress.ts";
import { createLogger } from "../../src/ops/log_writer.ts";

describe("ops progress", () => {
  it("renders_bar_percent_counts_rate_and_eta", () => {
    const line = renderProgressLine(
      "users",
      { done: 45_000, total: 100_000, elapsedMs: 10_000 },
      20,
    );
    assert.equal(
      line,
      "users  [#########···········]   45%  45,000/100,000 rows  4,500 rows/s  ETA 12s",
    );
  });

  it("renders_without_a_bar_when_the_total_is_unknown", () => {
    assert.equal(
      renderProgressLine("users", { done: 1234, total: 0, elapsedMs: 2_000 }),
      "users  1,234 rows  617 rows/s",
    );
  });

  it("holds_at_99_percent_with_unknown_eta_when_the_estimate_was_low", () => {
    const e = estimateProgress({ done: 150, total: 100, elapsedMs: 1000 });
    assert.equal(e.fraction, 0.99);
    assert.equal(e.etaMs, undefined);
    assert.match(
      renderProgressLine("x", { done: 150, total: 100, elapsedMs: 1000 }),
      /99%.*ETA \?$/,
    );
  });

  it("has_no_rate_or_eta_before_time_passed", () => {
    const e = estimateProgress({ done: 0, total: 100, elapsedMs: 0 });
    assert.equal(e.rate, 0);
    assert.equal(e.etaMs, undefined);
    assert.equal(e.fraction, 0);
  });

  it("formats_numbers_and_durations_for_humans", () => {
    assert.equal(groupDigits(1234567), "1,234,567");
    assert.equal(groupDigits(999), "999");
    assert.equal(formatDuration(44_000), "44s");
    assert.equal(formatDuration(185_000), "3m05s");
    assert.equal(formatDuration(7_620_000), "2h07m");
  });

  it("draws_bars_in_place_on_a_terminal_throttled", () => {
    let t = 0;
    const out: string[] = [];
    const board = createProgressBoard({
      isTTY: true,
      write: (s) => out.push(s),
      logger: createLogger({ format: "json", level: "debug", write: () => assert.fail("no logs") }),
      now: () => t,
      redrawMs: 100,
    });
    const users = board.track("users", 1000);
    const orders = board.track("orders", 0);
    const before = out.length;
    t = 50;
    users.update(10);
    assert.equal(out.length, before, "redraws are throttled");
    t = 200;
    users.update(500);
    const frame = out.at(-1)!;
    assert.ok(frame.startsWith("\r\x1b[1A\x1b[J"), JSON.stringify(frame));
    assert.match(frame, /users .*50%/);
    assert.match(frame, /orders .*0 rows/);
    users.finish();
    assert.ok(out.join("").includes("users  done: 500 rows in 0s"));
    assert.ok(!out.at(-1)!.includes("users "));
    orders.finish();
  });

  it("logs_progress_at_intervals_off_a_terminal", () => {
    let t = 0;
    const lines: Record<string, unknown>[] = [];
    const board = createProgressBoard({
      isTTY: false,
      write: () => assert.fail("no bars off a terminal"),
      logger: createLogger({
        format: "json",
        level: "info",
        write: (l) => lines.push(JSON.parse(l)),
      }),
      now: () => t,
      logEveryMs: 10_000,
    });
    const track = board.track("users", 100_000);
    t = 5_000;
    track.update(10_000);
    t = 10_000;
    track.update(20_000);
    t = 15_000;
    track.update(30_000);
    t = 20_000;
    track.finish();
    assert.deepEqual(lines.map((l) => l.msg), [
      "backfill started",
      "backfill progress",
      "backfill finished",
    ]);
    assert.equal(lines[1].index, "users");
    assert.equal(lines[1].rows, 20_000);
    assert.equal(lines[1].percent, 20);
    assert.equal(lines[1].rows_per_second, 2_000);
    assert.equal(lines[1].eta_seconds, 40);
    assert.equal(lines[2].rows, 30_000);
  });
});
