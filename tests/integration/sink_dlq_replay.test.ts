/**
 * `flusso dlq replay` end to end: dead letters are rebuilt from current rows in a real
 * Postgres, written to the emulator (or OPENSEARCH_URL), and removed once written; entries
 * whose id cannot be turned back into a key stay.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReplaySupport } from "../../src/cli/dlq.ts";
import { dlqCommand } from "../../src/cli/dlq_command.ts";
import { loadConfig } from "../../src/config/load.ts";
import { indexMapping } from "../../src/model/mapping.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../../src/opensearch/sink.ts";
import { opensearchTarget } from "../support/opensearch/target.ts";
import { type TestDatabase, testDatabase } from "../support/postgres.ts";

type Target = Awaited<ReturnType<typeof opensearchTarget>>;

describe("dlq replay", () => {
  let target: Target;
  let db: TestDatabase;
  let dir: string;
  let file: string;
  const prefix = `r${randomUUID().slice(0, 8)}_`;
  const sinks: OpenSearchSink[] = [];
  const env = () => ({ DATABASE_URL: db.url, SEARCH_OPENSEARCH_URL: target.url });
  const load = (path: string) => loadConfig(path, { env: env() });
  const newSink = async () => {
    const config = await load(file);
    const sink = createOpenSearchSink({
      config: config.sinks[0],
      prefix: config.prefix,
      sleep: () => Promise.resolve(),
    });
    sinks.push(sink);
    return { sink, config };
  };

  before(async () => {
    target = await opensearchTarget();
    db = await testDatabase(
      "dlq_replay",
      `CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL);
       INSERT INTO people VALUES (1, 'ada'), (2, 'grace');`,
    );
    dir = mkdtempSync(join(tmpdir(), "flusso-dlq-"));
    file = join(dir, "flusso.toml");
    writeFileSync(
      file,
      `prefix = "${prefix}"
[source]
type = "postgres"
connection_url = { env = "DATABASE_URL" }
slot = "${db.slot}"
publication = "${db.publication}"

[sinks.search]
type = "opensearch"
url = "http://127.0.0.1:1"
number_of_replicas = 0

[[index]]
name = "people"
schema = "people.schema.yml"
on_error = "skip"
`,
    );
    writeFileSync(
      join(dir, "people.schema.yml"),
      `version: 1
table: people
primary_key: id
fields:
  - long: id
  - keyword: name
`,
    );
  });

  after(async () => {
    const admin = sinks[0];
    await admin?.client.indices.delete({ index: `${prefix}*` }, { ignore: [404] }).catch(() => {});
    for (const sink of sinks) await sink.close();
    await db?.drop();
    await target?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("rebuilds_dead_letters_from_current_rows_and_removes_the_written_ones", async () => {
    const { sink, config } = await newSink();
    await sink.ensure([indexMapping(config.indexes[0], config.sinks[0])]);
    await sink.markSeeded("people");
    await sink.quarantine([
      {
        write: { index: "people", id: "1", version: 5n, document: { id: 1, name: 7 } },
        type: "mapper_parsing_exception",
        reason: "bad",
      },
      {
        write: { index: "people", id: "#deadbeef", version: 5n, document: null },
        type: "mapper_parsing_exception",
        reason: "bad",
      },
    ]);
    await db.sql`UPDATE people SET name = 'ada lovelace' WHERE id = 1`;

    const lines: string[] = [];
    const command = dlqCommand({
      loadConfig: load,
      createSink: (c, s) => {
        const replaySink = createOpenSearchSink({
          config: s,
          prefix: c.prefix,
          sleep: () => Promise.resolve(),
        });
        sinks.push(replaySink);
        return replaySink;
      },
      replaySupport: createReplaySupport,
      print: (line) => lines.push(line),
    });
    await command.parseAsync(["replay", "--config", file], { from: "user" });

    assert.deepEqual(lines.map((l) => JSON.parse(l)), [
      { sink: "search", replayed: 1, stillRejected: 0, skipped: 1 },
    ]);
    const doc = await sink.client.get({ index: `${prefix}people`, id: "1" });
    assert.equal((doc.body as { _source: { name: string } })._source.name, "ada lovelace");
    assert.deepEqual((await sink.dlq.list()).map((e) => e.id), ["#deadbeef"]);
  });
});
