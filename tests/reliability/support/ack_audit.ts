/**
 * The confirmed-LSN audit: the slot's `confirmed_flush_lsn` must never pass a change whose
 * documents the sink had not yet acknowledged.
 *
 * What is sampled. `startSlotSampler` polls `confirmed_flush_lsn` of the slot every
 * `intervalMs`; each sample is `{ lsn: C, at: T }` where T is the wall-clock time (epoch ms,
 * the same clock the in-process emulator stamps its request log with) when the query's
 * answer arrived. Whatever confirmation made the slot reach C was sent by flusso before T.
 *
 * What counts as an acknowledgement. An entry of the emulator's request log for `_bulk` that
 * was answered with HTTP 200 and no injected fault (not failed, stalled or reset). Every item
 * of it counts as acknowledged at `time + durationMs` (when the emulator sent the answer).
 * Items are attributed to the logical index by stripping the config prefix and the
 * generation suffix (`_<hash8>_<gen>`) from `_index`. The log does not keep response
 * bodies, so items rejected by an armed per-item fault (`rejectItems`) must be excluded with
 * `ignoreItem`; otherwise they would count as acknowledged (a weaker check, never a false
 * failure). Likewise a request the emulator finished after its connection was dropped (an
 * emulator restart) counts as acknowledged although flusso never saw the answer.
 *
 * What is checked. For every workload transaction X (see workload.ts) that is not a rebuild
 * (TRUNCATE) and began after the stream's start point (`lsnBefore(X) ≥ fromLsn`, by default the
 * first sample: the slot's creation point — transactions committed before it reach the index
 * through the backfill, which by design runs beside the stream and is not tied to the slot),
 * with `lsnBefore(X) < commitEnd(X) ≤ lsnAfter(X)`:
 *   - X is *covered* by a sample (C, T) when C ≥ lsnAfter(X): then the slot has certainly
 *     confirmed X's commit. Samples with lsnBefore(X) < C < lsnAfter(X) are ambiguous and
 *     ignored; samples with C ≤ lsnBefore(X) do not cover X.
 *   - For the earliest covering sample (C, T), every document d that X changed (by
 *     construction: `X.affected`) must have an acknowledged bulk item for d in its index with
 *     `version > lsnBefore(X)` and acknowledgement time ≤ T.
 *   - Exemption ("superseded"): d is not checked for X when, before that sample was taken, a
 *     later transaction Y that also changed d had committed and the sample does not cover Y
 *     (Y is still pending), or a later TRUNCATE of a table X's resolution reads had committed
 *     (`truncated` ∩ `resolvesThrough`, see workload.ts). flusso resolves a change
 *     against the rows as they are when it processes the batch, so a relation removed by Y
 *     (a tag unlinked, customer_tags truncated) can hide d from X's resolution; d is then
 *     brought up to date by Y, which is redelivered after a crash because it is not
 *     confirmed (a TRUNCATE: by the rebuild, which by design finishes after its batch is
 *     confirmed and resumes after a crash). When the later Y *is* covered, Y's own check
 *     (a write with version > lsnBefore(Y) > lsnBefore(X)) implies X's, so nothing is lost
 *     by checking X too. The last change of a document before each confirmation is thus
 *     always checked, unless a TRUNCATE intervened.
 * Why `version > lsnBefore(X)`: writes carry the commit LSN of the newest change they
 * include as version (external_gte). Transactions run one at a time, so every transaction
 * before X has commit LSN ≤ lsnBefore(X), and X's own writes (or any later write of d,
 * which includes X's effect) carry a version > lsnBefore(X). So the condition says exactly
 * "a write of d that includes X was durable in the sink before the slot confirmed X".
 * A backfill write (version = the slot's start point) that includes X also qualifies.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Lsn } from "../../../src/engine/change.ts";
import { formatLsn } from "../../../src/engine/change.ts";
import type { RequestLogEntry } from "../../support/opensearch/emulator.ts";
import { confirmedFlushLsn } from "./quiesce.ts";
import type postgres from "postgres";
import type { TransactionRecord } from "./workload.ts";

/** One sample of the slot's confirmed_flush_lsn. */
export interface SlotSample {
  readonly lsn: Lsn;
  /** Epoch ms when the answer arrived. */
  readonly at: number;
}

/** A running sampler. */
export interface SlotSampler {
  /** Samples so far, in time order. */
  readonly samples: readonly SlotSample[];
  /** Stops sampling (takes one last sample first) and resolves with every sample. */
  stop(): Promise<readonly SlotSample[]>;
}

/** Samples `confirmed_flush_lsn` of `slot` every `intervalMs` (default 50) until stopped. */
export function startSlotSampler(
  options: { sql: postgres.Sql; slot: string; intervalMs?: number },
): SlotSampler {
  const samples: SlotSample[] = [];
  const interval = options.intervalMs ?? 50;
  let stopped = false;
  const sampleOnce = async () => {
    try {
      const lsn = await confirmedFlushLsn(options.sql, options.slot);
      if (lsn !== null) samples.push({ lsn, at: Date.now() });
    } catch {
      // Postgres briefly unreachable (source-fault scenarios): skip this sample.
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sampleOnce();
      await new Promise((r) => setTimeout(r, interval));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      await sampleOnce();
      return samples;
    },
  };
}

/** One acknowledged write of one document. */
interface Ack {
  readonly version: bigint;
  readonly at: number;
}

/** A document whose confirmation came before its acknowledgement. */
export interface AckViolation {
  readonly transaction: number;
  readonly kind: string;
  readonly index: string;
  readonly id: string;
  /** The covering sample's LSN and time. */
  readonly confirmedLsn: string;
  readonly confirmedAt: number;
  /** The earliest qualifying acknowledgement (undefined: none ever). */
  readonly ackedAt?: number;
}

/** What the audit found. */
export interface AckAuditReport {
  /** Transactions covered by some sample and checked. */
  readonly checkedTransactions: number;
  /** Document checks made. */
  readonly checkedDocuments: number;
  /** Transactions not yet covered by any sample (not checked). */
  readonly uncovered: number;
  /** Transactions before the stream's start point (not checked: the backfill carries them). */
  readonly beforeStream: number;
  /** Document checks skipped because a later change of the document came first (see above). */
  readonly superseded: number;
  readonly violations: readonly AckViolation[];
}

/** The logical index of a concrete index name: strip `prefix` and `_<hash8>_<gen>`. */
export function logicalIndexOf(target: string, prefix = ""): string {
  const bare = prefix && target.startsWith(prefix) ? target.slice(prefix.length) : target;
  return bare.replace(/_[0-9a-z]{1,8}_\d+$/, "");
}

/**
 * Says an item of an HTTP-200 bulk answer was *not* acknowledged (e.g. a per-item fault was
 * armed for its id at the time): `(entry, logical index, _id) → true` drops it.
 */
export type ItemFilter = (entry: RequestLogEntry, index: string, id: string) => boolean;

/** Every acknowledged item of the log, by `index\0id`. */
export function acknowledgedWrites(
  requests: readonly RequestLogEntry[],
  prefix = "",
  ignoreItem?: ItemFilter,
): Map<string, Ack[]> {
  const out = new Map<string, Ack[]>();
  for (const entry of requests) {
    if (!entry.path.endsWith("/_bulk") || entry.method !== "POST" && entry.method !== "PUT") {
      continue;
    }
    if (entry.status !== 200 || entry.fault !== undefined || entry.body === undefined) continue;
    if (entry.durationMs === undefined) continue;
    const at = entry.time + entry.durationMs;
    const pathIndex = entry.path === "/_bulk"
      ? undefined
      : decodeURIComponent(entry.path.split("/")[1]);
    const lines = entry.body.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === "") continue;
      const action = JSON.parse(line) as Record<string, { _index?: string; _id?: string }>;
      const [op] = Object.keys(action);
      const meta = action[op];
      if (op !== "delete") i++; // skip the source line
      const target = meta._index ?? pathIndex;
      if (target === undefined || meta._id === undefined) continue;
      // The version is a bigint printed as digits; read it from the text, not as a number.
      const m = /"version":(\d+)/.exec(line);
      if (!m) continue;
      const index = logicalIndexOf(target, prefix);
      if (ignoreItem?.(entry, index, meta._id)) continue;
      const key = `${index}\u0000${meta._id}`;
      let list = out.get(key);
      if (!list) out.set(key, list = []);
      list.push({ version: BigInt(m[1]), at });
    }
  }
  return out;
}

/** Runs the audit described in the module comment. */
export function auditAcks(input: {
  readonly samples: readonly SlotSample[];
  readonly transactions: readonly TransactionRecord[];
  readonly requests: readonly RequestLogEntry[];
  readonly prefix?: string;
  /** The stream's start point; default the first sample's LSN (sample from before the slot exists). */
  readonly fromLsn?: Lsn;
  /** Items to treat as not acknowledged (per-item faults); see ItemFilter. */
  readonly ignoreItem?: ItemFilter;
}): AckAuditReport {
  const acks = acknowledgedWrites(input.requests, input.prefix, input.ignoreItem);
  const samples = [...input.samples].sort((a, b) => a.at - b.at);
  const violations: AckViolation[] = [];
  let checkedTransactions = 0;
  let checkedDocuments = 0;
  let uncovered = 0;
  let beforeStream = 0;
  let superseded = 0;
  // Per document, the commit times and sequence numbers of the transactions that changed it.
  const touches = new Map<string, { seq: number; at: number; lsnAfter: Lsn }[]>();
  const rebuilds = input.transactions.filter((t) => t.rebuild);
  for (const t of input.transactions) {
    for (
      const [index, ids] of [["customers", t.affected.customers], [
        "products",
        t.affected.products,
      ]] as const
    ) {
      for (const id of ids) {
        const key = `${index}\u0000${id}`;
        let list = touches.get(key);
        if (!list) touches.set(key, list = []);
        list.push({ seq: t.seq, at: t.committedAt, lsnAfter: t.lsnAfter });
      }
    }
  }
  const fromLsn = input.fromLsn ?? samples[0]?.lsn ?? 0n;
  for (const tx of input.transactions) {
    if (tx.rebuild) continue;
    if (tx.lsnBefore < fromLsn) {
      beforeStream++;
      continue;
    }
    const cover = samples.find((s) => s.lsn >= tx.lsnAfter);
    if (!cover) {
      uncovered++;
      continue;
    }
    checkedTransactions++;
    const rebuiltSince = rebuilds.some((r) =>
      r.seq > tx.seq && r.committedAt <= cover.at &&
      r.truncated.some((t) => tx.resolvesThrough.includes(t))
    );
    const docs: [string, string][] = [
      ...tx.affected.customers.map((id): [string, string] => ["customers", id]),
      ...tx.affected.products.map((id): [string, string] => ["products", id]),
    ];
    for (const [index, id] of docs) {
      const key = `${index}\u0000${id}`;
      const pendingLater = touches.get(key)!.some((y) =>
        y.seq > tx.seq && y.at <= cover.at && y.lsnAfter > cover.lsn
      );
      if (rebuiltSince || pendingLater) {
        superseded++;
        continue;
      }
      checkedDocuments++;
      let earliest: number | undefined;
      for (const ack of acks.get(key) ?? []) {
        if (ack.version > tx.lsnBefore && (earliest === undefined || ack.at < earliest)) {
          earliest = ack.at;
        }
      }
      if (earliest === undefined || earliest > cover.at) {
        violations.push({
          transaction: tx.seq,
          kind: tx.kind,
          index,
          id,
          confirmedLsn: formatLsn(cover.lsn),
          confirmedAt: cover.at,
          ackedAt: earliest,
        });
      }
    }
  }
  return {
    checkedTransactions,
    checkedDocuments,
    uncovered,
    beforeStream,
    superseded,
    violations,
  };
}

/**
 * Writes the audit's inputs to `path` as JSON (bigints as strings), for offline analysis of
 * a failure: `{ samples, transactions, requests }`.
 */
export function dumpAuditInputs(path: string, input: {
  readonly samples: readonly SlotSample[];
  readonly transactions: readonly TransactionRecord[];
  readonly requests: readonly RequestLogEntry[];
}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? formatLsn(v) : v)),
  );
}

/** A short description of the report for assertion messages. */
export function describeAckAudit(report: AckAuditReport, limit = 5): string {
  const head =
    `ack audit: ${report.checkedTransactions} transactions, ${report.checkedDocuments} ` +
    `document checks, ${report.uncovered} uncovered, ${report.beforeStream} before the stream ` +
    `started, ${report.superseded} document checks superseded, ${report.violations.length} violations`;
  return [head, ...report.violations.slice(0, limit).map((v) => `  ${JSON.stringify(v)}`)].join(
    "\n",
  );
}
