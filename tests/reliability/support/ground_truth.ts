/**
 * The ground-truth checker: after quiescence, every enabled index (read through its alias,
 * after a refresh) must hold exactly the documents the independent oracle
 * (tests/support/oracle.ts) computes from Postgres — same ids, same full content. Zero
 * missing, zero extra, zero stale is the only pass.
 *
 *     const report = await checkGroundTruth({ sql: db.sql, opensearchUrl: emulator.url, config });
 *     assertGroundTruth(report);   // throws an AssertionError listing the first differences
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import type postgres from "postgres";
import type { Config } from "../../../src/config/model.ts";
import { documentId } from "../../../src/model/document_id.ts";
import { aliasName } from "../../../src/opensearch/naming.ts";
import { expectedDocuments, snapshot, tablesOfModel } from "../../support/oracle.ts";

/** One difference between an index and the oracle. */
export interface GroundTruthDifference {
  readonly index: string;
  readonly id: string;
  readonly kind: "missing" | "extra" | "stale";
  /** What the oracle expects (null for extra). */
  readonly expected: Readonly<Record<string, unknown>> | null;
  /** What the index holds (null for missing). */
  readonly actual: Readonly<Record<string, unknown>> | null;
}

/** The outcome of one check. */
export interface GroundTruthReport {
  /** Counts over every index. */
  readonly missing: number;
  readonly extra: number;
  readonly stale: number;
  /** Expected (live) documents per index, and what the index holds. */
  readonly perIndex: Readonly<Record<string, { expected: number; actual: number }>>;
  /** Every difference found (all of them; print a few). */
  readonly details: readonly GroundTruthDifference[];
}

/** Input of `checkGroundTruth`. */
export interface GroundTruthInput {
  /** A client on the source database. */
  readonly sql: postgres.Sql;
  /** The OpenSearch (or emulator) base URL, without a trailing slash. */
  readonly opensearchUrl: string;
  /** The loaded config: its enabled indexes, their models and the name prefix. */
  readonly config: Pick<Config, "indexes" | "prefix">;
  /** Extra request headers (e.g. basic auth for a real cluster). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Documents per search page (default 1000). */
  readonly pageSize?: number;
}

/** Thrown when OpenSearch answers the checker with an error. */
export class GroundTruthReadError extends Error {
  constructor(readonly url: string, readonly status: number, readonly body: string) {
    super(`ground truth: ${url} answered ${status}: ${body.slice(0, 300)}`);
    this.name = "GroundTruthReadError";
  }
}

async function request(
  input: GroundTruthInput,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = `${input.opensearchUrl}${path}`;
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...input.headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new GroundTruthReadError(url, res.status, text);
  return text === "" ? undefined : JSON.parse(text);
}

/** Every document of `alias` by `_id` (paged with search_after on `_id`). */
export async function readIndex(
  input: GroundTruthInput,
  alias: string,
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const size = input.pageSize ?? 1000;
  let after: unknown[] | undefined;
  for (;;) {
    const page = await request(input, "POST", `/${encodeURIComponent(alias)}/_search`, {
      size,
      query: { match_all: {} },
      sort: [{ _id: "asc" }],
      ...(after ? { search_after: after } : {}),
    }) as { hits: { hits: { _id: string; _source: Record<string, unknown>; sort: unknown[] }[] } };
    const hits = page.hits.hits;
    for (const h of hits) out.set(h._id, h._source);
    if (hits.length < size) return out;
    after = hits[hits.length - 1].sort;
  }
}

/** Compares every enabled index with the oracle; see the module comment. */
export async function checkGroundTruth(input: GroundTruthInput): Promise<GroundTruthReport> {
  const details: GroundTruthDifference[] = [];
  const perIndex: Record<string, { expected: number; actual: number }> = {};
  for (const index of input.config.indexes) {
    if (!index.enabled) continue;
    const alias = aliasName(input.config.prefix, index.name);
    await request(input, "POST", `/${encodeURIComponent(alias)}/_refresh`);
    // Read the index first, then Postgres: at quiescence the order does not matter, and a
    // check run too early shows up as stale/missing rather than passing by luck.
    const actual = await readIndex(input, alias);
    const tables = await snapshot(input.sql, tablesOfModel(index.model));
    const expected = new Map<string, Record<string, unknown>>();
    for (const { key, document } of expectedDocuments(index.model, tables).values()) {
      if (document !== null) expected.set(documentId(key), document);
    }
    perIndex[index.name] = { expected: expected.size, actual: actual.size };
    for (const [id, doc] of expected) {
      const got = actual.get(id);
      if (got === undefined) {
        details.push({ index: index.name, id, kind: "missing", expected: doc, actual: null });
      } else if (!isDeepStrictEqual(normalize(got), normalize(doc))) {
        details.push({ index: index.name, id, kind: "stale", expected: doc, actual: got });
      }
    }
    for (const [id, doc] of actual) {
      if (!expected.has(id)) {
        details.push({ index: index.name, id, kind: "extra", expected: null, actual: doc });
      }
    }
  }
  const count = (k: GroundTruthDifference["kind"]) => details.filter((d) => d.kind === k).length;
  return {
    missing: count("missing"),
    extra: count("extra"),
    stale: count("stale"),
    perIndex,
    details,
  };
}

/** A JSON round trip: both sides compared as JSON values (no undefined, no prototypes). */
function normalize(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

/** A one-paragraph summary plus the first `limit` differences, for assertion messages. */
export function describeGroundTruth(report: GroundTruthReport, limit = 5): string {
  const lines = [
    `ground truth: ${report.missing} missing, ${report.extra} extra, ${report.stale} stale; ` +
    Object.entries(report.perIndex).map(([i, c]) =>
      `${i}: expected ${c.expected}, index ${c.actual}`
    )
      .join("; "),
  ];
  for (const d of report.details.slice(0, limit)) {
    lines.push(
      `  ${d.kind} ${d.index}/${d.id}\n    expected ${JSON.stringify(d.expected)}\n    actual   ${
        JSON.stringify(d.actual)
      }`,
    );
  }
  return lines.join("\n");
}

/** Throws unless the report is exact (zero missing, extra and stale). */
export function assertGroundTruth(report: GroundTruthReport): void {
  assert.ok(report.details.length === 0, describeGroundTruth(report));
}
