/**
 * Security: flusso talks to Postgres over TLS with `sslmode=verify-full` against a test CA
 * (password auth, scram-sha-256) and to a TLS-fronted, basic-auth emulator with `ca_file`;
 * trusting the wrong CA is a clear error, never a silent fallback. Distinctive secrets (the
 * database password, the OpenSearch password, FLUSSO_TOKEN, and wrong passwords given on
 * purpose) never appear in anything flusso prints — logs at debug level, errors, the output
 * around a kill -9 and the restart after it — nor in /status or /metrics. The private HTTP
 * surface refuses a missing or wrong token.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type FlussoProcess, startSync } from "../support/flusso_process.ts";
import { type PostgresCluster, startCluster } from "../support/postgres_cluster.ts";
import { assertGroundTruth } from "./support/ground_truth.ts";
import { runSeed } from "./support/random.ts";
import { scenario } from "./support/trials.ts";
import { createWorkload } from "./support/workload.ts";
import { reloadServer } from "./support_b/cluster_ops.ts";
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from "./support_b/tls.ts";
import { exitedWithin, privateDatabase, startWorld, type World } from "./support_b/world.ts";

const SEED = runSeed(process.env, 5150);
const FILE = "security.test.ts";

/** Distinctive secrets: any of them in flusso's output is a leak. */
const DB_PASSWORD = "pgPw7Xq2SECRETdb91";
const OS_PASSWORD = "osPw4Kz8SECRETos37";
const TOKEN = "tokN3Vw6SECRETtk55-0123456789";
const WRONG_DB_PASSWORD = "pgWrong5Yh1SECRETx";
const WRONG_OS_PASSWORD = "osWrong2Lp9SECRETy";
const SECRETS = [DB_PASSWORD, OS_PASSWORD, TOKEN, WRONG_DB_PASSWORD, WRONG_OS_PASSWORD];
const ROLE = "flusso_app";

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** The uid/gid of the `postgres` user (the server reads the key as that user). */
function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) =>
    l.startsWith("postgres:")
  );
  if (!line) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

describe("security: TLS everywhere it is asked for, secrets nowhere, tokens enforced", () => {
  let dir: string;
  let pki: TestPki;
  let cluster: PostgresCluster;
  let w: World;
  let proxy: TlsProxy;
  /** Processes started outside the world (their output is grepped too). */
  const extra: FlussoProcess[] = [];
  /** Everything captured for the secret grep: process output, HTTP bodies. */
  const captured: { what: string; text: string }[] = [];
  const capture = (what: string, text: string) => captured.push({ what, text });
  const tlsUrl = (password: string, ca: string) =>
    `postgres://${ROLE}:${password}@localhost:${cluster.port}/shop?sslmode=verify-full&sslrootcert=${
      encodeURIComponent(ca)
    }`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "flusso-tls-"));
    pki = makeTestPki(dir);
    const ids = postgresIds();
    if (ids) {
      chownSync(dir, ids.uid, ids.gid);
      for (const f of [pki.caCert, pki.serverCert, pki.serverKey]) chownSync(f, ids.uid, ids.gid);
    }
    chmodSync(pki.serverKey, 0o600);
    cluster = await startCluster({
      ssl: "on",
      ssl_cert_file: `'${pki.serverCert}'`,
      ssl_key_file: `'${pki.serverKey}'`,
      ssl_ca_file: `'${pki.caCert}'`,
      password_encryption: "'scram-sha-256'",
    });
    // The application role must authenticate with its password (over TLS); the superuser the
    // test uses keeps trust. The rule goes before initdb's trust lines.
    const hba = join(cluster.dataDir, "data", "pg_hba.conf");
    writeFileSync(
      hba,
      `hostssl all ${ROLE} 127.0.0.1/32 scram-sha-256\nhost all ${ROLE} 127.0.0.1/32 reject\n${
        readFileSync(hba, "utf8")
      }`,
    );
    await reloadServer(cluster);
    const db = await privateDatabase(cluster, "shop");
    await db.sql.unsafe(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${DB_PASSWORD}'`);
    w = await startWorld({
      db,
      customers: 150,
      databaseUrl: tlsUrl(DB_PASSWORD, pki.caCert),
      token: TOKEN,
      sink: { username: "flusso", ca_file: pki.caCert },
      rewrite: (t) =>
        t.replace(
          "[sinks.search]\n",
          `[sinks.search]\npassword = { env = "OPENSEARCH_PASSWORD" }\n`,
        ),
      env: { OPENSEARCH_PASSWORD: OS_PASSWORD, FLUSSO_LOG_LEVEL: "debug" },
      // The TLS proxy's port is known only once the world's emulator runs: every start passes
      // it as SEARCH_OPENSEARCH_URL (see startProxied); the file's URL is never used.
      opensearchUrl: "https://127.0.0.1:1",
    });
    proxy = await startTlsProxy({
      target: w.emulator.url,
      pki,
      username: "flusso",
      password: OS_PASSWORD,
    });
  });

  after(async () => {
    for (const p of extra) await p.kill9().catch(() => {});
    await w?.close();
    await proxy?.close();
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stops every running flusso (they share the private port). */
  async function stopRunning(): Promise<void> {
    for (const p of [...w.processes, ...extra]) {
      if (await exitedWithin(p, 0) === undefined) await p.stop();
    }
  }

  /** Starts flusso against the TLS proxy (overriding the sink URL by its environment twin). */
  function startProxied(
    extra: Record<string, string> = {},
    wait: "live" | "none" = "live",
  ): Promise<FlussoProcess> {
    return w.start({ env: { SEARCH_OPENSEARCH_URL: proxy.url, ...extra }, wait });
  }

  it("syncs_over_verify_full_tls_to_postgres_and_tls_to_the_sink", async () => {
    await scenario("security.tls_verify_full", async (trial) => {
      const proc = await startProxied();
      await createWorkload({
        sql: w.db.sql,
        seed: SEED,
        weights: { truncate_related: 0, truncate_root: 0 },
      })
        .run({ maxTransactions: 40 });
      await w.quiesce();
      assertGroundTruth(await w.groundTruth());
      // Every connection of the application role is encrypted.
      const [{ total, plain }] = await w.db.sql<{ total: number; plain: number }[]>`
        SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT s.ssl)::int AS plain
          FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = ${ROLE}`;
      assert.ok(total >= 2, `only ${total} connections of ${ROLE}`);
      assert.equal(plain, 0, `${plain} of ${total} connections are not TLS`);
      assert.ok(proxy.accepted > 0, "nothing reached the sink through the TLS proxy");
      assert.equal(proxy.refused, 0, "the proxy refused flusso's credentials");
      capture("/status", await (await fetch(`${await proc.publicUrl()}/status`)).text());
      capture("/metrics", await (await fetch(`${await proc.publicUrl()}/metrics`)).text());
      trial();
    }, {
      file: FILE,
      notes: `seed ${SEED}; sslmode=verify-full, scram-sha-256, https sink with ca_file`,
    });
  });

  it("refuses_private_requests_without_the_right_token", async () => {
    await scenario("security.private_surface_tokens", async (trial) => {
      const base = w.privateUrl();
      const attempts: { what: string; init: RequestInit; path: string }[] = [
        { what: "no token", path: "/indexes", init: {} },
        {
          what: "wrong token",
          path: "/indexes",
          init: { headers: { authorization: "Bearer not-the-token" } },
        },
        {
          what: "token prefix",
          path: "/indexes",
          init: { headers: { authorization: `Bearer ${TOKEN.slice(0, 10)}` } },
        },
        {
          what: "basic scheme",
          path: "/indexes",
          init: { headers: { authorization: `Basic ${btoa(`x:${TOKEN}`)}` } },
        },
        { what: "token in query", path: `/indexes?token=${TOKEN}`, init: {} },
        {
          what: "reindex without token",
          path: "/reindex?index=customers",
          init: { method: "POST" },
        },
        {
          what: "dlq with wrong token",
          path: "/dlq",
          init: { headers: { authorization: "Bearer x" } },
        },
      ];
      for (const a of attempts) {
        const res = await fetch(`${base}${a.path}`, a.init);
        const body = await res.text();
        capture(`private ${a.what}`, body);
        assert.equal(res.status, 401, `${a.what}: answered ${res.status} ${body}`);
        trial();
      }
      const ok = await fetch(`${base}/indexes`, { headers: { authorization: `Bearer ${TOKEN}` } });
      capture("private /indexes", await ok.text());
      assert.equal(ok.status, 200);
      // The refused reindex did not happen.
      const status = await w.flusso!.status();
      assert.ok(status.indexes.every((i) => i.state === "live"), JSON.stringify(status.indexes));
    }, { file: FILE, notes: "missing, wrong, partial, wrong scheme, query-string tokens" });
  });

  it("fails_clearly_when_the_postgres_certificate_is_not_trusted", async () => {
    await stopRunning();
    await scenario("security.postgres_wrong_ca", async (trial) => {
      const proc = await w.start({
        env: {
          SEARCH_OPENSEARCH_URL: proxy.url,
          DATABASE_URL: tlsUrl(DB_PASSWORD, pki.otherCaCert),
        },
        wait: "none",
      });
      const code = await exitedWithin(proc, 30_000);
      if (code === undefined) await proc.kill9();
      assert.notEqual(code, 0, "flusso accepted a server certificate from an untrusted CA");
      assert.notEqual(
        code,
        undefined,
        `flusso neither connected nor exited:\n${proc.output().slice(-2000)}`,
      );
      assert.match(proc.output(), /certificate/i, proc.output().slice(-2000));
      trial();
    }, { file: FILE, notes: "sslrootcert = an unrelated CA" });
  });

  it("fails_clearly_when_the_sink_certificate_is_not_trusted", async () => {
    await stopRunning();
    await scenario("security.sink_wrong_ca", async (trial) => {
      // The same config, trusting the unrelated CA (next to the original: same schema paths).
      const other = join(w.config.dir, "flusso-other-ca.toml");
      writeFileSync(
        other,
        readFileSync(w.config.path, "utf8").replace(pki.caCert, pki.otherCaCert),
      );
      const proc = startSync({
        config: other,
        databaseUrl: tlsUrl(DB_PASSWORD, pki.caCert),
        token: TOKEN,
        env: {
          SEARCH_OPENSEARCH_URL: proxy.url,
          OPENSEARCH_PASSWORD: OS_PASSWORD,
          FLUSSO_LOG_LEVEL: "debug",
        },
      });
      extra.push(proc);
      // A TLS failure may be retried as a network error, but it must be visible at once:
      // never ready, and the reason (the certificate) in the log and in /status.
      const code = await exitedWithin(proc, 8_000);
      const out = proc.output();
      if (code === undefined) {
        const res = await fetch(`${await proc.publicUrl()}/readyz`);
        await res.body?.cancel();
        assert.notEqual(res.status, 200, "flusso is ready with an untrusted sink certificate");
        const status = await fetch(`${await proc.publicUrl()}/status`).then((r) => r.text());
        capture("/status (sink wrong CA)", status);
        await proc.kill9();
      } else {
        assert.notEqual(code, 0);
      }
      assert.match(out, /certificate|self.signed|unable to verify/i, out.slice(-2000));
      trial();
    }, { file: FILE, notes: "ca_file = an unrelated CA" });
  });

  it("never_prints_or_serves_a_secret_in_logs_errors_status_or_crash_output", async () => {
    await stopRunning();
    await scenario("security.secrets_absent", async (trial) => {
      // Errors that are about the secrets themselves: a wrong database password, a wrong
      // OpenSearch password.
      const wrongDb = await w.start({
        env: {
          SEARCH_OPENSEARCH_URL: proxy.url,
          DATABASE_URL: tlsUrl(WRONG_DB_PASSWORD, pki.caCert),
        },
        wait: "none",
      });
      const wrongDbCode = await exitedWithin(wrongDb, 30_000);
      if (wrongDbCode === undefined) await wrongDb.kill9();
      assert.match(
        wrongDb.output(),
        /password authentication failed/,
        wrongDb.output().slice(-2000),
      );
      trial();
      const wrongOs = await w.start({
        env: { SEARCH_OPENSEARCH_URL: proxy.url, OPENSEARCH_PASSWORD: WRONG_OS_PASSWORD },
        wait: "none",
      });
      if (await exitedWithin(wrongOs, 8_000) === undefined) await wrongOs.kill9();
      assert.match(
        wrongOs.output(),
        /401|unauthori[sz]ed|authenticat/i,
        wrongOs.output().slice(-2000),
      );
      trial();
      // A crash and the restart after it (redelivery, resumed slot) print nothing secret either.
      const live = await startProxied();
      await createWorkload({
        sql: w.db.sql,
        seed: SEED + 1,
        weights: { truncate_related: 0, truncate_root: 0 },
      })
        .run({ maxTransactions: 20 });
      await live.kill9();
      const restarted = await startProxied();
      await w.quiesce();
      capture("/status after restart", await restarted.status().then((s) => JSON.stringify(s)));
      capture(
        "/metrics after restart",
        await (await fetch(`${await restarted.publicUrl()}/metrics`)).text(),
      );
      trial();
      // The grep: every process's whole output, every HTTP body captured above.
      const texts = [
        ...captured,
        ...[...w.processes, ...extra].map((p) => ({
          what: `flusso pid ${p.pid}`,
          text: p.output(),
        })),
      ];
      const leaks: string[] = [];
      for (const { what, text } of texts) {
        for (const secret of SECRETS) {
          if (text.includes(secret)) leaks.push(`${what} contains ${secret.slice(0, 6)}…`);
        }
      }
      const chars = texts.reduce((n, t) => n + t.text.length, 0);
      assert.ok(chars > 10_000, `only ${chars} characters captured`);
      assert.deepEqual(leaks, []);
      trial(texts.length);
    }, {
      file: FILE,
      notes: "5 distinctive secrets; debug logs, errors, kill -9 + restart, /status, /metrics",
    });
  });
});
