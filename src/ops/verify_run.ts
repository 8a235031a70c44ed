/**
 * Verify wired to a configuration: the same routine serves `flusso verify` and the scheduled
 * `verify` of `flusso sync` (which passes its own pool, builder and already-ensured sinks).
 */
import type postgres from "postgres";
import type { Config, TableRef } from "../config/model.ts";
import type { Lsn } from "../engine/change.ts";
import type { DocKey, DocumentBuilder } from "../engine/ports.ts";
import { quoteTable } from "../postgres/identifiers.ts";
import { walInsertLsn } from "../postgres/wal_position.ts";
import { aliasName } from "../opensearch/naming.ts";
import type { OpenSearchSink } from "../opensearch/sink.ts";
import type { Logger } from "./logger.ts";
import { verifyIndex, type VerifyReport } from "./verify.ts";
import { openSearchIndexReader } from "./verify_reader.ts";

/** An index named for verify that the config does not have (or has disabled). */
export class UnknownVerifyIndexError extends Error {
  constructor(readonly index: string, readonly known: readonly string[]) {
    super(
      `no enabled index named "${index}" in the config (enabled: ${known.join(", ") || "none"})`,
    );
    this.name = "UnknownVerifyIndexError";
  }
}

/** An index whose sink is not OpenSearch (stdout): there is nothing to compare with. */
export class NotVerifiableError extends Error {
  constructor(readonly index: string, readonly sink: string) {
    super(`index "${index}" writes to sink "${sink}", which is not an OpenSearch sink`);
    this.name = "NotVerifiableError";
  }
}

/** Drift remained after a scheduled verify with repair. */
export class DriftRemainsError extends Error {
  constructor(readonly report: VerifyReport) {
    super(
      `verify of "${report.index}" left ${
        report.repaired?.remaining ?? 0
      } document(s) out of sync ` +
        `(missing ${report.missing.count}, stale ${report.stale.count}, extra ${report.extra.count}); ` +
        "see the log for rejected writes, or run `flusso verify --repair` again",
    );
    this.name = "DriftRemainsError";
  }
}

/** What a verifier needs. */
export interface VerifierDeps {
  readonly config: Config;
  readonly sql: postgres.Sql;
  readonly builder: Pick<DocumentBuilder, "scanKeys" | "build">;
  /** The OpenSearch sink of each index (by index name); repair writes through it. */
  readonly sinks: ReadonlyMap<string, OpenSearchSink>;
}

/** Verifies indexes of one configuration. */
export interface Verifier {
  verify(
    index: string,
    options: {
      readonly repair: boolean;
      readonly signal?: AbortSignal;
      readonly pageSize?: number;
    },
  ): Promise<VerifyReport>;
}

/** The version of repair writes: the WAL insert position (see `walInsertLsn`). */
export function currentWalLsn(sql: postgres.Sql): Promise<Lsn> {
  return walInsertLsn(sql);
}

/** A Postgres "data exception" (SQLSTATE class 22), e.g. `abc` cast to bigint. */
function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("22");
}

/**
 * Which key texts the root table's key column types accept. The casts run in a statement of
 * their own, never prepared: a failed cast must not reach the builder's prepared statements
 * (postgres.js returns a spurious empty row from a prepared statement after it failed).
 */
export function keyTypeCheck(
  sql: postgres.Sql,
  table: TableRef,
  primaryKey: readonly string[],
): (keys: readonly DocKey[]) => Promise<boolean[]> {
  let statement: Promise<string> | undefined;
  const prepare = async () => {
    const rows = await sql<{ name: string; type: string }[]>`
      SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_attribute a
      WHERE a.attrelid = to_regclass(${quoteTable(table)}) AND a.attnum > 0
        AND a.attname = ANY(${primaryKey as string[]})`;
    const types = new Map(rows.map((r) => [r.name, r.type]));
    // format_type prints catalog type names already quoted where needed.
    const casts = primaryKey.map((c, i) => `k.c${i}::${types.get(c) ?? "text"}`);
    const columns = primaryKey.map((_, i) => `c${i}`).join(", ");
    const arrays = primaryKey.map((_, i) => `$${i + 1}::text[]`).join(", ");
    // The casts sit in WHERE so the planner cannot drop them as unused output.
    return `SELECT count(*) FROM unnest(${arrays}) AS k(${columns}) WHERE ${
      casts.map((c) => `${c} IS NOT NULL`).join(" AND ")
    }`;
  };
  const accepts = async (text: string, keys: readonly DocKey[]) => {
    try {
      const params = primaryKey.map((_, c) => keys.map((k) => k[c]));
      await sql.unsafe(text, params as never[], { prepare: false });
      return true;
    } catch (error) {
      if (isDataException(error)) return false;
      throw error;
    }
  };
  return async (keys) => {
    if (keys.length === 0) return [];
    statement ??= prepare();
    const text = await statement;
    if (await accepts(text, keys)) return keys.map(() => true);
    const out: boolean[] = [];
    for (const key of keys) out.push(await accepts(text, [key]));
    return out;
  };
}

/** A verifier over a configuration's enabled indexes. */
export function createVerifier(deps: VerifierDeps): Verifier {
  const enabled = deps.config.indexes.filter((i) => i.enabled);
  return {
    verify(index, options) {
      const config = enabled.find((i) => i.name === index);
      if (config === undefined) {
        return Promise.reject(new UnknownVerifyIndexError(index, enabled.map((i) => i.name)));
      }
      const sink = deps.sinks.get(index);
      if (sink === undefined) return Promise.reject(new NotVerifiableError(index, config.sink));
      return verifyIndex({
        builder: deps.builder,
        reader: openSearchIndexReader(sink.client, aliasName(deps.config.prefix, index)),
        currentLsn: () => currentWalLsn(deps.sql),
        sink,
        acceptsKeys: keyTypeCheck(deps.sql, config.model.table, config.model.primaryKey),
      }, {
        index,
        keyColumns: config.model.primaryKey.length,
        repair: options.repair,
        pageSize: options.pageSize,
        signal: options.signal,
      });
    },
  };
}

/** One log line summarising a report. */
export function logVerifyReport(logger: Logger, report: VerifyReport): void {
  const fields = {
    index: report.index,
    postgres_documents: report.postgresDocuments,
    index_documents: report.indexDocuments,
    missing: report.missing.count,
    stale: report.stale.count,
    extra: report.extra.count,
    unchecked: report.unchecked.count,
    ...(report.repaired
      ? {
        written: report.repaired.written,
        deleted: report.repaired.deleted,
        rejected: report.repaired.rejected,
        remaining: report.repaired.remaining,
      }
      : {}),
    duration_ms: report.durationMs,
  };
  const drift = report.missing.count + report.stale.count + report.extra.count;
  if (!report.inSync) logger.warn("verify found drift that remains", fields);
  else if (drift > 0) logger.info("verify repaired drift", fields);
  else logger.info("verify found the index in sync", fields);
}
