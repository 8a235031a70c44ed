/**
 * Reads a `_bulk` response item by item. The outcome decides what the writer does next:
 * done, send again, or hand back to the engine as a rejection.
 */

/** What one bulk item came to. */
export type ItemOutcome =
  | { readonly kind: "ok" }
  /** Worth sending again (the node was overloaded or a shard unavailable). */
  | { readonly kind: "retry"; readonly type: string; readonly reason: string }
  /** Refused for a reason that a retry cannot fix. */
  | { readonly kind: "rejected"; readonly type: string; readonly reason: string };

/** The parts of a bulk response item that flusso reads. */
interface BulkItemResult {
  readonly status?: number;
  readonly result?: string;
  readonly error?: { readonly type?: string; readonly reason?: string } | string;
}

/** Per-item statuses that mean "try again": 429 (rejected execution) and 503 (shard unavailable). */
const RETRYABLE_ITEM_STATUS = new Set([429, 503]);

/**
 * Classifies one item. A version conflict means a newer write is already there, and a delete
 * of a missing document leaves what was wanted: both are success.
 */
export function classifyItem(item: unknown, isDelete: boolean): ItemOutcome {
  const result = unwrapItem(item);
  if (result === undefined) {
    return { kind: "retry", type: "missing_item", reason: "the bulk response lacked this item" };
  }
  const status = typeof result.status === "number" ? result.status : 0;
  const { type, reason } = describeError(result.error);
  if (status >= 200 && status < 300 && result.error === undefined) return { kind: "ok" };
  if (status === 409 || type === "version_conflict_engine_exception") return { kind: "ok" };
  if (isDelete && (status === 404 || result.result === "not_found") && !isMissingIndex(type)) {
    return { kind: "ok" };
  }
  if (RETRYABLE_ITEM_STATUS.has(status)) return { kind: "retry", type, reason };
  return { kind: "rejected", type, reason: reason || `status ${status}` };
}

/**
 * True when the response says no item failed (`"errors": false`) and holds one item per
 * operation: then every item is a success and none needs reading. A short item list (a
 * truncated answer) is never taken for success.
 */
export function allItemsSucceeded(body: unknown, operations: number): boolean {
  return isRecord(body) && body.errors === false && Array.isArray(body.items) &&
    body.items.length === operations;
}

/**
 * Classifies every item of a bulk response against the operations sent, in order. Items the
 * response lacks (a truncated answer) are retried, never assumed written.
 */
export function classifyBulkResponse(
  body: unknown,
  operations: readonly { readonly isDelete: boolean }[],
): ItemOutcome[] {
  const items = isRecord(body) && Array.isArray(body.items) ? body.items : [];
  return operations.map((op, i) => classifyItem(items[i], op.isDelete));
}

function unwrapItem(item: unknown): BulkItemResult | undefined {
  if (!isRecord(item)) return undefined;
  const inner = item.index ?? item.delete ?? item.create ?? item.update;
  return isRecord(inner) ? inner as BulkItemResult : undefined;
}

function describeError(error: BulkItemResult["error"]): { type: string; reason: string } {
  if (error === undefined) return { type: "", reason: "" };
  if (typeof error === "string") return { type: "error", reason: error };
  const cause = (error as { caused_by?: { type?: string; reason?: string } }).caused_by;
  const reason = [error.reason, cause?.reason ? `caused by: ${cause.reason}` : undefined]
    .filter((part) => part !== undefined && part !== "").join("; ");
  return { type: error.type ?? "error", reason };
}

/** A delete into an index that does not exist is a real problem, not an absent document. */
function isMissingIndex(type: string): boolean {
  return type === "index_not_found_exception";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
