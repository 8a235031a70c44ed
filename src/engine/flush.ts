/**
 * Writing documents to the sink and applying the failure policy to what it refuses. Shared
 * by live batches and backfill pages, so both follow the same rules.
 */
import type { BuiltDocument, Rejection, Sink, SinkWrite } from "./ports.ts";
import type { Lsn } from "./change.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import { policyOf } from "./options.ts";
import { decide } from "./policy.ts";
import { DocumentRejectedError } from "./errors.ts";
import { isDeleteDocument, TextSinkWrite } from "./document_text.ts";
import { type RetryContext, retryTransient } from "./retry.ts";
import type { FlushOutcome } from "./aimd.ts";

/** What flushing needs. */
export interface FlushContext extends RetryContext {
  readonly sink: Sink;
  readonly options: ResolvedEngineOptions;
}

/** Counts of one or more flushes. */
export interface FlushTotals {
  upserts: number;
  deletes: number;
  quarantined: number;
  flushMs: number;
}

/** Zeroed totals. */
export function emptyTotals(): FlushTotals {
  return { upserts: 0, deletes: 0, quarantined: 0, flushMs: 0 };
}

/**
 * Turns documents known to be one per id (the builder returns one per distinct key) into
 * writes at `version`.
 */
export function distinctWrites(documents: readonly BuiltDocument[], version: Lsn): SinkWrite[] {
  return documents.map((d) => toWrite(d, version));
}

function toWrite(d: BuiltDocument, version: Lsn): SinkWrite {
  // A text document stays text: reading `d.document` would parse it for nothing.
  return d.json !== undefined
    ? new TextSinkWrite(d.index, d.id, version, d.json)
    : { index: d.index, id: d.id, version, document: d.document };
}

/**
 * Writes `writes` (retrying transient failures), then applies the policy: a `stop`
 * rejection throws `DocumentRejectedError`; `skip` rejections are quarantined and reported.
 * `onOutcome` hears each attempt's outcome, for adaptive sizing.
 */
export async function flushWrites(
  context: FlushContext,
  writes: readonly SinkWrite[],
  caughtUp: boolean,
  totals: FlushTotals,
  onOutcome?: (outcome: FlushOutcome) => void,
): Promise<void> {
  if (writes.length === 0) return;
  let startedAt = 0;
  const rejections: readonly Rejection[] = await retryTransient(
    context,
    "sink",
    "sink.write",
    () => {
      startedAt = context.clock.now();
      return context.sink.write(writes, { caughtUp });
    },
    () => onOutcome?.({ kind: "throttled" }),
  );
  const latencyMs = context.clock.now() - startedAt;
  totals.flushMs += latencyMs;
  onOutcome?.({ kind: "ok", latencyMs });

  const decision = decide(rejections, (index) => policyOf(context.options, index));
  if (decision.stop) {
    const { write, type, reason } = decision.stop;
    throw new DocumentRejectedError({
      index: write.index,
      id: write.id,
      errorType: type,
      reason,
      lsn: write.version,
    });
  }
  if (decision.quarantine.length > 0) {
    await retryTransient(
      context,
      "sink",
      "sink.quarantine",
      () => context.sink.quarantine(decision.quarantine),
    );
    for (const r of decision.quarantine) {
      context.observer.emit({
        type: "document_quarantined",
        index: r.write.index,
        id: r.write.id,
        errorType: r.type,
        reason: r.reason,
        lsn: r.write.version,
      });
    }
  }
  // Most flushes have no rejection: then no write needs its key.
  const refused = rejections.length === 0
    ? undefined
    : new Set(rejections.map((r) => writeKey(r.write)));
  for (const w of writes) {
    if (refused?.has(writeKey(w))) continue;
    if (isDeleteDocument(w)) totals.deletes++;
    else totals.upserts++;
  }
  totals.quarantined += decision.quarantine.length;
}

/** Identity of a document across indexes. */
function writeKey(w: { readonly index: string; readonly id: string }): string {
  return `${w.index}\u0000${w.id}`;
}
