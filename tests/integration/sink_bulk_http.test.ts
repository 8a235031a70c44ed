/**
 * The sink's own `_bulk` client against small local servers: what it sends (path prefix,
 * query, auth from the config or the URL, the body's bytes), how it keeps and replaces
 * connections, and which error each failure becomes — the same classification the official
 * client's errors get, so the bulk writer retries, splits or stops alike.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { createBulkHttp } from "../../src/opensearch/bulk_http.ts";
import {
  HttpConnectionError,
  HttpDeserializationError,
  HttpResponseError,
  HttpTimeoutError,
} from "../../src/opensearch/http_errors.ts";
import { classifyRequestError } from "../../src/opensearch/retry.ts";
import { hasOpenssl, selfSignedCertificate } from "../support/self_signed.ts";

const BODY = Buffer.from('{"index":{"_index":"a","_id":"1"}}\n{"name":"é✓"}\n');
const OK = '{"errors":false,"items":[{"index":{"status":201}}]}';

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

/** Starts a raw TCP server whose `onRequest` sees each connection's requests, in order. */
async function rawServer(
  onRequest: (socket: Socket, index: number, connection: number) => void,
): Promise<{ url: string; server: Server; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const server = createNetServer((socket) => {
    const connection = ++connections;
    let pending = Buffer.alloc(0);
    let perConnection = 0;
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end === -1) return;
        const length = Number(
          /content-length: (\d+)/i.exec(pending.subarray(0, end).toString())?.[1] ?? 0,
        );
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        requests++;
        onRequest(socket, perConnection++, connection);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    connections: () => connections,
    requests: () => requests,
  };
}

function answer(socket: Socket, status: number, body: string, extra = ""): void {
  socket.write(
    `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${
      Buffer.byteLength(body)
    }\r\n${extra}\r\n${body}`,
  );
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("bulk http client", () => {
  const seen: Seen[] = [];
  let status = 200;
  let reply = OK;
  const http = createHttpServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      seen.push({
        method: request.method,
        url: request.url,
        authorization: request.headers.authorization,
        contentType: request.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(status, { "content-type": "application/json" });
      response.end(reply);
    });
  });
  let base: string;

  before(async () => {
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it("posts_the_body_bytes_to_the_path_prefix_and_index_with_the_query_and_parses_the_answer", async () => {
    seen.length = 0;
    status = 200;
    reply = OK;
    const client = createBulkHttp({
      url: `http://${base}/search/`,
      tlsVerify: true,
      timeoutMs: 2000,
    });
    try {
      const parsed = await client.bulk("filter_path=errors%2Citems.*.status&refresh=true", BODY);
      assert.deepEqual(parsed, JSON.parse(OK));
      // With an index, the path names it: the default of action lines that name none.
      await client.bulk("", BODY, { index: "items_1 x" });
    } finally {
      client.close();
    }
    assert.equal(seen.length, 2);
    assert.equal(seen[0].method, "POST");
    assert.equal(seen[0].url, "/search/_bulk?filter_path=errors%2Citems.*.status&refresh=true");
    assert.equal(seen[1].url, "/search/items_1%20x/_bulk");
    assert.equal(seen[0].contentType, "application/x-ndjson");
    assert.equal(seen[0].body, BODY.toString("utf8"));
    assert.equal(seen[0].authorization, undefined);
  });

  it("sends_basic_auth_from_the_config_else_from_the_url", async () => {
    seen.length = 0;
    status = 200;
    reply = OK;
    const fromConfig = createBulkHttp({
      url: `http://${base}`,
      username: "flusso",
      password: "s3cret",
      tlsVerify: true,
      timeoutMs: 2000,
    });
    const fromUrl = createBulkHttp({
      url: `http://u%40x:p%3Aw@${base}`,
      tlsVerify: true,
      timeoutMs: 2000,
    });
    try {
      await fromConfig.bulk("", BODY);
      await fromUrl.bulk("", BODY);
    } finally {
      fromConfig.close();
      fromUrl.close();
    }
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    assert.deepEqual(seen.map((s) => s.authorization), [
      basic("flusso", "s3cret"),
      basic("u@x", "p:w"),
    ]);
  });

  it("fails_a_non_2xx_answer_with_its_status_and_the_reason_opensearch_gave", async () => {
    status = 413;
    reply = '{"error":{"type":"content_too_long_exception","reason":"too big"},"status":413}';
    const client = createBulkHttp({ url: `http://${base}`, tlsVerify: true, timeoutMs: 2000 });
    try {
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpResponseError);
        assert.equal(error.statusCode, 413);
        assert.match(error.message, /content_too_long_exception: too big/);
        assert.equal(classifyRequestError(error).kind, "too_large");
        return true;
      });
      status = 503;
      reply = "<html>bad gateway</html>";
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpResponseError);
        assert.match(error.message, /bad gateway/);
        assert.equal(classifyRequestError(error).kind, "transient");
        return true;
      });
      status = 401;
      reply = '{"error":"unauthorized"}';
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.equal(classifyRequestError(error).kind, "fatal");
        return true;
      });
      status = 200;
      reply = "not json";
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpDeserializationError);
        assert.equal(classifyRequestError(error).kind, "transient");
        return true;
      });
    } finally {
      client.close();
      status = 200;
      reply = OK;
    }
  });

  it("keeps_one_connection_for_consecutive_requests", async () => {
    const raw = await rawServer((socket) => answer(socket, 200, OK));
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 2000 });
    try {
      for (let i = 0; i < 5; i++) await client.bulk("", BODY);
    } finally {
      client.close();
      await closeServer(raw.server);
    }
    assert.equal(raw.requests(), 5);
    assert.equal(raw.connections(), 1);
  });

  it("resends_on_a_fresh_connection_when_a_kept_one_was_closed_unanswered", async () => {
    // The server's keep-alive timeout races the next request: it drops the connection
    // without a byte of answer. The request is sent again, once, on a new connection.
    const raw = await rawServer((socket, index) => {
      if (index === 0) answer(socket, 200, OK);
      else socket.destroy();
    });
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 2000 });
    try {
      await client.bulk("", BODY);
      assert.deepEqual(await client.bulk("", BODY), JSON.parse(OK));
    } finally {
      client.close();
      await closeServer(raw.server);
    }
    assert.equal(raw.requests(), 3);
    assert.equal(raw.connections(), 2);
  });

  it("releases_the_body_once_only_after_the_answer_and_its_write", async () => {
    let answerNow!: () => void;
    const raw = await rawServer((socket) => {
      answerNow = () => answer(socket, 200, OK);
    });
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 2000 });
    let released = 0;
    try {
      const sent = client.bulk("", BODY, { release: () => released++ });
      while (raw.requests() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(released, 0, "released while the request was under way");
      answerNow();
      await sent;
      for (let i = 0; i < 100 && released === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(released, 1);
    } finally {
      client.close();
      await closeServer(raw.server);
    }
  });

  it("releases_a_body_sent_again_on_a_fresh_connection_once_after_both_writes", async () => {
    const raw = await rawServer((socket, index) => {
      if (index === 0) answer(socket, 200, OK);
      else socket.destroy();
    });
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 2000 });
    let released = 0;
    try {
      await client.bulk("", BODY);
      await client.bulk("", BODY, { release: () => released++ });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.close();
      await closeServer(raw.server);
    }
    assert.equal(raw.connections(), 2, "the body was written twice");
    assert.equal(released, 1);
  });

  it("releases_the_body_of_a_request_refused_because_the_client_is_closed", async () => {
    const client = createBulkHttp({ url: "http://127.0.0.1:9", tlsVerify: true, timeoutMs: 200 });
    client.close();
    let released = 0;
    await assert.rejects(client.bulk("", BODY, { release: () => released++ }), HttpConnectionError);
    assert.equal(released, 1);
  });

  it("never_resends_a_request_whose_answer_had_begun_or_that_used_a_new_connection", async () => {
    const cut = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{");
      socket.destroy();
    });
    const client = createBulkHttp({ url: cut.url, tlsVerify: true, timeoutMs: 2000 });
    try {
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpConnectionError);
        assert.equal(classifyRequestError(error).kind, "transient");
        return true;
      });
    } finally {
      client.close();
      await closeServer(cut.server);
    }
    assert.equal(cut.requests(), 1);
  });

  it("never_reuses_a_connection_that_was_answered_before_its_request_was_sent", async () => {
    // A server may refuse a body as soon as it reads the head (413) and keep the connection
    // open; the rest of the body is still queued on it, so the next request needs another.
    let connections = 0;
    const server = createNetServer((socket) => {
      const connection = ++connections;
      let head = "";
      let answered = false;
      socket.on("data", (chunk: Buffer) => {
        if (answered) return;
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        answered = true;
        if (connection === 1) {
          answer(socket, 413, '{"error":{"type":"too_long","reason":"body too large"}}');
        } else {
          socket.on("data", () => {}); // swallow the body, then answer once it is complete
          const length = Number(/content-length: (\d+)/i.exec(head)![1]);
          let received = Buffer.byteLength(head) - head.indexOf("\r\n\r\n") - 4;
          const done = () => received >= length && answer(socket, 200, OK);
          socket.removeAllListeners("data");
          socket.on("data", (c: Buffer) => {
            received += c.length;
            done();
          });
          done();
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createBulkHttp({ url, tlsVerify: true, timeoutMs: 5000 });
    const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
    try {
      await assert.rejects(client.bulk("", big), (error: unknown) => {
        assert.ok(error instanceof HttpResponseError);
        assert.equal(error.statusCode, 413);
        return true;
      });
      assert.deepEqual(await client.bulk("", BODY), JSON.parse(OK));
    } finally {
      client.close();
      await closeServer(server);
    }
    assert.equal(connections, 2);
  });

  it("fails_a_stalled_answer_after_the_timeout_and_uses_a_new_connection_next", async () => {
    const raw = await rawServer((socket, _index, connection) => {
      if (connection === 1) return; // never answers
      answer(socket, 200, OK);
    });
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 150 });
    try {
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpTimeoutError);
        assert.equal(classifyRequestError(error).kind, "transient");
        return true;
      });
      assert.deepEqual(await client.bulk("", BODY), JSON.parse(OK));
    } finally {
      client.close();
      await closeServer(raw.server);
    }
    assert.equal(raw.connections(), 2);
  });

  it("fails_a_refused_connection_as_transient_naming_the_host_only", async () => {
    const raw = await rawServer(() => {});
    const { port } = raw.server.address() as AddressInfo;
    await closeServer(raw.server);
    const client = createBulkHttp({
      url: `http://user:hunter2@127.0.0.1:${port}`,
      tlsVerify: true,
      timeoutMs: 2000,
    });
    try {
      await assert.rejects(client.bulk("", BODY), (error: unknown) => {
        assert.ok(error instanceof HttpConnectionError);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch(error.message, /hunter2/);
        assert.equal(classifyRequestError(error).kind, "transient");
        return true;
      });
    } finally {
      client.close();
    }
  });

  it("verifies_tls_against_the_ca_and_names_a_certificate_problem_as_fatal", async (t) => {
    if (!hasOpenssl()) return t.skip("openssl is not installed: cannot make a test certificate");
    const dir = mkdtempSync(join(tmpdir(), "flusso-bulk-tls-"));
    const { key, cert } = selfSignedCertificate(dir, "localhost", [
      "DNS:localhost",
      "IP:127.0.0.1",
    ]);
    const https = createHttpsServer(
      { key: readFileSync(key), cert: readFileSync(cert) },
      (request, response) => {
        request.resume();
        request.on("end", () => {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(OK);
        });
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    const port = (https.address() as AddressInfo).port;
    const send = async (host: string, extra: { ca?: string; tlsVerify?: boolean }) => {
      const client = createBulkHttp({
        url: `https://${host}:${port}`,
        tlsVerify: extra.tlsVerify ?? true,
        ...(extra.ca !== undefined ? { ca: extra.ca } : {}),
        timeoutMs: 5000,
      });
      try {
        return await client.bulk("", BODY);
      } finally {
        client.close();
      }
    };
    try {
      await assert.rejects(send("127.0.0.1", {}), (error: unknown) => {
        assert.ok(error instanceof HttpConnectionError);
        const failure = classifyRequestError(error);
        assert.equal(failure.kind, "fatal", "an untrusted certificate is not retried");
        assert.match(failure.message, /ca_file/);
        return true;
      });
      const ca = readFileSync(cert, "utf8");
      assert.deepEqual(await send("127.0.0.1", { ca }), JSON.parse(OK));
      // A host name is checked against the certificate (sent as SNI).
      assert.deepEqual(await send("localhost", { ca }), JSON.parse(OK));
      assert.deepEqual(await send("127.0.0.1", { tlsVerify: false }), JSON.parse(OK));
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers_concurrent_requests_each_with_its_own_answer", async () => {
    let n = 0;
    const raw = await rawServer((socket) => {
      const mine = ++n;
      setTimeout(() => answer(socket, 200, JSON.stringify({ n: mine })), 20 * (4 - mine));
    });
    const client = createBulkHttp({ url: raw.url, tlsVerify: true, timeoutMs: 2000 });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => client.bulk("", BODY)));
      assert.deepEqual(answers.map((a) => (a as { n: number }).n).sort(), [1, 2, 3]);
    } finally {
      client.close();
      await closeServer(raw.server);
    }
    assert.equal(raw.connections(), 3);
  });
});
