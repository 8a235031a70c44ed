/**
 * The HTTP/1.1 response reader of the sink's bulk client: every framing OpenSearch or a proxy
 * in front of it may use, whatever way the socket splits the bytes, and a clear error for
 * bytes that are not a complete response.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  HttpProtocolError,
  type HttpResponse,
  HttpResponseReader,
} from "../../src/opensearch/http_response.ts";

/** Feeds `text` split at `cut` (two reads), then returns what came out. */
function readSplit(text: string, cut: number): HttpResponse[] {
  const bytes = Buffer.from(text, "utf8");
  const reader = new HttpResponseReader();
  return [
    ...reader.push(Buffer.from(bytes.subarray(0, cut))),
    ...reader.push(Buffer.from(bytes.subarray(cut))),
  ];
}

/** Feeds `text` one byte per read. */
function readBytewise(text: string): HttpResponse[] {
  const reader = new HttpResponseReader();
  const out: HttpResponse[] = [];
  for (const byte of Buffer.from(text, "utf8")) out.push(...reader.push(Buffer.from([byte])));
  return out;
}

const JSON_BODY = '{"errors":false,"items":[{"index":{"status":201}}],"note":"é✓"}';

describe("http response reader", () => {
  it("reads_a_content_length_body_however_the_reads_split_it", () => {
    const bodyBytes = Buffer.byteLength(JSON_BODY);
    const text = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n` +
      `content-length: ${bodyBytes}\r\n\r\n${JSON_BODY}`;
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
      const [response, ...rest] = readSplit(text, cut);
      assert.equal(rest.length, 0);
      assert.equal(response.status, 200, `cut at ${cut}`);
      assert.equal(response.body.toString("utf8"), JSON_BODY, `cut at ${cut}`);
      assert.equal(response.keepAlive, true);
      assert.equal(response.headers["content-type"], "application/json");
    }
    assert.equal(readBytewise(text)[0].body.toString("utf8"), JSON_BODY);
  });

  it("reads_a_chunked_body_with_extensions_and_trailers_however_the_reads_split_it", () => {
    const a = JSON_BODY.slice(0, 10);
    const b = JSON_BODY.slice(10);
    const text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `${Buffer.byteLength(a).toString(16)};name=value\r\n${a}\r\n` +
      `${Buffer.byteLength(b).toString(16).toUpperCase()}\r\n${b}\r\n` +
      "0\r\nx-trailer: 1\r\n\r\n";
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
      const responses = readSplit(text, cut);
      assert.equal(responses.length, 1, `cut at ${cut}`);
      assert.equal(responses[0].body.toString("utf8"), JSON_BODY, `cut at ${cut}`);
    }
    assert.equal(readBytewise(text)[0].body.toString("utf8"), JSON_BODY);
  });

  it("skips_interim_1xx_answers_before_the_real_one", () => {
    const text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}";
    const [response] = readBytewise(text);
    assert.equal(response.status, 201);
    assert.equal(response.body.toString(), "{}");
  });

  it("returns_answers_that_arrive_in_one_read_in_order", () => {
    const text = "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nA" +
      "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 1\r\n\r\nB";
    const responses = new HttpResponseReader().push(Buffer.from(text));
    assert.deepEqual(responses.map((r) => [r.status, r.body.toString()]), [[200, "A"], [429, "B"]]);
  });

  it("reuses_a_connection_only_when_http_1_1_allows_it", () => {
    const keep = (head: string) =>
      new HttpResponseReader().push(Buffer.from(`${head}\r\ncontent-length: 0\r\n\r\n`))[0]
        .keepAlive;
    assert.equal(keep("HTTP/1.1 200 OK"), true);
    assert.equal(keep("HTTP/1.1 200 OK\r\nConnection: close"), false);
    assert.equal(keep("HTTP/1.0 200 OK"), false);
    assert.equal(keep("HTTP/1.0 200 OK\r\nConnection: keep-alive"), true);
  });

  it("reads_a_body_framed_by_the_end_of_the_connection", () => {
    const reader = new HttpResponseReader();
    assert.deepEqual(reader.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n{"a"')), []);
    assert.deepEqual(reader.push(Buffer.from(":1}")), []);
    const response = reader.end();
    assert.equal(response?.body.toString(), '{"a":1}');
    assert.equal(response?.keepAlive, false);
  });

  it("refuses_a_body_cut_short_by_the_end_of_the_connection", () => {
    const reader = new HttpResponseReader();
    reader.push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}"));
    assert.equal(reader.midResponse, true);
    assert.throws(() => reader.end(), HttpProtocolError);
    const chunked = new HttpResponseReader();
    chunked.push(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"));
    assert.throws(() => chunked.end(), /before the body was complete/);
  });

  it("ends_quietly_between_answers", () => {
    const reader = new HttpResponseReader();
    reader.push(Buffer.from("HTTP/1.1 204 No Content\r\n\r\n"));
    assert.equal(reader.midResponse, false);
    assert.equal(reader.end(), undefined);
  });

  it("refuses_bytes_that_are_not_http", () => {
    assert.throws(
      () => new HttpResponseReader().push(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")),
      (error: unknown) => error instanceof HttpProtocolError && /status line/.test(error.message),
    );
    assert.throws(
      () =>
        new HttpResponseReader().push(
          Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"),
        ),
      /chunk size/,
    );
    assert.throws(
      () =>
        new HttpResponseReader().push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n")),
      /content-length/,
    );
  });

  it("refuses_a_body_over_the_limit_whatever_its_framing", () => {
    const limit = 16;
    assert.throws(
      () =>
        new HttpResponseReader(limit).push(
          Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n"),
        ),
      /body longer than 16 bytes/,
    );
    const chunked = new HttpResponseReader(limit);
    chunked.push(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"));
    chunked.push(Buffer.from(`10\r\n${"a".repeat(16)}\r\n`));
    assert.throws(() => chunked.push(Buffer.from("1\r\nb\r\n")), /body longer than 16 bytes/);
    const untilClose = new HttpResponseReader(limit);
    untilClose.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"));
    assert.throws(() => untilClose.push(Buffer.from("x".repeat(17))), /body longer/);
    const atLimit = new HttpResponseReader(limit).push(
      Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\n${"a".repeat(16)}`),
    );
    assert.equal(atLimit[0].body.length, 16);
  });

  it("keeps_a_body_intact_when_the_runtime_reuses_its_read_buffer", () => {
    const reader = new HttpResponseReader();
    const read = Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc");
    assert.deepEqual(reader.push(read), []);
    read.fill(0x21); // the runtime writes its next read into the same memory
    const [response] = reader.push(Buffer.from("def"));
    assert.equal(response.body.toString(), "abcdef");
  });
});
