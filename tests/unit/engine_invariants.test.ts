/**
 * The engine's invariants over in-memory ports: what reaches the sink, what is confirmed to
 * the source and when, backfill, failure policies, crashes and backpressure.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runEngine } from "../../src/engine/engine.ts";
import type { EngineIndex, EngineOptions } from "../../src/engine/options.ts";
import type { PipelineConfig } from "../../src/config/model.ts";
import { DocumentRejectedError, PortFailedError } from "../../src/engine/errors.ts";
import type { Lsn } from "../../src/engine/change.ts";
import { type Clock, systemClock } from "../../src/engine/clock.ts";
import {
  change,
  eventually,
  fastClock,
  memoryBuilder,
  type MemoryBuilderOptions,
  type MemoryRows,
  memoryRows,
  memorySink,
  type MemorySinkOptions,
  memorySource,
  type MemorySourceOptions,
  recordingObserver,
  setRow,
  settle,
  SimulatedCrash,
  type Timeline,
} from "../support/memory_ports.ts";

const pipeline: PipelineConfig = {
  queueCapacity: 1000,
  queueBytes: 1 << 20,
  maxChanges: 100,
  maxDelayMs: 60_000,
  maxBatchBytes: 1 << 20,
};

function index(name: string, extra: Partial<EngineIndex> = {}): EngineIndex {
  return {
    name,
    enabled: true,
    definition: { index: name, body: {}, schemaHash: "h1" },
    ...extra,
  };
}

function engineOptions(overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    pipeline,
    onError: "stop",
    indexes: [index("users")],
    backoff: { initialMs: 1, maxMs: 4 },
    ...overrides,
  };
}

interface Harness {
  rows: MemoryRows;
  source: ReturnType<typeof memorySource>;
  builder: ReturnType<typeof memoryBuilder>;
  sink: ReturnType<typeof memorySink>;
  observer: ReturnType<typeof recordingObserver>;
  timeline: Timeline;
}

function harness(
  options: {
    source?: MemorySourceOptions;
    sink?: MemorySinkOptions;
    builder?: MemoryBuilderOptions;
    rows?: MemoryRows;
  } = {},
): Harness {
  const timeline: Timeline = [];
  const rows = options.rows ?? memoryRows("users");
  return {
    rows,
    timeline,
    source: memorySource({ timeline, ...options.source }),
    builder: memoryBuilder(rows, options.builder),
    sink: memorySink({ timeline, indexes: { users: { seeded: true } }, ...options.sink }),
    observer: recordingObserver(),
  };
}

function run(
  h: Harness,
  options: EngineOptions = engineOptions(),
  signal?: AbortSignal,
  clock: Clock = fastClock(),
) {
  return runEngine(
    { source: h.source, builder: h.builder, sink: h.sink, observer: h.observer, clock },
    options,
    signal ?? new AbortController().signal,
  );
}

/** Commits one transaction per user id, setting its row; returns the commit LSNs. */
function commitUsers(h: Harness, ids: string[], firstLsn = 10n): Lsn[] {
  return ids.map((id, i) => {
    const lsn = firstLsn + BigInt(i) * 10n;
    setRow(h.rows, "users", id, { name: `user ${id}` });
    h.source.commit(lsn, [change("users", id, lsn)]);
    return lsn;
  });
}

/**
 * Every `confirm:X` in `timeline` comes after a write of each document a transaction at or
 * below X touched, at a version at least that transaction's LSN: nothing is confirmed before
 * its documents are in the sink. `ids[i]` is the user the transaction at `lsns[i]` changed.
 */
function assertEveryConfirmFollowsItsWrites(timeline: Timeline, ids: string[], lsns: Lsn[]) {
  const written = new Map<string, bigint>();
  for (const entry of timeline) {
    if (entry.startsWith("write:")) {
      for (const item of entry.slice("write:".length).split(",")) {
        const [doc, version] = item.split("@");
        const id = doc.split("/")[1];
        const v = BigInt(version);
        if ((written.get(id) ?? -1n) < v) written.set(id, v);
      }
    } else if (entry.startsWith("confirm:")) {
      const confirmed = BigInt(entry.slice("confirm:".length));
      lsns.forEach((lsn, i) => {
        if (lsn > confirmed) return;
        const at = written.get(ids[i]);
        assert.ok(
          at !== undefined && at >= lsn,
          `confirm:${confirmed} before users/${ids[i]} was written at ${lsn} or later`,
        );
      });
    }
  }
}

/**
 * Commits one transaction per user in `ids` while the sink holds its first write, so the
 * whole backlog is queued before anything is written, then lets the engine drain it.
 */
async function drainHeldBacklog(ids: string[], options: EngineOptions) {
  const hold = gate();
  const h = harness({ sink: { gate: hold.promise } });
  const lsns = commitUsers(h, ids);
  const running = run(h, options);
  await eventually(() => h.source.pulled === 2 * ids.length, "the backlog is queued");
  hold.open();
  await running;
  return { h, lsns };
}

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** `users` rows "00", "01", … (two-digit ids, so text order is key order), each `{ n: i }`. */
function numberedUsers(count: number) {
  const rows = memoryRows("users");
  for (let i = 0; i < count; i++) setRow(rows, "users", String(i).padStart(2, "0"), { n: i });
  return rows;
}
/** A harness whose unseeded `users` index of `count` rows backfills by ranges between bounds. */
function rangedBackfill(count: number) {
  return harness({
    rows: numberedUsers(count),
    builder: { pages: true, bounds: true },
    sink: { indexes: { users: { seeded: false } } },
  });
}

/** The builder's reads in order: `scan`, `bounds>after`, `page>after..through` (`end`: open). */
function readCalls(h: ReturnType<typeof harness>): string[] {
  return h.builder.scans.map((s) =>
    s.bounds ? `bounds>${s.after}` : s.page ? `page>${s.after}..${s.through ?? "end"}` : "scan"
  );
}

describe("engine invariants", () => {
  it("drives_changes_to_the_sink_and_confirms_each", async () => {
    const h = harness();
    const lsns = commitUsers(h, ["1", "2", "3"]);
    setRow(h.rows, "users", "3", null);
    const result = await run(h);
    assert.equal(result.reason, "source_ended");
    assert.deepEqual([...h.sink.documents("users").keys()].sort(), ["1", "2"]);
    assert.deepEqual(h.sink.documents("users").get("1"), { name: "user 1" });
    assert.equal(h.sink.indexes.get("users")!.docs.get("3")?.document, null, "3 is deleted");
    const last = lsns[lsns.length - 1];
    assert.equal(h.source.confirmedLsn, last);
    assert.equal(result.confirmedLsn, last);
    for (const lsn of lsns) assert.ok(h.source.confirmedLsn >= lsn, `${lsn} confirmed`);
    assert.equal(result.changes, 3);
  });

  it("batches_into_a_single_flush", async () => {
    const h = harness();
    const ids = Array.from({ length: 40 }, (_, i) => String(i));
    const lsns = commitUsers(h, ids);
    await run(h);
    assert.equal(h.sink.writes.length, 1);
    assert.equal(h.sink.writes[0].writes.length, 40);
    assert.deepEqual(h.source.confirms, [lsns[lsns.length - 1]]);
    const committed = h.observer.of("batch_committed");
    assert.equal(committed.length, 1);
    assert.equal(committed[0].changes, 40);
    assert.equal(committed[0].transactions, 40);
    assert.deepEqual(committed[0].documents, { users: 40 });
  });

  it("writes_a_batch_two_parts_at_once_and_its_refreshing_last_part_after_all_others", async () => {
    // Part 1's write is held until part 2's starts (or 300 ms pass, so a one-at-a-time flush
    // fails this test instead of hanging it).
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    const timer = setTimeout(() => releaseFirst(), 300);
    let firstHeld = true;
    let overlapped = false;
    let lastStartedEarly = false;
    first.then(() => (firstHeld = false));
    const h = harness({
      sink: {
        gateOf: (call) => {
          if (call === 2) {
            overlapped = firstHeld;
            releaseFirst();
          }
          if (call === 3) lastStartedEarly = h.sink.writes.length < 2;
          return call === 1 ? first : undefined;
        },
      },
    });
    const lsns = commitUsers(h, ["1", "2", "3", "4", "5", "6"]);
    await run(h, engineOptions({ flushChunkSize: 2 }));
    clearTimeout(timer);
    assert.ok(overlapped, "the second part was written while the first was in flight");
    assert.equal(h.sink.writes.length, 3);
    assert.ok(!lastStartedEarly, "the caught-up batch's last part waited for the others");
    assert.deepEqual(h.sink.writes.map((w) => w.caughtUp), [false, false, true]);
    assert.equal(h.sink.documents("users").size, 6);
    // Confirmed once, after every part.
    assert.deepEqual(h.source.confirms, [lsns.at(-1)]);
    assert.equal(h.timeline.at(-1), `confirm:${lsns.at(-1)}`);
  });

  it("builds_a_repeatedly_touched_document_once_per_batch_while_confirming_every_change", async () => {
    const h = harness({ builder: { routes: { orders: { index: "users", column: "user_id" } } } });
    setRow(h.rows, "users", "1", { name: "one", orders: 20 });
    const lsns: Lsn[] = [];
    for (let i = 0; i < 20; i++) {
      const lsn = 100n + BigInt(i);
      lsns.push(lsn);
      h.source.commit(lsn, [
        change("users", "1", lsn),
        change("orders", "1", lsn, { column: "user_id", op: "insert" }),
      ]);
    }
    await run(h);
    assert.deepEqual(h.builder.built, ["users/1"]);
    assert.equal(h.sink.writes.length, 1);
    assert.deepEqual(h.sink.writes[0].writes.map((w) => w.id), ["1"]);
    assert.equal(h.sink.writes[0].writes[0].version, lsns[lsns.length - 1], "max LSN as version");
    for (const lsn of lsns) assert.ok(h.source.confirmedLsn >= lsn);
  });

  it("writes_a_document_whose_root_row_the_batch_deleted_as_a_delete_without_building_it", async () => {
    const h = harness({ builder: { gone: true } });
    setRow(h.rows, "users", "1", { name: "one" });
    // A stale row for 2: were 2 built, it would be written as a document.
    setRow(h.rows, "users", "2", { name: "stale" });
    setRow(h.rows, "users", "3", { name: "three again" });
    h.source.commit(10n, [
      change("users", "1", 10n),
      change("users", "2", 10n, { op: "delete" }),
      change("users", "3", 10n, { op: "delete" }),
    ]);
    h.source.commit(20n, [change("users", "3", 20n, { op: "insert" })]);
    await run(h);
    assert.deepEqual(h.builder.built.sort(), ["users/1", "users/3"]);
    assert.deepEqual(h.builder.absentKeys, ["users/2"]);
    const docs = h.sink.indexes.get("users")!.docs;
    assert.equal(docs.get("2")?.document, null, "2 is deleted");
    assert.equal(docs.get("2")?.version, 20n, "at the batch's version");
    assert.deepEqual(h.sink.documents("users").get("3"), { name: "three again" });
    assert.equal(h.source.confirmedLsn, 20n);
  });

  it("builds_a_key_a_later_slice_of_its_transaction_recreated_and_skips_one_it_deleted", async () => {
    const h = harness({ builder: { gone: true } });
    setRow(h.rows, "users", "x", { name: "x again" });
    setRow(h.rows, "users", "y", { name: "stale" });
    // One transaction of 25 changes: three slices of at most 10, carried until the commit.
    const changes = [
      change("users", "x", 50n, { op: "delete" }),
      change("users", "y", 50n),
      ...Array.from({ length: 20 }, (_, i) => change("users", `f${i}`, 50n)),
      change("users", "x", 50n, { op: "insert" }),
      change("users", "y", 50n, { op: "delete" }),
      change("users", "z", 50n),
    ];
    for (let i = 0; i < 20; i++) setRow(h.rows, "users", `f${i}`, { n: i });
    setRow(h.rows, "users", "z", { name: "z" });
    h.source.commit(50n, changes);
    await run(h, engineOptions({ pipeline: { ...pipeline, maxChanges: 10 } }));
    assert.ok(h.builder.built.includes("users/x"), "x was recreated: built");
    assert.ok(!h.builder.built.includes("users/y"), "y was deleted last: not built");
    assert.deepEqual(h.builder.absentKeys, ["users/y"]);
    assert.deepEqual(h.sink.documents("users").get("x"), { name: "x again" });
    assert.equal(h.sink.indexes.get("users")!.docs.get("y")?.document, null);
    assert.equal(h.source.confirmedLsn, 50n);
  });

  it("confirms_nothing_before_its_flush", async () => {
    const hold = gate();
    const h = harness({ source: { follow: true }, sink: { gate: hold.promise } });
    const stop = new AbortController();
    const running = run(
      h,
      engineOptions({ pipeline: { ...pipeline, maxDelayMs: 1 } }),
      stop.signal,
    );
    commitUsers(h, ["1"], 50n);
    await eventually(() => h.sink.writeCalls === 1, "the flush started");
    await settle();
    assert.deepEqual(h.source.confirms, [], "nothing confirmed while the flush is pending");
    hold.open();
    await eventually(() => h.source.confirms.length === 1, "confirmed after the flush");
    stop.abort();
    await running;
    const write = h.timeline.findIndex((e) => e.startsWith("write:"));
    const confirm = h.timeline.indexOf("confirm:50");
    assert.ok(write >= 0 && confirm > write, h.timeline.join(" "));
  });

  it("confirms_a_transaction_split_across_batches_only_after_its_commit_flushed", async () => {
    const h = harness();
    for (const id of ["1", "2", "3"]) setRow(h.rows, "users", id, { id });
    h.source.commit(70n, [
      change("users", "1", 0n),
      change("users", "2", 0n),
      change("users", "3", 0n),
    ]);
    await run(h, engineOptions({ pipeline: { ...pipeline, maxChanges: 2 } }));
    assert.equal(h.observer.of("batch_held").length, 1, "the slice without the commit is held");
    const [committed, ...more] = h.observer.of("batch_committed");
    assert.equal(more.length, 0, "one flush");
    assert.equal(committed.changes, 3, "it completes the held slice's changes too");
    assert.equal(committed.transactions, 1);
    // The slice without the commit is built and written with the one holding it.
    assert.equal(h.sink.writes.length, 1);
    assert.equal(h.sink.documents("users").size, 3);
    assert.deepEqual(h.source.confirms, [70n], "only the batch holding the commit confirms");
    const confirm = h.timeline.indexOf("confirm:70");
    assert.equal(confirm, h.timeline.length - 1);
  });

  it("builds_a_backlogs_hot_documents_once_per_catch_up_window_and_confirms_after_writing_them", async () => {
    // 300 transactions over 10 users: a backlog that touches every document 30 times.
    const ids = Array.from({ length: 300 }, (_, i) => String(i % 10));
    const options = engineOptions({ pipeline: { ...pipeline, maxChanges: 10 } });
    const { h, lsns } = await drainHeldBacklog(ids, options);
    const committed = h.observer.of("batch_committed");
    const batches = committed.length + h.observer.of("batch_held").length;
    assert.ok(batches >= 30, `${batches} batches`);
    assert.ok(h.observer.of("batch_held").length > 0, "batches were held in a window");
    // Every change is counted once, when the batch that writes it commits.
    assert.equal(committed.reduce((n, b) => n + b.changes, 0), 300);
    assert.equal(committed.reduce((n, b) => n + b.transactions, 0), 300);
    assert.ok(
      h.builder.built.length <= 30,
      `30 batches of 10 changes built ${h.builder.built.length} documents`,
    );
    assert.equal(h.source.confirmedLsn, lsns.at(-1));
    assertEveryConfirmFollowsItsWrites(h.timeline, ids, lsns);
    assert.equal(h.sink.documents("users").size, 10);
  });

  it("builds_every_batch_on_its_own_when_the_catch_up_window_is_off", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => String(i % 10));
    const options = engineOptions({
      pipeline: { ...pipeline, maxChanges: 10 },
      catchUpWindowMs: 0,
    });
    const { h, lsns } = await drainHeldBacklog(ids, options);
    assert.equal(h.builder.built.length, 300, "ten documents in each of 30 batches");
    assertEveryConfirmFollowsItsWrites(h.timeline, ids, lsns);
  });

  it("builds_and_confirms_a_carried_window_when_traffic_stops_without_a_partial_batch", async () => {
    const hold = gate();
    const h = harness({ source: { follow: true }, sink: { gate: hold.promise } });
    const stop = new AbortController();
    // 100 one-change transactions, 10 changes a batch: every batch closes full.
    const lsns = commitUsers(h, Array.from({ length: 100 }, (_, i) => String(i % 7)));
    const options = engineOptions({ pipeline: { ...pipeline, maxChanges: 10, maxDelayMs: 5 } });
    const running = run(h, options, stop.signal);
    await eventually(() => h.source.pulled === 200, "the backlog is queued");
    hold.open();
    // The source stays open and silent: the window must not wait for more changes.
    await eventually(() => h.source.confirmedLsn === lsns.at(-1), "the last commit confirmed");
    stop.abort();
    await running;
    assert.equal(h.sink.documents("users").size, 7);
  });

  it("writes_a_closing_window_in_chunks_and_builds_the_rest_while_writing", async () => {
    // 200 distinct users, 10 changes a batch: windows of up to 80 keys, built 5 at a time.
    const ids = Array.from({ length: 200 }, (_, i) => String(i));
    const options = engineOptions({
      pipeline: { ...pipeline, maxChanges: 10 },
      flushChunkSize: 5,
    });
    const { h, lsns } = await drainHeldBacklog(ids, options);
    assert.equal(h.sink.documents("users").size, 200);
    assert.equal(h.builder.built.length, 200, "each document built once");
    assert.ok(h.sink.writes.every((w) => w.writes.length <= 5), "writes of at most 5");
    assert.ok(h.sink.writes.some((w) => w.writes.length > 0));
    assert.equal(h.source.confirmedLsn, lsns.at(-1));
    assertEveryConfirmFollowsItsWrites(h.timeline, ids, lsns);
  });

  it("seeds_an_unseeded_index_then_marks_it", async () => {
    const rows = numberedUsers(25);
    const h = harness({
      rows,
      source: { slotCreated: true, startLsn: 5n, snapshot: "snap-1" },
      sink: { indexes: { users: { seeded: false } } },
    });
    await run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 }));
    assert.deepEqual(h.sink.seeded, ["users"]);
    assert.equal(h.sink.documents("users").size, 25);
    for (const doc of h.sink.indexes.get("users")!.docs.values()) assert.equal(doc.version, 5n);
    assert.ok(h.builder.scans.every((s) => s.snapshot === "snap-1"), "reads under the snapshot");
    assert.ok(h.source.snapshotReleased);
    const progress = h.observer.of("backfill_progress");
    assert.deepEqual(progress.map((p) => p.rowsDone), [10, 20, 25]);
    assert.equal(h.observer.of("backfill_finished")[0].rows, 25);
    assert.ok(h.timeline.every((e) => !e.startsWith("confirm:")));
  });

  it("backfills_pages_after_the_first_from_key_ranges_under_the_snapshot", async () => {
    const rows = numberedUsers(25);
    const h = harness({
      rows,
      builder: { pages: true },
      source: { slotCreated: true, startLsn: 5n, snapshot: "snap-1" },
      sink: { indexes: { users: { seeded: false } } },
    });
    await run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 }));
    assert.deepEqual(h.sink.seeded, ["users"]);
    assert.equal(h.sink.documents("users").size, 25);
    // The first page is a key scan, the rest are range builds after the previous page's end.
    assert.deepEqual(
      h.builder.scans.map((s) => [s.page ?? false, s.after?.[0], s.snapshot]),
      [[false, undefined, "snap-1"], [true, "09", "snap-1"], [true, "19", "snap-1"]],
    );
    assert.deepEqual(h.observer.of("backfill_progress").map((p) => p.rowsDone), [10, 20, 25]);
  });

  it("backfills_ranges_between_page_bounds_and_saves_their_cursors_in_key_order", async () => {
    const rows = numberedUsers(45);
    const h = harness({
      rows,
      builder: { pages: true, bounds: true },
      source: { slotCreated: true, startLsn: 5n, snapshot: "snap-1" },
      sink: { indexes: { users: { seeded: false } } },
    });
    await run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 }));
    assert.equal(h.sink.documents("users").size, 45);
    assert.equal(new Set(h.builder.built).size, h.builder.built.length, "each row built once");
    // A key scan first; then bounds (keys only) and ranges between them; an open page at the end.
    const calls = readCalls(h);
    assert.deepEqual(calls.filter((c) => !c.startsWith("page")), ["scan", "bounds>09"]);
    assert.deepEqual(calls.filter((c) => c.startsWith("page")).sort(), [
      "page>09..19",
      "page>19..29",
      "page>29..39",
      "page>39..end",
    ]);
    assert.ok(h.builder.scans.every((s) => s.snapshot === "snap-1"), "reads under the snapshot");
    const cursors = h.timeline.filter((e) => e.startsWith("cursor:"));
    assert.deepEqual(cursors, [
      "cursor:users/09",
      "cursor:users/19",
      "cursor:users/29",
      "cursor:users/39",
      "cursor:users/44",
    ]);
    assert.deepEqual(h.observer.of("backfill_progress").map((p) => p.rowsDone), [
      10,
      20,
      30,
      40,
      45,
    ]);
  });

  it("asks_for_the_next_page_bounds_before_the_pages_of_the_current_ones_run_out", async () => {
    const h = rangedBackfill(99);
    await run(h, engineOptions({ backfillPageSize: 5, backfillCursorIntervalMs: 0 }));
    assert.equal(h.sink.documents("users").size, 99);
    assert.equal(new Set(h.builder.built).size, h.builder.built.length, "each row built once");
    const calls = readCalls(h);
    // Eight bounds per query; each next query starts at the last bound of the one before.
    assert.deepEqual(calls.filter((c) => c.startsWith("bounds")), [
      "bounds>04",
      "bounds>44",
      "bounds>84",
    ]);
    // Asked while pages of the batch were still to be read: the write of the page just read
    // never waits for a bounds query.
    assert.ok(calls.indexOf("bounds>44") < calls.indexOf("page>39..44"), calls.join(" "));
    assert.ok(calls.indexOf("bounds>84") < calls.indexOf("page>79..84"), calls.join(" "));
    assert.equal(calls.at(-1), "page>94..end");
  });

  it("saves_the_backfill_cursor_at_most_once_per_interval_and_always_the_last", async () => {
    const h = rangedBackfill(45);
    // The test clock stands still: within one interval only the first and the last are saved.
    await run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 60_000 }));
    assert.equal(h.sink.documents("users").size, 45);
    const cursors = h.timeline.filter((e) => e.startsWith("cursor:"));
    assert.deepEqual(cursors, ["cursor:users/09", "cursor:users/44"]);
    // The last save follows every write.
    const lastWrite = h.timeline.findLastIndex((e) => e.startsWith("write:"));
    assert.ok(h.timeline.indexOf("cursor:users/44") > lastWrite);
    assert.deepEqual(h.sink.seeded, ["users"]);
  });

  it("resumes_a_ranged_backfill_after_its_saved_cursor", async () => {
    const rows = numberedUsers(25);
    const h = harness({
      rows,
      builder: { pages: true, bounds: true },
      sink: { indexes: { users: { seeded: false, cursor: ["12"] } } },
    });
    await run(h, engineOptions({ backfillPageSize: 5, backfillCursorIntervalMs: 0 }));
    // Rows up to the cursor were written before the restart; only later ones are read now.
    assert.deepEqual([...h.sink.documents("users").keys()].sort(), [
      ...Array.from({ length: 12 }, (_, i) => String(i + 13)),
    ]);
    assert.ok(h.builder.scans.every((s) => s.after !== undefined), "no scan from the start");
    assert.deepEqual(h.sink.seeded, ["users"]);
  });

  it("saves_each_backfill_cursor_only_after_its_page_and_every_earlier_page_were_written", async () => {
    const rows = numberedUsers(30);
    // The first page's write is held until the second page's write starts (or 300 ms pass,
    // so a one-at-a-time backfill fails this test instead of hanging it).
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    const timer = setTimeout(() => releaseFirst(), 300);
    let firstHeld = true;
    let overlapped = false;
    first.then(() => (firstHeld = false));
    const h = harness({
      rows,
      sink: {
        indexes: { users: { seeded: false } },
        gateOf: (call) => {
          if (call === 2) {
            overlapped = firstHeld;
            releaseFirst();
          }
          return call === 1 ? first : undefined;
        },
      },
    });
    await run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 }));
    clearTimeout(timer);
    assert.ok(overlapped, "the second page was written while the first was in flight");
    const order = h.timeline.filter((e) => e.startsWith("write:") || e.startsWith("cursor:"))
      .map((e) => e.startsWith("cursor:") ? e : `write:${e.split(",").length}`);
    // Page 2's write finished first, yet its cursor follows page 1's write and cursor.
    assert.deepEqual(order, [
      "write:10",
      "write:10",
      "cursor:users/09",
      "cursor:users/19",
      "write:10",
      "cursor:users/29",
    ]);
    assert.equal(h.sink.documents("users").size, 30);
  });

  it("skips_backfill_when_seeded_or_when_told_to", async () => {
    for (const [seeded, skipBackfill] of [[true, false], [false, true]]) {
      const rows = memoryRows("users");
      setRow(rows, "users", "1", { n: 1 });
      const h = harness({ rows, sink: { indexes: { users: { seeded } } } });
      await run(h, engineOptions({ skipBackfill }));
      assert.equal(h.sink.writes.length, 0, `seeded=${seeded} skip=${skipBackfill}`);
      assert.deepEqual(h.sink.seeded, []);
      assert.equal(h.observer.of("backfill_started").length, 0);
    }
  });

  it("resumes_a_crashed_backfill_after_its_cursor_without_starting_over", async () => {
    const rows = numberedUsers(30);
    const sinkOptions: MemorySinkOptions = {
      indexes: { users: { seeded: false } },
      crashBeforeWrite: 3,
    };
    const h = harness({ rows, sink: sinkOptions });
    await assert.rejects(
      run(h, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 })),
      PortFailedError,
    );
    assert.deepEqual(h.sink.indexes.get("users")!.cursor, ["19"]);
    assert.deepEqual(h.sink.seeded, []);

    sinkOptions.crashBeforeWrite = undefined;
    const again = { ...h, builder: memoryBuilder(rows), observer: recordingObserver() };
    await run(again, engineOptions({ backfillPageSize: 10, backfillCursorIntervalMs: 0 }));
    assert.equal(again.builder.built.length, 10, "only the pages after the cursor");
    assert.equal(again.builder.built[0], "users/20");
    assert.deepEqual(h.sink.seeded, ["users"]);
    assert.equal(h.sink.documents("users").size, 30);
    assert.equal(again.observer.of("backfill_started")[0].resumed, true);
  });

  it("redelivers_and_reapplies_idempotently_after_a_crash_before_flush", async () => {
    for (const crash of ["crashBeforeWrite", "crashAfterWrite"] as const) {
      const sinkOptions: MemorySinkOptions = { indexes: { users: { seeded: true } }, [crash]: 1 };
      const h = harness({ sink: sinkOptions });
      const lsns = commitUsers(h, ["1", "2"]);
      const error = await run(h).then(() => undefined, (e) => e);
      assert.ok(error instanceof PortFailedError && error.cause instanceof SimulatedCrash, crash);
      assert.deepEqual(h.source.confirms, [], `${crash}: nothing confirmed`);
      const afterCrash = new Map(h.sink.indexes.get("users")!.docs);

      sinkOptions[crash] = undefined;
      await run(h);
      assert.equal(h.source.confirmedLsn, lsns[lsns.length - 1], `${crash}: redelivered`);
      const docs = h.sink.indexes.get("users")!.docs;
      assert.deepEqual([...h.sink.documents("users").keys()].sort(), ["1", "2"]);
      for (const [id, before] of afterCrash) assert.deepEqual(docs.get(id), before, "same result");
    }
  });

  it("caught_up_is_false_while_a_backlog_drains_and_true_on_the_last_batch", async () => {
    const hold = gate();
    const h = harness({ sink: { gate: hold.promise } });
    commitUsers(h, Array.from({ length: 10 }, (_, i) => String(i)));
    // Every batch on its own (no catch-up window), so each one's flag shows.
    const running = run(
      h,
      engineOptions({ pipeline: { ...pipeline, maxChanges: 2 }, catchUpWindowMs: 0 }),
    );
    await eventually(() => h.source.pulled === 20, "the backlog is queued");
    hold.open();
    await running;
    const flags = h.sink.writes.map((w) => w.caughtUp);
    assert.equal(flags.length, 5);
    assert.deepEqual(flags.slice(1), [false, false, false, true]);
  });

  it("skip_quarantines_and_confirms", async () => {
    const h = harness({
      sink: {
        indexes: { users: { seeded: true } },
        reject: (w) =>
          w.id === "2" ? { type: "mapper_parsing_exception", reason: "bad" } : undefined,
      },
    });
    const lsns = commitUsers(h, ["1", "2", "3"]);
    await run(h, engineOptions({ onError: "skip" }));
    assert.deepEqual(h.sink.quarantined.map((r) => r.write.id), ["2"]);
    assert.deepEqual([...h.sink.documents("users").keys()].sort(), ["1", "3"]);
    assert.equal(h.source.confirmedLsn, lsns[2]);
    const [event] = h.observer.of("document_quarantined");
    assert.equal(event.index, "users");
    assert.equal(event.id, "2");
    assert.equal(event.reason, "bad");
    assert.equal(h.observer.of("batch_committed")[0].quarantined, 1);
  });

  it("stop_errors_and_confirms_nothing", async () => {
    const h = harness({
      sink: {
        indexes: { users: { seeded: true } },
        reject: (w) =>
          w.id === "2" ? { type: "mapper_parsing_exception", reason: "bad" } : undefined,
      },
    });
    commitUsers(h, ["1", "2", "3"]);
    const error = await run(h).then(() => undefined, (e) => e);
    assert.ok(error instanceof DocumentRejectedError);
    assert.equal(error.index, "users");
    assert.equal(error.id, "2");
    assert.match(error.message, /mapper_parsing_exception: bad/);
    assert.deepEqual(h.source.confirms, []);
    assert.deepEqual(h.sink.quarantined, []);
    assert.equal(h.observer.of("fatal_error").length, 1);
  });

  it("a_per_index_stop_overrides_a_global_skip", async () => {
    const h = harness({
      sink: {
        indexes: { users: { seeded: true } },
        reject: () => ({ type: "mapper_parsing_exception", reason: "bad" }),
      },
    });
    commitUsers(h, ["1"]);
    const options = engineOptions({
      onError: "skip",
      indexes: [index("users", { onError: "stop" })],
    });
    await assert.rejects(run(h, options), DocumentRejectedError);
    assert.deepEqual(h.source.confirms, []);
    assert.deepEqual(h.sink.quarantined, []);
  });

  it("backpressure_bounds_memory", async () => {
    const hold = gate();
    const h = harness({ source: { follow: true }, sink: { gate: hold.promise } });
    commitUsers(h, Array.from({ length: 200 }, (_, i) => String(i)));
    const small = { ...pipeline, queueCapacity: 6, maxChanges: 2, maxDelayMs: 1 };
    const stop = new AbortController();
    const running = run(h, engineOptions({ pipeline: small }), stop.signal);
    await eventually(() => h.sink.writeCalls === 1, "the first flush is held");
    await settle(100);
    // In memory: the flush held with its batch (2 changes + their commits) and the catch-up
    // window it closed, the next window (up to 8 batches: their events are released once
    // resolved, only keys are kept) and the batch that closed it, built and waiting, a full
    // queue, and the run in capture's hands waiting to be pushed (here one transaction: a
    // change and its commit; the Postgres source's runs hold at most REPLAY_RUN + 1).
    const window = 8 * 4;
    assert.ok(
      h.source.pulled <= 2 * (window + 4) + 6 + 2,
      `pulled ${h.source.pulled} of 400 events`,
    );
    stop.abort();
    hold.open();
    const result = await running;
    assert.equal(result.reason, "stopped");
    for (const q of h.observer.of("queue")) assert.ok(q.depth <= 6);
  });

  it("retries_transient_errors_without_counting_them_as_rejections", async () => {
    const h = harness({
      sink: { indexes: { users: { seeded: true } }, transientWrites: 3 },
      builder: { transientBuilds: 2 },
    });
    const lsns = commitUsers(h, ["1", "2"]);
    await run(h, engineOptions({ onError: "stop" }));
    assert.equal(h.source.confirmedLsn, lsns[1]);
    assert.deepEqual(h.sink.quarantined, []);
    const transient = h.observer.of("transient_error");
    assert.deepEqual(transient.map((t) => t.component), [
      "builder",
      "builder",
      "sink",
      "sink",
      "sink",
    ]);
    assert.equal(h.sink.writes.length, 1, "one successful flush");
    assert.ok(h.observer.of("batch_limit").some((e) => e.reason === "congested"));
  });

  it("resumes_capture_after_a_transient_source_error", async () => {
    const h = harness({ source: { transientAfterEvents: 3 } });
    const lsns = commitUsers(h, ["1", "2", "3"]);
    await run(h);
    assert.equal(h.source.confirmedLsn, lsns[2]);
    assert.deepEqual([...h.sink.documents("users").keys()].sort(), ["1", "2", "3"]);
    assert.equal(h.observer.of("transient_error")[0].component, "source");
  });

  it("rebuilds_an_index_whose_table_was_truncated", async () => {
    const h = harness();
    setRow(h.rows, "users", "1", { n: 1 });
    setRow(h.rows, "users", "2", { n: 2 });
    h.source.commit(40n, [change("users", "", 40n, { op: "truncate" })]);
    await run(h);
    assert.deepEqual(h.sink.reindexed, ["users"]);
    assert.deepEqual(h.sink.seeded, ["users"]);
    assert.equal(h.sink.documents("users").size, 2);
    assert.equal(h.source.confirmedLsn, 40n);
    assert.ok(h.builder.scans.every((s) => s.snapshot === undefined), "fresh reads");
  });

  it("stop_finishes_the_in_flight_batch_and_confirms_it", async () => {
    const hold = gate();
    const h = harness({ source: { follow: true }, sink: { gate: hold.promise } });
    const stop = new AbortController();
    const options = engineOptions({
      pipeline: { ...pipeline, maxDelayMs: 1 },
      shutdownGraceMs: 60_000,
    });
    const running = run(h, options, stop.signal, systemClock);
    commitUsers(h, ["1"], 80n);
    await eventually(() => h.sink.writeCalls === 1, "flush in flight");
    stop.abort();
    commitUsers(h, ["2"], 90n);
    await settle(5); // the flush outlives the stop request, within the grace period
    hold.open();
    const result = await running;
    assert.equal(result.abandoned, false);
    assert.deepEqual(h.source.confirms, [80n]);
    assert.ok(h.source.closed);
    assert.deepEqual(h.observer.of("phase").map((p) => p.phase), [
      "starting",
      "streaming",
      "stopping",
      "stopped",
    ]);
  });

  it("stop_abandons_the_in_flight_batch_after_the_grace_period_without_confirming", async () => {
    const h = harness({ source: { follow: true }, sink: { gate: new Promise(() => {}) } });
    const stop = new AbortController();
    const options = engineOptions({ pipeline: { ...pipeline, maxDelayMs: 1 }, shutdownGraceMs: 1 });
    const running = run(h, options, stop.signal, systemClock);
    commitUsers(h, ["1"], 80n);
    await eventually(() => h.sink.writeCalls === 1, "flush in flight");
    stop.abort();
    const result = await running;
    assert.equal(result.abandoned, true);
    assert.deepEqual(h.source.confirms, []);
    assert.ok(h.source.closed);
  });

  it("rebuilds_a_seeded_index_into_a_new_generation_when_the_slot_is_new", async () => {
    const rows = memoryRows("users");
    setRow(rows, "users", "1", { n: 1 });
    const h = harness({ rows, source: { slotCreated: true, startLsn: 9n, snapshot: "snap-2" } });
    await run(h);
    assert.deepEqual(h.sink.reindexed, ["users"]);
    assert.deepEqual(h.sink.seeded, ["users"]);
    assert.equal(h.sink.indexes.get("users")!.generation, 2);
    assert.equal(h.sink.indexes.get("users")!.docs.get("1")?.version, 9n);
    assert.ok(h.builder.scans.every((s) => s.snapshot === "snap-2"));
  });

  it("backfill_rejections_follow_the_index_policy", async () => {
    for (const onError of ["skip", "stop"] as const) {
      const rows = memoryRows("users");
      setRow(rows, "users", "1", { n: 1 });
      setRow(rows, "users", "2", { n: 2 });
      const h = harness({
        rows,
        source: { startLsn: 3n },
        sink: {
          indexes: { users: { seeded: false } },
          reject: (w) =>
            w.id === "2" ? { type: "mapper_parsing_exception", reason: "bad" } : undefined,
        },
      });
      const outcome = await run(h, engineOptions({ onError })).then(() => "ok", (e) => e);
      if (onError === "skip") {
        assert.equal(outcome, "ok");
        assert.deepEqual(h.sink.quarantined.map((r) => [r.write.id, r.write.version]), [["2", 3n]]);
        assert.deepEqual(h.sink.seeded, ["users"]);
      } else {
        assert.ok(outcome instanceof DocumentRejectedError && outcome.lsn === 3n);
        assert.deepEqual(h.sink.seeded, [], "a stopped backfill is not marked seeded");
      }
    }
  });

  it("reports_lifecycle_and_batch_metrics_to_the_observer", async () => {
    const h = harness();
    setRow(h.rows, "users", "1", { n: 1 });
    h.source.commit(
      30n,
      [change("users", "1", 30n), change("users", "2", 30n)],
      new Date(Date.now() - 5),
    );
    await run(h);
    const types = h.observer.events.map((e) => e.type).filter((t) => t !== "changes_captured");
    assert.deepEqual(types, [
      "phase",
      "indexes_ensured",
      "live_started",
      "phase",
      "queue",
      "batch_committed",
      "phase",
    ]);
    assert.deepEqual(h.observer.of("indexes_ensured")[0].indexes, [
      { index: "users", generation: 1, seeded: true },
    ]);
    // Counted per transaction: one event for both changes of the commit.
    assert.deepEqual(h.observer.of("changes_captured").map((e) => e.count), [2]);
    const [batch] = h.observer.of("batch_committed");
    assert.equal(batch.upserts, 1);
    assert.equal(batch.deletes, 1);
    assert.equal(batch.confirmedLsn, 30n);
    assert.equal(batch.caughtUp, true);
    assert.ok(batch.latencyMs !== undefined && batch.latencyMs >= 0);
  });

  it("writes_only_enabled_indexes", async () => {
    const rows = memoryRows("users", "orders");
    const h = harness({
      rows,
      sink: { indexes: { users: { seeded: true }, orders: { seeded: false } } },
    });
    setRow(rows, "orders", "7", { total: 1 });
    h.source.commit(10n, [change("orders", "7", 10n)]);
    await run(h, engineOptions({ indexes: [index("users"), index("orders", { enabled: false })] }));
    assert.equal(h.sink.writes.length, 0);
    assert.deepEqual(h.sink.seeded, []);
    assert.equal(h.source.confirmedLsn, 10n);
  });
});
