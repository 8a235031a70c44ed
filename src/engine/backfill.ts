/**
 * Backfilling one index from current rows: page root keys in key order, build, flush, save
 * the cursor, repeat (the next pages are read while the current ones are written); then mark
 * the index seeded. Memory stays bounded by six pages (four read ahead, two being written),
 * and a crash resumes after the last saved cursor. Writes use the stream's start LSN as
 * version, so any live change (always at a higher LSN) wins over a backfilled row.
 */
import type { BuiltDocument, DocKey, DocumentBuilder } from "./ports.ts";
import type { Lsn } from "./change.ts";
import { distinctWrites, emptyTotals, type FlushContext, flushWrites } from "./flush.ts";
import { retryTransient } from "./retry.ts";

/** What a backfill needs besides flushing. */
export interface BackfillContext extends FlushContext {
  readonly builder: DocumentBuilder;
  /** The version of every backfill write. */
  readonly startLsn: Lsn;
}

/** One backfill to run. */
export interface BackfillJob {
  readonly index: string;
  /** Resume after this key (the sink's saved cursor). */
  readonly after?: DocKey;
  /** The exported snapshot to read under, when the slot was created now. */
  readonly snapshot?: string;
}

/**
 * Runs `job` until every page is written and the index is marked seeded ("done"), or until
 * `stop` aborts between pages ("stopped"; the saved cursor lets the next start resume).
 */
export async function backfillIndex(
  context: BackfillContext,
  job: BackfillJob,
  stop: AbortSignal,
): Promise<"done" | "stopped"> {
  const { builder, sink, clock, observer } = context;
  const { index, snapshot } = job;
  const startedAt = clock.now();
  const estimatedRows = await retryTransient(
    context,
    "builder",
    `builder.estimateRows(${index})`,
    () => builder.estimateRows(index),
  );
  observer.emit({
    type: "backfill_started",
    index,
    estimatedRows,
    resumed: job.after !== undefined,
  });
  const limit = context.options.backfillPageSize;
  let rowsDone = 0;
  const totals = emptyTotals();
  const readPage = (spec: PageSpec) => readSpec(context, index, snapshot, limit, spec);
  const planner = pagePlanner(context, index, snapshot, limit, job.after);
  // Pages are read ahead (several at once when the builder offers page bounds, each on its
  // own connection, since building documents is Postgres' work) and written in key order, up
  // to two at once (the sink works on one while flusso sends the other). Cursors are saved in
  // key order, each only after its own page and every earlier one were written, so a resume
  // never skips a row.
  const reads: { spec: PageSpec; page: Promise<Page> }[] = [];
  let waiting = false; // a read whose end decides what comes next is in flight
  let planned = true; // the planner may have more pages
  const readAhead = async () => {
    while (planned && !waiting && reads.length < READS_IN_FLIGHT && !stop.aborted) {
      const spec = await planner.next();
      if (!spec) {
        planned = false;
        return;
      }
      const page = readPage(spec);
      page.catch(() => {}); // awaited in order below (or in `finally`)
      reads.push({ spec, page });
      if (spec.through === undefined) waiting = true;
    }
  };
  let writing: Promise<void> | undefined;
  // The cursor is saved at most once per interval: each save is a request the sink answers
  // between bulk writes, and a resume only rewrites what the interval covers.
  let savedAt = -Infinity;
  let unsaved: DocKey | undefined;
  const saveCursor = async (cursor: DocKey) => {
    await retryTransient(
      context,
      "sink",
      "sink.saveBackfillCursor",
      () => sink.saveBackfillCursor(index, cursor),
    );
    savedAt = clock.now();
    unsaved = undefined;
  };
  if (stop.aborted) return "stopped";
  try {
    await readAhead();
    for (let head = reads.shift(); head; head = reads.shift()) {
      const page = await head.page;
      if (head.spec.through === undefined) {
        waiting = false;
        planner.openPageRead(page.keys, page.keys.length === limit);
      }
      if (stop.aborted) break;
      await readAhead();
      const cursor = head.spec.through ?? page.keys.at(-1);
      if (cursor === undefined) continue; // an empty last page: nothing to write or save
      const { keys, built } = page;
      const earlier = writing;
      const written = built.length > 0
        ? flushWrites(context, distinctWrites(built, context.startLsn), false, totals)
        : Promise.resolve();
      written.catch(() => {}); // awaited below, after the earlier page
      writing = (async () => {
        await earlier;
        await written;
        if (clock.now() - savedAt >= context.options.backfillCursorIntervalMs) {
          await saveCursor(cursor);
        } else {
          unsaved = cursor;
        }
        rowsDone += keys.length;
        observer.emit({ type: "backfill_progress", index, rowsDone, estimatedRows });
      })();
      writing.catch(() => {}); // awaited on the next round or below
      // At most two pages being written: wait for the earlier one before taking the next.
      await earlier;
    }
    await writing;
    if (unsaved !== undefined) await saveCursor(unsaved);
  } finally {
    // Never leave a read or a write running behind a stop or a failure.
    for (const r of reads) await r.page.catch(() => {});
    await planner.settled();
    await writing?.catch(() => {});
  }
  if (stop.aborted) return "stopped";
  await retryTransient(context, "sink", "sink.markSeeded", () => sink.markSeeded(index));
  observer.emit({
    type: "backfill_finished",
    index,
    rows: rowsDone,
    durationMs: clock.now() - startedAt,
  });
  return "done";
}

/** Pages read at once when the builder offers page bounds. */
export const READS_IN_FLIGHT = 4;

/** Page bounds asked for per bounds query. */
export const BOUNDS_PER_QUERY = 8;

/** Bounds left in a batch when the next batch is asked for. */
const BOUNDS_AHEAD = 2;

/**
 * What to read next: the first page (no `after`: a key scan), an open page (`after` only: at
 * most `limit` rows, its end decides what follows) or a range (`after` < key <= `through`).
 */
interface PageSpec {
  readonly after?: DocKey;
  readonly through?: DocKey;
}

interface Page {
  readonly keys: DocKey[];
  readonly built: BuiltDocument[];
}

async function readSpec(
  context: BackfillContext,
  index: string,
  snapshot: string | undefined,
  limit: number,
  spec: PageSpec,
): Promise<Page> {
  const { builder } = context;
  const { after, through } = spec;
  // After the first page, a range statement builds the page in one go (see the port).
  const buildPage = builder.buildPage?.bind(builder);
  if (after !== undefined && buildPage) {
    const page = await retryTransient(
      context,
      "builder",
      `builder.buildPage(${index})`,
      () => buildPage(index, { after, limit, snapshot, ...(through ? { through } : {}) }),
    );
    return { keys: page.keys, built: page.documents };
  }
  const keys = await retryTransient(
    context,
    "builder",
    `builder.scanKeys(${index})`,
    () => builder.scanKeys(index, { after, limit, snapshot }),
  );
  if (keys.length === 0) return { keys, built: [] };
  const built = await retryTransient(
    context,
    "builder",
    `builder.build(${index})`,
    () => builder.build(index, keys),
  );
  return { keys, built };
}

/**
 * Plans the pages of one backfill. Without page bounds every page is open: the next one
 * starts after the last key of the previous, so one is read at a time. With them, the pages
 * ahead are ranges between bounds read in batches (cheap: keys only; the next batch is asked for
 * while the current one still has pages), so several can be read at once; past the last bound an
 * open page reads the table's end.
 */
function pagePlanner(
  context: BackfillContext,
  index: string,
  snapshot: string | undefined,
  limit: number,
  resumeAfter: DocKey | undefined,
) {
  const { builder } = context;
  const pageBounds = builder.buildPage && builder.pageBounds?.bind(builder);
  let after = resumeAfter;
  let started = resumeAfter !== undefined;
  let bounds: DocKey[] = [];
  let boundsEnded = false;
  let ended = false;
  // The next batch of bounds, asked for while the current one still has pages: awaiting it
  // only when the batch ran out held back the write of the page just read.
  let nextBounds: { from: DocKey; bounds: Promise<DocKey[]> } | undefined;
  const askBounds = (from: DocKey) => {
    const asked = retryTransient(
      context,
      "builder",
      `builder.pageBounds(${index})`,
      () => pageBounds!(index, { after: from, limit, pages: BOUNDS_PER_QUERY, snapshot }),
    );
    asked.catch(() => {}); // awaited when its pages are planned
    return { from, bounds: asked };
  };
  return {
    /** The next page to read, or undefined when every page was planned. */
    async next(): Promise<PageSpec | undefined> {
      if (ended) return undefined;
      if (!started) {
        started = true;
        return {};
      }
      if (after !== undefined && pageBounds) {
        const from = after;
        if (bounds.length === 0 && !boundsEnded) {
          const asked = nextBounds?.from === from ? nextBounds : askBounds(from);
          nextBounds = undefined;
          bounds = await asked.bounds;
          boundsEnded = bounds.length < BOUNDS_PER_QUERY;
        }
        const through = bounds.shift();
        if (through !== undefined) {
          after = through;
          if (bounds.length === BOUNDS_AHEAD && !boundsEnded && nextBounds === undefined) {
            nextBounds = askBounds(bounds[bounds.length - 1]);
          }
          return { after: from, through };
        }
      }
      return { after };
    },
    /** Resolves once no bounds query is under way. */
    async settled(): Promise<void> {
      await nextBounds?.bounds.catch(() => {});
    },
    /** The keys of an open page (or the first): a full one means the table goes on after it. */
    openPageRead(keys: readonly DocKey[], full: boolean) {
      if (!full) {
        ended = true;
        return;
      }
      after = keys[keys.length - 1];
      boundsEnded = false;
    },
  };
}
