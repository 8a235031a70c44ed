/**
 * Backfilling one index from current rows: page root keys in key order, build, flush, save
 * the cursor, repeat (the next page is read while the current ones are written); then mark the
 * index seeded. Memory stays bounded by three pages, and a crash resumes after the last saved
 * cursor. Writes use the stream's start LSN as version,
 * so any live change (always at a higher LSN) wins over a backfilled row.
 */
import type { DocKey, DocumentBuilder } from "./ports.ts";
import type { Lsn } from "./change.ts";
import { emptyTotals, type FlushContext, flushWrites, toWrites } from "./flush.ts";
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
  /** Scans and builds the page after `after`; undefined when there is none. */
  const readPage = async (after: DocKey | undefined) => {
    // After the first page, a range statement builds the page in one go (see the port).
    const buildPage = builder.buildPage?.bind(builder);
    if (after !== undefined && buildPage) {
      const page = await retryTransient(
        context,
        "builder",
        `builder.buildPage(${index})`,
        () => buildPage(index, { after, limit, snapshot }),
      );
      return page.keys.length === 0 ? undefined : { keys: page.keys, built: page.documents };
    }
    const keys = await retryTransient(
      context,
      "builder",
      `builder.scanKeys(${index})`,
      () => builder.scanKeys(index, { after, limit, snapshot }),
    );
    if (keys.length === 0) return undefined;
    const built = await retryTransient(
      context,
      "builder",
      `builder.build(${index})`,
      () => builder.build(index, keys),
    );
    return { keys, built };
  };
  // The next page is scanned and built while the current one is written, and up to two pages
  // are being written at once (the sink works on one while flusso sends the other). Cursors
  // are still saved in key order, each only after its own page and every earlier one were
  // written, so a resume never skips a row.
  if (stop.aborted) return "stopped";
  let next: ReturnType<typeof readPage> | undefined = readPage(job.after);
  let writing: Promise<void> | undefined;
  try {
    while (next) {
      const page = await next;
      next = undefined;
      if (!page || stop.aborted) break;
      const { keys, built } = page;
      const cursor = keys[keys.length - 1];
      if (keys.length === limit) {
        next = readPage(cursor);
        next.catch(() => {}); // awaited on the next round (or in `finally`)
      }
      const earlier = writing;
      const written = flushWrites(context, toWrites(built, context.startLsn), false, totals);
      written.catch(() => {}); // awaited below, after the earlier page
      writing = (async () => {
        await earlier;
        await written;
        await retryTransient(
          context,
          "sink",
          "sink.saveBackfillCursor",
          () => sink.saveBackfillCursor(index, cursor),
        );
        rowsDone += keys.length;
        observer.emit({ type: "backfill_progress", index, rowsDone, estimatedRows });
      })();
      writing.catch(() => {}); // awaited on the next round or below
      // At most two pages in flight: wait for the earlier one before reading on.
      await earlier;
    }
    await writing;
  } finally {
    // Never leave a read or a write running behind a stop or a failure.
    await next?.catch(() => {});
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
