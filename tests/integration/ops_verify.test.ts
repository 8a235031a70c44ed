/**
 * `flusso verify` against a real Postgres (the shop schema) and OpenSearch (the emulator, or
 * the cluster at OPENSEARCH_URL): after a backfill through the normal sink, drift injected on
 * both sides — a document deleted from the index, a `_source` tampered with, extra documents
 * (one with an id no key produces), a row changed and a row soft-deleted without syncing —
 * must be reported id for id, repaired through the write path, and then verify clean.
 */
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import postgres from "postgres";
import { runVerify } from "../../src/cli/verify.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/model.ts";
import type { DocKey, SinkWrite } from "../../src/engine/ports.ts";
import { indexMapping } from "../../src/model/mapping.ts";
import { aliasName } from "../../src/opensearch/naming.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../../src/opensearch/sink.ts";
import { clientOptions } from "../../src/postgres/connect.ts";
import {
  createPostgresDocumentBuilder,
  type PostgresDocumentBuilder,
} from "../../src/postgres/document_builder.ts";
import { silentLogger } from "../../src/ops/logger.ts";
import type { VerifyReport } from "../../src/ops/verify.ts";
import { createVerifier, currentWalLsn, type Verifier } from "../../src/ops/verify_run.ts";
import { type SyncConfig, writeSyncConfig } from "../support/flusso_process.ts";
import { type OpenSearchTarget, opensearchTarget } from "../support/opensearch/target.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

const SCHEMA = readFileSync(new URL("../../examples/shop/schema.sql", import.meta.url), "utf8");
const INDEX = "customers";
const TOKEN = "verify-test-token-0123456789";
// Small pages so that every phase crosses several page boundaries.
const PAGE = 7;

function restoreEnv(name: string, value: string | undefined) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

const sorted = (ids: readonly string[]) => [...ids].sort();

describe("flusso verify on the shop schema", () => {
  let db: TestDatabase;
  let target: OpenSearchTarget;
  let files: SyncConfig;
  let config: Config;
  let sql: postgres.Sql;
  let sink: OpenSearchSink;
  let builder: PostgresDocumentBuilder;
  let verifier: Verifier;
  let alias: string;
  const prefix = `verify${process.pid}${Math.random().toString(36).slice(2, 6)}_`;

  /** Seeds the index the way a backfill does: every root row built and written, then seeded. */
  async function backfill() {
    const version = await currentWalLsn(sql);
    let after: DocKey | undefined;
    for (;;) {
      const keys = await builder.scanKeys(INDEX, { after, limit: 20 });
      if (keys.length === 0) break;
      after = keys[keys.length - 1];
      const writes: SinkWrite[] = (await builder.build(INDEX, keys)).map((d) => ({
        index: INDEX,
        id: d.id,
        version,
        document: d.document,
      }));
      assert.deepEqual(await sink.write(writes, { caughtUp: false }), []);
    }
    await sink.markSeeded(INDEX);
  }

  const verify = (repair: boolean): Promise<VerifyReport> =>
    verifier.verify(INDEX, { repair, pageSize: PAGE });

  before(async () => {
    target = await opensearchTarget();
    db = await testDatabase("ops_verify", `${SCHEMA}\nSELECT shop_seed(50);`);
    files = await writeSyncConfig({
      example: "examples/shop",
      slot: db.slot,
      publication: db.publication,
      opensearchUrl: target.url,
      prefix,
    });
    config = await loadConfig(files.path, { env: { DATABASE_URL: db.url, FLUSSO_TOKEN: TOKEN } });
    const index = config.indexes.find((i) => i.name === INDEX)!;
    sql = postgres(clientOptions(config.source.connection, { max: 2 }));
    builder = await createPostgresDocumentBuilder({ sql, indexes: [index] });
    const sinkConfig = config.sinks.find((s) => s.name === index.sink)!;
    sink = createOpenSearchSink({ config: sinkConfig, prefix, logger: silentLogger });
    await sink.ensure([indexMapping(index, sinkConfig)]);
    verifier = createVerifier({ config, sql, builder, sinks: new Map([[INDEX, sink]]) });
    alias = aliasName(prefix, INDEX);
    await backfill();
  });

  after(async () => {
    await sink?.close();
    await sql?.end();
    await db?.drop();
    await target?.close();
    files?.remove();
  });

  it("reports_a_freshly_backfilled_index_as_in_sync", async () => {
    const report = await verify(false);
    assert.equal(report.postgresDocuments, 50);
    assert.equal(report.indexDocuments, 50);
    assert.deepEqual(
      [report.missing.count, report.stale.count, report.extra.count, report.unchecked.count],
      [0, 0, 0, 0],
    );
    assert.equal(report.inSync, true);
  });

  it("reports_exactly_the_injected_missing_stale_and_extra_ids", async () => {
    const client = sink.client;
    await client.delete({ index: alias, id: "3", refresh: true } as never);
    const four = await client.get({ index: alias, id: "4" });
    await client.index({
      index: alias,
      id: "4",
      body: { ...(four.body._source as Record<string, unknown>), name: "Tampered" },
      refresh: true,
    } as never);
    await client.index({
      index: alias,
      id: "9999",
      body: { id: 9999, name: "Ghost" },
      refresh: true,
    } as never);
    // An id no customers key can produce (the key column is bigint).
    await client.index({
      index: alias,
      id: "not-a-key",
      body: { id: 0, name: "Foreign" },
      refresh: true,
    } as never);
    await sql`UPDATE customers SET name = 'Changed Behind The Back' WHERE id = 5`;
    await sql`UPDATE customers SET deleted_at = now() WHERE id = 6`;

    const report = await verify(false);
    assert.deepEqual(sorted(report.missing.sample), ["3"]);
    assert.deepEqual(sorted(report.stale.sample), ["4", "5"]);
    assert.deepEqual(sorted(report.extra.sample), ["6", "9999", "not-a-key"]);
    assert.deepEqual([report.missing.count, report.stale.count, report.extra.count], [1, 2, 3]);
    assert.equal(report.postgresDocuments, 49);
    assert.equal(report.indexDocuments, 51);
    assert.equal(report.inSync, false);
    assert.equal(report.repaired, undefined);
    // Without --repair nothing was written: the drift is still there.
    assert.equal((await verify(false)).extra.count, 3);
  });

  it("repairs_the_drift_through_the_write_path_and_then_verifies_clean", async () => {
    const repaired = await verify(true);
    assert.deepEqual(repaired.repaired, { written: 3, deleted: 3, rejected: 0, remaining: 0 });
    assert.equal(repaired.inSync, true);

    const clean = await verify(false);
    assert.deepEqual([clean.missing.count, clean.stale.count, clean.extra.count], [0, 0, 0]);
    assert.equal(clean.postgresDocuments, 49);
    assert.equal(clean.indexDocuments, 49);
    const five = await sink.client.get({ index: alias, id: "5" });
    assert.equal((five.body._source as { name: string }).name, "Changed Behind The Back");
  });

  it("the_cli_exits_1_on_drift_and_0_once_repaired", async () => {
    await sink.client.delete({ index: alias, id: "7", refresh: true } as never);
    const previous = { db: process.env.DATABASE_URL, token: process.env.FLUSSO_TOKEN };
    process.env.DATABASE_URL = db.url;
    process.env.FLUSSO_TOKEN = TOKEN;
    const out: string[] = [];
    const run = (repair: boolean, format: "human" | "json") =>
      runVerify(
        { config: files.path, index: INDEX, repair, format, pageSize: PAGE },
        silentLogger,
        (text) => void out.push(text),
      );
    try {
      assert.equal(await run(false, "json"), 1);
      const parsed = JSON.parse(out.pop()!) as { outcomes: { report: VerifyReport }[] };
      assert.deepEqual(parsed.outcomes[0].report.missing.sample, ["7"]);
      assert.equal(await run(true, "human"), 0);
      assert.match(out.pop()!, /customers: 1 missing, 0 stale, 0 extra[\s\S]*1 written/);
      assert.equal(await run(false, "human"), 0);
      assert.match(out.pop()!, /^customers: in sync — 49 documents in Postgres, 49 in /);
    } finally {
      restoreEnv("DATABASE_URL", previous.db);
      restoreEnv("FLUSSO_TOKEN", previous.token);
    }
  });
});
