/**
 * `flusso verify`: compares one index with Postgres and, on request, repairs the drift through
 * the normal write path. Memory stays bounded by the page size whatever the table's size:
 *
 * 1. Postgres → index: root keys are paged in key order (`scanKeys`), each page is built
 *    (`build`) and its ids fetched from the alias (`_mget`). An id the index lacks is
 *    *missing*; one whose `_source` has another content hash is *stale*.
 * 2. Index → Postgres: the alias's ids are paged in `_id` order (`search_after`), turned back
 *    into root keys and built again. An id whose build is a delete (row gone, soft-deleted,
 *    filtered out) or that no root key produces is *extra*. Hashed ids (keys longer than
 *    `_id` allows) cannot be turned back into keys and are counted as *unchecked*.
 *
 * With `repair`, each page's fixes are written right away (upserts for missing and stale,
 * deletes for extra) and read back; what still differs is counted as *remaining*.
 */
import type { Lsn } from "../engine/change.ts";
import type { DocKey, DocumentBuilder, Sink, SinkWrite } from "../engine/ports.ts";
import { documentId, HASHED_ID_PREFIX } from "../model/document_id.ts";
import { contentHash } from "./verify_hash.ts";
import type { IndexReader } from "./verify_reader.ts";

/** What verify reads and writes. */
export interface VerifyPorts {
  readonly builder: Pick<DocumentBuilder, "scanKeys" | "build">;
  readonly reader: IndexReader;
  /** Postgres's WAL insert position (`walInsertLsn`): the version of repair writes. */
  currentLsn(): Promise<Lsn>;
  /** The normal write path (external versioning); needed only with `repair`. */
  readonly sink?: Pick<Sink, "write">;
  /**
   * Which keys the root key columns' types accept (an id `abc` is no bigint key). Keys it
   * refuses are never built — they are extra. Default: every key is accepted.
   */
  acceptsKeys?(keys: readonly DocKey[]): Promise<boolean[]>;
}

/** What to verify and how. */
export interface VerifyOptions {
  readonly index: string;
  /** Number of root primary-key columns (to turn `_id`s back into keys). */
  readonly keyColumns: number;
  readonly repair: boolean;
  /** Keys or ids per page (default 500): the bound on memory. */
  readonly pageSize?: number;
  /** How many example ids each finding keeps (default 10). */
  readonly sampleSize?: number;
  /** Stops at the next page boundary. */
  readonly signal?: AbortSignal;
}

/** A kind of drift: how many, and the first few ids. */
export interface DriftList {
  readonly count: number;
  readonly sample: readonly string[];
}

/** What repair did. */
export interface RepairSummary {
  /** Documents written (missing and stale). */
  readonly written: number;
  /** Extra documents deleted. */
  readonly deleted: number;
  /** Writes the index refused for good (mapping errors); see the log. */
  readonly rejected: number;
  /**
   * Fixes that did not stick when read back: refused, or superseded meanwhile (a newer live
   * write — harmless, but only a later verify can tell).
   */
  readonly remaining: number;
}

/** The result of verifying one index. */
export interface VerifyReport {
  readonly index: string;
  /** The alias read. */
  readonly alias: string;
  /** Documents Postgres says the index should hold. */
  readonly postgresDocuments: number;
  /**
   * Documents the index held when its ids were paged — with `repair`, after the missing ones
   * were written and before the extra ones were deleted.
   */
  readonly indexDocuments: number;
  readonly missing: DriftList;
  readonly stale: DriftList;
  readonly extra: DriftList;
  /** Hashed ids that cannot be checked for being extra. */
  readonly unchecked: DriftList;
  readonly repaired?: RepairSummary;
  /** True when no drift was found, or every fix stuck. */
  readonly inSync: boolean;
  readonly durationMs: number;
}

/** The alias to verify does not exist: nothing was synced yet. */
export class IndexNotCreatedError extends Error {
  constructor(readonly index: string, readonly alias: string) {
    super(
      `index "${index}" has no alias "${alias}" in OpenSearch: run \`flusso sync\` first to create and backfill it`,
    );
    this.name = "IndexNotCreatedError";
  }
}

/** Verify was stopped (shutdown) before it finished. */
export class VerifyAbortedError extends Error {
  constructor(readonly index: string) {
    super(`verify of "${index}" was stopped before it finished`);
    this.name = "VerifyAbortedError";
  }
}

/** Repair was asked for without a sink to write through. */
export class RepairUnavailableError extends Error {
  constructor(readonly index: string) {
    super(`cannot repair "${index}": its sink is not an OpenSearch sink`);
    this.name = "RepairUnavailableError";
  }
}

function collector(sampleSize: number) {
  let count = 0;
  const sample: string[] = [];
  return {
    add(id: string) {
      count++;
      if (sample.length < sampleSize) sample.push(id);
    },
    done: (): DriftList => ({ count, sample }),
  };
}

/**
 * The root key an `_id` stands for, when flusso could have written that id: "hashed" for a
 * hashed id, undefined for an id no key encodes to (it cannot be one of ours).
 */
export function keyForId(id: string, keyColumns: number): DocKey | "hashed" | undefined {
  if (id.startsWith(HASHED_ID_PREFIX)) return "hashed";
  let key: DocKey;
  if (keyColumns === 1) key = [id];
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(id);
    } catch {
      return undefined;
    }
    if (
      !Array.isArray(parsed) || parsed.length !== keyColumns ||
      !parsed.every((p) => typeof p === "string")
    ) return undefined;
    key = parsed;
  }
  // Only the canonical encoding is ours (e.g. `["1", "2"]` with a space is not).
  return documentId(key) === id ? key : undefined;
}

/** Verifies one index (and repairs it with `options.repair`). */
export async function verifyIndex(
  ports: VerifyPorts,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const started = Date.now();
  const { index, repair } = options;
  const pageSize = options.pageSize ?? 500;
  const sampleSize = options.sampleSize ?? 10;
  const { builder, reader } = ports;
  if (repair && ports.sink === undefined) throw new RepairUnavailableError(index);
  if (!(await reader.exists())) throw new IndexNotCreatedError(index, reader.name);
  const checkStop = () => {
    if (options.signal?.aborted) throw new VerifyAbortedError(index);
  };

  const missing = collector(sampleSize);
  const stale = collector(sampleSize);
  const extra = collector(sampleSize);
  const unchecked = collector(sampleSize);
  const fixed = { written: 0, deleted: 0, rejected: 0, remaining: 0 };

  // Why the version is safe: it is read *before* the rows are, so it is ≥ the commit LSN of
  // every change whose effect those rows show — a live write of any such change carries a
  // version ≤ it and cannot overwrite the repair with older content, while any change
  // committed after it carries a higher LSN and still wins over the repair (external_gte).
  // One narrow window remains: a transaction whose commit record is already in the WAL but
  // not yet visible to the following read (the moment between WAL insert and the commit
  // becoming visible). Its live write would lose to the repair's; the next change of that
  // document or the next verify corrects it.
  const repairPage = async (writes: SinkWrite[]) => {
    if (writes.length === 0) return;
    const rejections = await ports.sink!.write(writes, { caughtUp: true });
    const refused = new Set(rejections.map((r) => r.write.id));
    fixed.rejected += refused.size;
    fixed.remaining += refused.size;
    const accepted = writes.filter((w) => !refused.has(w.id));
    const now = await reader.get(accepted.map((w) => w.id));
    for (const w of accepted) {
      const stored = now.get(w.id);
      const stuck = w.document === null
        ? stored === undefined
        : stored !== undefined && contentHash(stored) === contentHash(w.document);
      if (!stuck) fixed.remaining++;
      else if (w.document === null) fixed.deleted++;
      else fixed.written++;
    }
  };

  // 1. Postgres → index: missing and stale.
  let postgresDocuments = 0;
  let after: DocKey | undefined;
  for (;;) {
    checkStop();
    const keys = await builder.scanKeys(index, { after, limit: pageSize });
    if (keys.length === 0) break;
    after = keys[keys.length - 1];
    const version = repair ? await ports.currentLsn() : 0n;
    const built = (await builder.build(index, keys)).filter((d) => d.document !== null);
    postgresDocuments += built.length;
    const stored = await reader.get(built.map((d) => d.id));
    const fixes: SinkWrite[] = [];
    for (const d of built) {
      const source = stored.get(d.id);
      if (source === undefined) missing.add(d.id);
      else if (contentHash(source) !== contentHash(d.document)) stale.add(d.id);
      else continue;
      fixes.push({ index, id: d.id, version, document: d.document });
    }
    if (repair) await repairPage(fixes);
    if (keys.length < pageSize) break;
  }

  // 2. Index → Postgres: extra.
  let indexDocuments = 0;
  let afterId: string | undefined;
  for (;;) {
    checkStop();
    const ids = await reader.idsAfter(afterId, pageSize);
    if (ids.length === 0) break;
    afterId = ids[ids.length - 1];
    indexDocuments += ids.length;
    const version = repair ? await ports.currentLsn() : 0n;
    const candidates: { id: string; key: DocKey }[] = [];
    const foreign: string[] = [];
    for (const id of ids) {
      const key = keyForId(id, options.keyColumns);
      if (key === "hashed") unchecked.add(id);
      else if (key === undefined) foreign.push(id);
      else candidates.push({ id, key });
    }
    const accepted = ports.acceptsKeys
      ? await ports.acceptsKeys(candidates.map((c) => c.key))
      : candidates.map(() => true);
    const buildable = candidates.filter((_, i) => accepted[i]);
    for (const c of candidates.filter((_, i) => !accepted[i])) foreign.push(c.id);
    const built = new Map(
      (await builder.build(index, buildable.map((c) => c.key))).map((d) => [d.id, d.document]),
    );
    const extras = [
      ...foreign,
      ...buildable.filter((c) => (built.get(c.id) ?? null) === null)
        .map((c) => c.id),
    ];
    for (const id of extras) extra.add(id);
    if (repair) {
      await repairPage(extras.map((id) => ({ index, id, version, document: null })));
    }
    if (ids.length < pageSize) break;
  }

  const found = missing.done().count + stale.done().count + extra.done().count;
  return {
    index,
    alias: reader.name,
    postgresDocuments,
    indexDocuments,
    missing: missing.done(),
    stale: stale.done(),
    extra: extra.done(),
    unchecked: unchecked.done(),
    ...(repair ? { repaired: { ...fixed } } : {}),
    inSync: repair ? fixed.remaining === 0 : found === 0,
    durationMs: Date.now() - started,
  };
}
