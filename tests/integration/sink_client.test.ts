/**
 * The sink's connection settings: basic auth reaches the server, TLS verifies against
 * `ca_file` (or not at all with `tls_verify = false`), and an unreadable CA file is a config
 * error that says what to fix. A tiny local server stands in for OpenSearch.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import type { SinkConfig } from "../../src/config/model.ts";
import { Secret } from "../../src/config/secret.ts";
import { SinkConfigError, SinkRequestError } from "../../src/opensearch/errors.ts";
import { createOpenSearchSink } from "../../src/opensearch/sink.ts";
import { hasOpenssl, selfSignedCertificate } from "../support/self_signed.ts";

const config = (url: string, extra: Partial<SinkConfig> = {}): SinkConfig => ({
  name: "search",
  type: "opensearch",
  url,
  tlsVerify: true,
  batchSize: 10,
  maxBytes: 100_000,
  timeoutMs: 2_000,
  maxRetries: 0,
  numberOfShards: 1,
  numberOfReplicas: 0,
  refreshInterval: "1s",
  liveRefresh: "immediate",
  ...extra,
});

/** Answers every request as if every index existed; remembers Authorization headers. */
function handler(seen: (string | undefined)[]) {
  return (request: IncomingMessage, response: ServerResponse) => {
    seen.push(request.headers.authorization);
    request.resume();
    response.writeHead(200, { "content-type": "application/json" });
    response.end(request.method === "HEAD" ? undefined : "{}");
  };
}

describe("opensearch sink connection", () => {
  const seen: (string | undefined)[] = [];
  const http = createHttpServer(handler(seen));
  let httpUrl: string;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "flusso-tls-"));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends_basic_auth_with_the_revealed_password", async () => {
    const sink = createOpenSearchSink({
      config: config(httpUrl, { username: "flusso", password: new Secret("s3cret") }),
      prefix: "",
    });
    try {
      await sink.ensure([]);
    } finally {
      await sink.close();
    }
    const expected = `Basic ${Buffer.from("flusso:s3cret").toString("base64")}`;
    assert.ok(seen.length > 0);
    assert.ok(seen.every((header) => header === expected));
  });

  it("refuses_an_unreadable_ca_file_naming_it", () => {
    assert.throws(
      () =>
        createOpenSearchSink({
          config: config("https://127.0.0.1:1", { caFile: join(dir, "missing.pem") }),
          prefix: "",
        }),
      (error: unknown) =>
        error instanceof SinkConfigError && /ca_file .*missing\.pem/.test(error.message),
    );
  });

  it("verifies_tls_against_ca_file_unless_tls_verify_is_off", async (t) => {
    if (!hasOpenssl()) return t.skip("openssl is not installed: cannot make a test certificate");
    const { key, cert } = selfSignedCertificate(dir, "127.0.0.1", ["IP:127.0.0.1"]);
    const https = createHttpsServer(
      { key: readFileSync(key), cert: readFileSync(cert) },
      handler([]),
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
    const attempt = async (extra: Partial<SinkConfig>) => {
      const sink = createOpenSearchSink({ config: config(url, extra), prefix: "" });
      try {
        await sink.ensure([]);
      } finally {
        await sink.close();
      }
    };
    try {
      await assert.rejects(attempt({}), (error: unknown) => {
        assert.ok(
          error instanceof SinkRequestError,
          "an unknown CA is not trusted, and no retry helps",
        );
        assert.match(error.message, /ca_file/);
        return true;
      });
      await attempt({ caFile: cert });
      await attempt({ tlsVerify: false });
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });
});
