/**
 * Bad input, from every side flusso reads: poison rows (values the index mapping rejects —
 * a latitude of 123° in a geo_point) under `on_error = "stop"` and `"skip"`; every config of
 * the invalid-config corpus given to the compiled binary; malformed replication bytes (a
 * proxy corrupts a pgoutput message on the wire, and a seeded fuzz of the decoder); and
 * SQL-injection attempts through identifiers and filter values in config. Each must end in a
 * clear error or a harmless, correct result — never a crash, a hang or a silent loss.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseLsn } from "../../src/engine/change.ts";
import { decodePgoutput } from "../../src/postgres/replication/decoder.ts";
import { PgoutputDecodeError } from "../../src/postgres/replication/errors.ts";
import { parseCopyData } from "../../src/postgres/replication/standby_status.ts";
import { BINARY, ensureBinary, REPO_ROOT } from "../support/flusso_process.ts";
import * as enc from "../unit/pgoutput_encode.ts";
import { assertGroundTruth, checkGroundTruth } from "./support/ground_truth.ts";
import { runSeed, seededRandom } from "./support/random.ts";
import { scenario, SOAK } from "./support/trials.ts";
import { createWorkload } from "./support/workload.ts";
import { startCorruptingProxy } from "./support_b/corrupting_proxy.ts";
import { exitedWithin, sharedDatabase, startWorld, type World } from "./support_b/world.ts";

const SEED = runSeed(process.env, 9001);
const FILE = "bad_input.test.ts";
const FUZZ_CASES = SOAK ? 500_000 : 30_000;
const FIXTURES = join(REPO_ROOT, "tests", "fixtures", "config");

/** Output of a finished command. */
interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs the binary with exactly `env` (no inherited environment); bounded by `timeoutMs`. */
function runBinary(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (c) => output += c.toString());
    child.stderr!.on("data", (c) => output += c.toString());
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`flusso ${args.join(" ")} hung (> ${options.timeoutMs ?? 20_000} ms)`));
    }, options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs `tasks` with at most `limit` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

/** The slot's confirmed_flush_lsn as a bigint (null when the slot is gone). */
async function confirmedLsn(world: World): Promise<bigint | null> {
  const rows = await world.db.sql<{ lsn: string | null }[]>`
    SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots
     WHERE slot_name = ${world.db.slot}`;
  return rows[0]?.lsn ? parseLsn(rows[0].lsn) : null;
}

/**
 * Commits `statement` in its own transaction and returns the WAL insert position read just
 * before COMMIT: the commit record (and so its LSN) lies after it.
 */
async function commitAndMark(world: World, statement: string): Promise<bigint> {
  let before = 0n;
  await world.db.sql.begin(async (tx) => {
    await tx.unsafe(statement);
    const [{ lsn }] = await tx<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
    before = parseLsn(lsn);
  });
  return before;
}

describe("poison rows: stop halts before the poison change, skip quarantines it", () => {
  const worlds: World[] = [];
  after(async () => {
    for (const w of worlds) await w.close().catch(() => {});
  });

  it("stops_naming_index_id_and_reason_without_confirming_past_the_poison_change", async () => {
    await scenario("bad_input.poison_row_stop", async (trial) => {
      const w = await startWorld({
        db: await sharedDatabase("poison_stop"),
        customers: 100,
        pipeline: { max_delay: "20ms" },
      });
      worlds.push(w);
      const proc = await w.start();
      await createWorkload({
        sql: w.db.sql,
        seed: SEED,
        weights: { truncate_related: 0, truncate_root: 0, large_transaction: 0 },
      })
        .run({ maxTransactions: 30 });
      await w.quiesce();
      // Customer 5's default address moves to latitude 123: its document cannot be indexed.
      const poisonAt = await commitAndMark(
        w,
        "UPDATE addresses SET lat = 123 WHERE customer_id = 5 AND is_default",
      );
      const code = await exitedWithin(proc, 30_000);
      assert.equal(
        code,
        1,
        `flusso should stop (exit 1) on the poison row:\n${proc.output().slice(-3000)}`,
      );
      const out = proc.output();
      assert.match(out, /index \\"customers\\" rejected document \\"5\\"/, out.slice(-3000));
      assert.match(out, /illegal latitude value \[123/);
      assert.match(
        out,
        /on_error = \\"skip\\"/,
        "the message should tell how to quarantine instead",
      );
      const confirmed = await confirmedLsn(w);
      assert.ok(
        confirmed !== null && confirmed <= poisonAt,
        `slot confirmed ${confirmed} past the poison change (committed after ${poisonAt})`,
      );
      trial();
      // Restarting with the row unchanged stops again, at the same place.
      const again = await w.start({ wait: "none" });
      assert.equal(await exitedWithin(again, 60_000), 1, again.output().slice(-2000));
      assert.ok((await confirmedLsn(w))! <= poisonAt, "a restart confirmed past the poison");
      trial();
      // Fix the row: the redelivered change now indexes, and the index equals Postgres.
      await w.db.sql`UPDATE addresses SET lat = 45 WHERE customer_id = 5 AND is_default`;
      await w.start();
      await w.quiesce();
      assertGroundTruth(await w.groundTruth());
      trial();
    }, { file: FILE, notes: "geo_point latitude 123 under on_error = stop; then fixed" });
  });

  it("quarantines_the_poison_document_and_indexes_everything_after_it", async () => {
    await scenario("bad_input.poison_row_skip", async (trial) => {
      const w = await startWorld({
        db: await sharedDatabase("poison_skip"),
        customers: 100,
        root: { on_error: "skip" },
        pipeline: { max_delay: "20ms" },
      });
      worlds.push(w);
      const proc = await w.start();
      const poisonAt = await commitAndMark(
        w,
        "UPDATE addresses SET lat = 123 WHERE customer_id = 7 AND is_default",
      );
      // Everything after the poison must still arrive.
      await createWorkload({
        sql: w.db.sql,
        seed: SEED + 1,
        weights: { truncate_related: 0, truncate_root: 0, large_transaction: 0 },
      })
        .run({ maxTransactions: 40 });
      await w.db.sql`UPDATE customers SET name = 'after the poison' WHERE id = 8`;
      await w.quiesce();
      assert.equal(await exitedWithin(proc, 0), undefined, proc.output().slice(-3000));
      assert.ok((await confirmedLsn(w))! > poisonAt, "the slot is stuck at the poison change");
      // The index equals Postgres except for the quarantined document.
      const report = await w.groundTruth();
      const others = report.details.filter((d) => !(d.index === "customers" && d.id === "7"));
      assert.deepEqual(others.map((d) => `${d.kind} ${d.index}/${d.id}`), []);
      // The dead-letter store names it, with the reason.
      const listed = await runBinary([
        "dlq",
        "list",
        "--config",
        w.config.path,
        "--index",
        "customers",
      ], {
        cwd: w.config.dir,
        env: { DATABASE_URL: w.db.url, FLUSSO_TOKEN: w.token },
      });
      assert.equal(listed.code, 0, listed.output);
      const entries = listed.output.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as Record<string, unknown>
      );
      const entry = entries.find((e) => e.id === "7");
      assert.ok(entry, `no dead letter for customers/7 in:\n${listed.output}`);
      assert.match(JSON.stringify(entry), /latitude/);
      const status = await proc.status();
      assert.ok(
        JSON.stringify(status).includes("quarantined"),
        "status does not count quarantined documents",
      );
      trial();
      // Fix the row: the change indexes the document; the index equals Postgres exactly.
      await w.db.sql`UPDATE addresses SET lat = 45 WHERE customer_id = 7 AND is_default`;
      await w.quiesce();
      assertGroundTruth(await w.groundTruth());
      trial();
    }, {
      file: FILE,
      notes: "geo_point latitude 123 under on_error = skip; 40 transactions after it",
    });
  });
});

describe("malformed replication bytes: a typed error, never a crash, a hang or a loss", () => {
  it("stops_on_a_corrupted_pgoutput_message_and_redelivers_it_after_restart", async () => {
    await scenario("bad_input.corrupted_replication_stream", async (trial) => {
      const db = await sharedDatabase("corrupt_stream");
      const w = await startWorld({ db, customers: 100, pipeline: { max_delay: "20ms" } });
      const cluster = db.url.match(/:(\d+)\//)!;
      const proxy = await startCorruptingProxy({ port: Number(cluster[1]) });
      try {
        const env = { DATABASE_URL: proxy.urlFor(db.url) };
        const proc = await w.start({ env });
        await w.quiesce();
        proxy.armInsertCorruption(1);
        const before = await commitAndMark(
          w,
          "INSERT INTO customers (id, name, email) VALUES (100001, 'after corruption', 'c@x.io')",
        );
        const code = await exitedWithin(proc, 30_000);
        assert.equal(proxy.corrupted, 1, "the proxy corrupted nothing");
        assert.equal(
          code,
          1,
          `flusso should fail on undecodable bytes:\n${proc.output().slice(-3000)}`,
        );
        assert.match(
          proc.output(),
          /cannot decode pgoutput message at byte 0: unknown message type 90/,
        );
        assert.ok((await confirmedLsn(w))! <= before, "confirmed past the undecodable change");
        trial();
        // The same bytes, uncorrupted, arrive again after a restart.
        await w.start({ env });
        await w.quiesce();
        assertGroundTruth(await w.groundTruth());
        trial();
      } finally {
        await w.close();
        await proxy.close();
      }
    }, { file: FILE, notes: "an Insert's pgoutput tag rewritten on the wire by a proxy" });
  });

  it("decoder_answers_every_mutated_message_with_a_value_or_PgoutputDecodeError", async () => {
    await scenario("bad_input.decoder_fuzz", (trial) => {
      const random = seededRandom(SEED);
      const T = Date.UTC(2026, 0, 1);
      const valid = [
        enc.begin(1n, T, 1),
        enc.commit(1n, 2n, T),
        enc.relation(7, "public", "customers", [{ name: "id", key: true }, { name: "name" }], "f"),
        enc.insert(7, ["1", "Ann"]),
        enc.update(7, ["1", "Bob"], { kind: "O", cols: ["1", "Ann"] }),
        enc.del(7, "K", ["1", null]),
        enc.truncate([7, 8], 1),
        enc.message(true, 5n, "flusso_heartbeat", ""),
        enc.streamStart(9, true),
        enc.streamCommit(9, 1n, 2n, T),
        enc.streamAbort(9, 10),
      ];
      const failures: string[] = [];
      for (let i = 0; i < FUZZ_CASES; i++) {
        const base = valid[random.int(0, valid.length - 1)];
        let bytes: Uint8Array;
        const how = random.int(0, 3);
        if (how === 0) bytes = base.subarray(0, random.int(0, base.length - 1)); // truncated
        else if (how === 1) { // flipped bytes
          bytes = Uint8Array.from(base);
          for (let k = random.int(1, 4); k > 0; k--) {
            bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
          }
        } else if (how === 2) { // trailing garbage
          bytes = Uint8Array.from([
            ...base,
            ...Array.from({ length: random.int(1, 8) }, () => random.int(0, 255)),
          ]);
        } else { // pure noise
          bytes = Uint8Array.from({ length: random.int(0, 64) }, () => random.int(0, 255));
        }
        for (const inStream of [false, true]) {
          try {
            decodePgoutput(bytes, inStream);
          } catch (error) {
            if (!(error instanceof PgoutputDecodeError)) {
              failures.push(`case ${i} (${how}) ${Buffer.from(bytes).toString("hex")}: ${error}`);
            }
          }
        }
        // The CopyData envelope around it, truncated or noisy, too.
        try {
          parseCopyData(Uint8Array.from([0x77, ...bytes]));
        } catch (error) {
          if (!(error instanceof PgoutputDecodeError)) {
            failures.push(`copydata case ${i}: ${error}`);
          }
        }
      }
      trial(FUZZ_CASES);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} inputs crashed the decoder`);
      return Promise.resolve();
    }, { file: FILE, notes: `seed ${SEED}; ${FUZZ_CASES} mutated or random messages` });
  });
});

describe("the invalid-config corpus: exit 2 with the expected message, nothing started", () => {
  it("refuses_every_corpus_config_with_its_expected_messages", async () => {
    await scenario("bad_input.invalid_config_corpus", async (trial) => {
      ensureBinary();
      const scratch = mkdtempSync(join(tmpdir(), "flusso-corpus-"));
      try {
        type Case = {
          name: string;
          args: string[];
          expected: string[];
          path: string;
          shown: string;
        };
        const cases: Case[] = [];
        for (const dir of ["toml", "schema"]) {
          for (const file of readdirSync(join(FIXTURES, dir)).sort()) {
            if (!file.endsWith(".expected")) continue;
            const stem = file.replace(/\.expected$/, "");
            const expected = readFileSync(join(FIXTURES, dir, file), "utf8").split("\n")
              .filter((l) => l.trim() !== "" && !l.startsWith("#"));
            if (dir === "toml") {
              cases.push({
                name: `toml/${stem}`,
                args: ["sync", "--config", `toml/${stem}.toml`],
                expected,
                path: "",
                shown: "",
              });
            } else {
              // A valid deployment file around the broken schema file.
              const schema = join(FIXTURES, "schema", `${stem}.schema.yml`);
              const toml = join(scratch, `${stem}.toml`);
              writeFileSync(
                toml,
                `[source]\nconnection_url = "postgres://flusso@127.0.0.1:1/app"\n\n[sinks.search]\nurl = "http://127.0.0.1:1"\n\n[[index]]\nname = "users"\nschema = ${
                  JSON.stringify(schema)
                }\n`,
              );
              cases.push({
                name: `schema/${stem}`,
                args: ["sync", "--config", toml],
                expected,
                path: `schema/${stem}.schema.yml`,
                shown: schema,
              });
            }
          }
        }
        // Reduced run: every deployment-file case and a seeded sample of the schema cases.
        const random = seededRandom(SEED);
        const chosen = SOAK
          ? cases
          : cases.filter((c) => c.name.startsWith("toml/") || random.chance(0.3));
        const failures: string[] = [];
        await pool(
          chosen.map((c) => async () => {
            const run = await runBinary(c.args, { cwd: FIXTURES });
            const problems: string[] = [];
            if (run.code !== 2) problems.push(`exit ${run.code}, expected 2`);
            for (const line of c.expected) {
              const m = /^(.*?):(\d+):(\d+): (.*)$/.exec(line);
              const want = m
                ? `${m[1].replace(c.path, c.shown)}:${m[2]}:${m[3]}: error: ${m[4]}`
                : line;
              if (!run.output.includes(want)) problems.push(`missing: ${want}`);
            }
            if (!/nothing was started/.test(run.output)) problems.push("no 'nothing was started'");
            if (/^\s+at /m.test(run.output)) problems.push("a stack trace was printed");
            if (problems.length) failures.push(`${c.name}: ${problems.join("; ")}\n${run.output}`);
          }),
          3,
        );
        trial(chosen.length);
        assert.ok(cases.length >= 40, `only ${cases.length} corpus cases`);
        assert.deepEqual(failures, []);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }, {
      file: FILE,
      notes: `seed ${SEED}; tests/fixtures/config/{toml,schema}${
        SOAK ? "" : " (schema sampled)"
      }; dist/flusso sync`,
    });
  });
});

describe("SQL injection through config: a clear error or harmless quoted use", () => {
  let w: World;
  const CANARY = "canary";

  before(async () => {
    w = await startWorld({ db: await sharedDatabase("injection"), customers: 50 });
    await w.db.sql.unsafe(`CREATE TABLE ${CANARY} (id int); CREATE TABLE x (id int)`);
  });
  after(async () => {
    await w?.close();
  });

  async function tablesStillThere(): Promise<void> {
    const rows = await w.db.sql<{ t: string }[]>`
      SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public'`;
    const names = new Set(rows.map((r) => r.t));
    for (const t of ["customers", "orders", "addresses", CANARY, "x"]) {
      assert.ok(names.has(t), `table ${t} is gone`);
    }
    const [{ n }] = await w.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM customers`;
    assert.ok(n >= 50, `customers lost rows (${n})`);
  }

  /** Writes schemas/customers.schema.yml of the config copy with `edit` applied. */
  function editCustomersSchema(edit: (text: string) => string): () => void {
    const path = join(w.config.dir, "schemas", "customers.schema.yml");
    const original = readFileSync(path, "utf8");
    writeFileSync(path, edit(original));
    return () => writeFileSync(path, original);
  }

  const hostile = [
    {
      what: "table",
      edit: (t: string) =>
        t.replace(/^table: customers$/m, `table: 'customers"; DROP TABLE ${CANARY}; --'`),
    },
    {
      what: "column",
      edit: (t: string) =>
        t.replace(
          "  - text: name\n",
          `  - text: name\n    column: 'name"; DROP TABLE ${CANARY}; --'\n`,
        ),
    },
    {
      what: "schema",
      edit: (t: string) =>
        t.replace(
          /^table: customers$/m,
          `table: customers\nschema: 'public"; DROP TABLE ${CANARY}; --'`,
        ),
    },
    {
      what: "join_table",
      edit: (t: string) =>
        t.replace("table: companies", `table: 'companies"; DROP TABLE ${CANARY}; --'`),
    },
    {
      what: "order_by",
      edit: (t: string) =>
        t.replace(
          "order_by: [{ column: created_at, direction: desc }]",
          `order_by: [{ column: 'created_at"; DROP TABLE ${CANARY}; --', direction: desc }]`,
        ),
    },
  ];

  it("refuses_hostile_identifiers_with_a_clear_error_and_no_side_effect", async () => {
    await scenario("bad_input.sql_injection_identifiers", async (trial) => {
      const failures: string[] = [];
      for (const h of hostile) {
        const restore = editCustomersSchema(h.edit);
        try {
          const env = { DATABASE_URL: w.db.url, FLUSSO_TOKEN: w.token };
          const check = await runBinary(["check", "--config", w.config.path], {
            cwd: w.config.dir,
            env,
          });
          if (check.code === 0) {
            failures.push(`${h.what}: flusso check accepted it:\n${check.output}`);
          } else if (!/DROP TABLE/.test(check.output) || /^\s+at /m.test(check.output)) {
            failures.push(
              `${h.what}: the error does not name the offending identifier:\n${check.output}`,
            );
          }
          const sync = await runBinary(["sync", "--config", w.config.path], {
            cwd: w.config.dir,
            env,
            timeoutMs: 30_000,
          });
          if (sync.code === 0) failures.push(`${h.what}: flusso sync ran with it`);
          await tablesStillThere();
          trial();
        } finally {
          restore();
        }
      }
      assert.deepEqual(failures, []);
    }, {
      file: FILE,
      notes: "table, column, schema, join table, order_by column; flusso check + sync",
    });
  });

  it("binds_hostile_filter_values_as_data_and_indexes_correctly", async () => {
    await scenario("bad_input.sql_injection_filter_values", async (trial) => {
      const restore = editCustomersSchema((t) =>
        t.replace(
          "soft_delete: { column: deleted_at }\n",
          `soft_delete: { column: deleted_at }\nfilters:\n  - { column: name, op: neq, value: "'; DROP TABLE customers; --" }\n  - { column: email, op: not_in, value: ["x'); DROP TABLE ${CANARY}; --", "\\\\'; DELETE FROM customers; --"] }\n`,
        )
      );
      try {
        // A customer whose name is exactly the hostile value: filtered out, as data.
        await w.db
          .sql`INSERT INTO customers (id, name, email) VALUES (9001, ${"'; DROP TABLE customers; --"}, 'h@x.io')`;
        const loaded = await import("../../src/config/load.ts").then((m) =>
          m.loadConfig(w.config.path, { env: { DATABASE_URL: w.db.url, FLUSSO_TOKEN: w.token } })
        );
        const proc = await w.start();
        await w.quiesce();
        await tablesStillThere();
        const report = await checkGroundTruth({
          sql: w.db.sql,
          opensearchUrl: w.emulator.url,
          config: loaded,
        });
        assertGroundTruth(report);
        assert.equal(report.perIndex.customers.expected, report.perIndex.customers.actual);
        assert.ok(report.perIndex.customers.actual >= 50);
        await proc.stop();
        trial();
      } finally {
        restore();
      }
    }, { file: FILE, notes: "neq and not_in values carrying quotes and DROP/DELETE statements" });
  });
});
