import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpError,
  type HttpSurface,
  ListenError,
  startHttpSurface,
} from "../../src/ops/http_server.ts";
import { privateRoutes, publicRoutes } from "../../src/ops/routes.ts";
import { createRegistry } from "../../src/ops/metrics.ts";
import { createLogger } from "../../src/ops/log_writer.ts";
import { silentLogger } from "../../src/ops/logger.ts";
import { Secret } from "../../src/config/secret.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus_parser.ts";

const TOKEN = "s3cret-token-value";

describe("ops http surfaces", () => {
  let ready = false;
  const reindexed: string[] = [];
  const registry = createRegistry();
  const changes = registry.counter({ name: "flusso_changes_captured_total", help: "Changes." });
  const lag = registry.gauge({ name: "flusso_slot_lag_bytes", help: "Slot lag." });
  changes.inc(undefined, 7);
  lag.set(undefined, 1024);
  const logLines: string[] = [];
  const logger = createLogger({ format: "json", level: "debug", write: (l) => logLines.push(l) });
  let pub: HttpSurface;
  let priv: HttpSurface;
  let locked: HttpSurface;

  before(async () => {
    pub = await startHttpSurface({
      name: "public",
      address: "127.0.0.1:0",
      logger,
      routes: publicRoutes({
        isReady: () => ready,
        status: () => ({ phase: ready ? "live" : "starting", lsn: 5n }),
        metrics: () => registry.render(),
      }),
    });
    const routes = privateRoutes({
      indexes: () => [{ name: "users", generation: 1 }],
      reindex: (index) => {
        if (index !== "users") throw new HttpError(404, `no index named ${index}`);
        reindexed.push(index);
      },
      dlq: ({ limit, index }) => ({ items: [], limit, index: index ?? null }),
    });
    priv = await startHttpSurface({
      name: "private",
      address: "127.0.0.1:0",
      logger,
      routes,
      auth: { token: new Secret(TOKEN) },
    });
    locked = await startHttpSurface({
      name: "private",
      address: "127.0.0.1:0",
      logger,
      routes,
      auth: { token: undefined },
    });
  });

  after(async () => {
    await Promise.all([pub?.close(), priv?.close(), locked?.close()]);
  });

  it("binds_to_loopback_by_default", async () => {
    const s = await startHttpSurface({
      name: "public",
      address: ":0",
      logger: silentLogger,
      routes: [],
    });
    try {
      assert.equal(s.address.host, "127.0.0.1");
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await s.close();
    }
  });

  it("healthz_is_always_ok_and_readyz_follows_readiness", async () => {
    assert.equal((await fetchText(`${pub.url}/healthz`)).status, 200);
    ready = false;
    assert.equal((await fetchText(`${pub.url}/readyz`)).status, 503);
    ready = true;
    assert.equal((await fetchText(`${pub.url}/readyz`)).status, 200);
  });

  it("status_is_json_and_encodes_bigints", async () => {
    const res = await fetch(`${pub.url}/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await res.json(), { phase: "live", lsn: "5" });
  });

  it("metrics_is_prometheus_text_that_parses_back", async () => {
    const res = await fetch(`${pub.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await res.text());
    assert.equal(families.get("flusso_changes_captured_total")?.type, "counter");
    assert.equal(sampleValue(families, "flusso_changes_captured_total"), 7);
    assert.equal(families.get("flusso_slot_lag_bytes")?.type, "gauge");
  });

  it("answers_404_for_unknown_paths_and_405_for_wrong_methods", async () => {
    assert.equal((await fetchText(`${pub.url}/nope`)).status, 404);
    const res = await fetch(`${pub.url}/status`, { method: "POST" });
    await res.body?.cancel();
    assert.equal(res.status, 405);
    assert.match(res.headers.get("allow") ?? "", /GET/);
  });

  it("public_surface_does_not_serve_control_endpoints", async () => {
    assert.equal((await fetchText(`${pub.url}/indexes`)).status, 404);
    assert.equal((await fetchText(`${pub.url}/reindex?index=users`, "POST")).status, 404);
  });

  it("private_surface_refuses_requests_without_a_token", async () => {
    const res = await fetch(`${priv.url}/indexes`);
    await res.body?.cancel();
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await fetchText(`${priv.url}/reindex?index=users`, "POST")).status, 401);
    assert.equal((await fetchText(`${priv.url}/dlq`)).status, 401);
    assert.deepEqual(reindexed, []);
  });

  it("private_surface_refuses_a_wrong_token_and_never_logs_tokens", async () => {
    const res = await fetchText(`${priv.url}/indexes`, "GET", "wrong-token-value");
    assert.equal(res.status, 401);
    const refusals = logLines.filter((l) => l.includes("bearer token"));
    assert.ok(refusals.length > 0);
    for (const line of logLines) {
      assert.ok(!line.includes("wrong-token-value"), line);
      assert.ok(!line.includes(TOKEN), line);
    }
  });

  it("private_surface_unknown_paths_need_a_token_too", async () => {
    assert.equal((await fetchText(`${priv.url}/secret-path`)).status, 401);
    assert.equal((await fetchText(`${priv.url}/secret-path`, "GET", TOKEN)).status, 404);
  });

  it("private_surface_serves_indexes_reindex_and_dlq_with_the_token", async () => {
    const indexes = await fetchText(`${priv.url}/indexes`, "GET", TOKEN);
    assert.equal(indexes.status, 200);
    assert.deepEqual(JSON.parse(indexes.body), [{ name: "users", generation: 1 }]);
    const reindex = await fetchText(`${priv.url}/reindex?index=users`, "POST", TOKEN);
    assert.equal(reindex.status, 202);
    assert.deepEqual(reindexed, ["users"]);
    assert.equal((await fetchText(`${priv.url}/reindex?index=nope`, "POST", TOKEN)).status, 404);
    assert.equal((await fetchText(`${priv.url}/reindex`, "POST", TOKEN)).status, 400);
    const dlq = await fetchText(`${priv.url}/dlq?limit=5&index=users`, "GET", TOKEN);
    assert.equal(dlq.status, 200);
    assert.deepEqual(JSON.parse(dlq.body), { items: [], limit: 5, index: "users" });
    assert.equal((await fetchText(`${priv.url}/dlq?limit=0`, "GET", TOKEN)).status, 400);
  });

  it("private_surface_without_a_configured_token_refuses_everything_with_503", async () => {
    for (const token of [undefined, "", TOKEN]) {
      const res = await fetchText(`${locked.url}/indexes`, "GET", token);
      assert.equal(res.status, 503);
      assert.match(res.body, /no token is configured/);
    }
  });

  it("reports_a_taken_port_as_a_listen_error", async () => {
    await assert.rejects(
      startHttpSurface({
        name: "public",
        address: `127.0.0.1:${pub.address.port}`,
        logger: silentLogger,
        routes: [],
      }),
      ListenError,
    );
  });
});

async function fetchText(url: string, method = "GET", token?: string) {
  const res = await fetch(url, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: await res.text() };
}
