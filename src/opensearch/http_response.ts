/**
 * An incremental reader of HTTP/1.1 responses on a keep-alive connection: bytes go in as the
 * socket delivers them, whole responses come out. Bodies are framed by `Content-Length`, by
 * chunked transfer coding, or (neither given) by the end of the connection; interim `1xx`
 * responses are skipped. Only what a client of OpenSearch meets is handled: no trailers are
 * kept, no content coding is undone (the request asks for none).
 */
import { Buffer } from "node:buffer";

/** One complete response. */
export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Whether the connection may carry the next request (HTTP/1.1 without `Connection: close`). */
  readonly keepAlive: boolean;
}

/** Raised when the bytes are not an HTTP/1.x response. */
export class HttpProtocolError extends Error {
  constructor(detail: string) {
    super(`malformed HTTP response: ${detail}`);
    this.name = "HttpProtocolError";
  }
}

/** Longest response head accepted (status line and headers). */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Largest body accepted by default. A `_bulk` answer shrunk by `filter_path` is tens of bytes
 * per item, a few hundred when every item failed: far below this. A larger one is a broken or
 * hostile server, and reading it would only cost memory.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

interface Head {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly keepAlive: boolean;
}

/** Reads one connection's responses, in order. */
export class HttpResponseReader {
  readonly #maxBodyBytes: number;
  #pending: Buffer = Buffer.alloc(0);
  #head: Head | undefined;
  /** Body bytes still expected (Content-Length framing). */
  #remaining = 0;
  #framing: "length" | "chunked" | "close" = "length";
  #body: Buffer[] = [];
  #bodyBytes = 0;
  /** Bytes of the current chunk still expected; -1 while a chunk-size line is due. */
  #chunkLeft = -1;
  #trailers = false;

  /** `maxBodyBytes`: a longer body is refused with HttpProtocolError. */
  constructor(maxBodyBytes = DEFAULT_MAX_BODY_BYTES) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  /**
   * Takes the next bytes; returns the responses they complete (usually none or one). Throws
   * HttpProtocolError on bytes that are not HTTP.
   */
  push(chunk: Buffer): HttpResponse[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: HttpResponse[] = [];
    for (;;) {
      const response = this.#step();
      if (response === undefined) break;
      if (response !== null) out.push(response);
    }
    // What stays for later is copied: a runtime may reuse a socket's receive buffer.
    if (this.#pending.length > 0 && this.#pending.buffer === chunk.buffer) {
      this.#pending = Buffer.from(this.#pending);
    }
    return out;
  }

  /**
   * The connection ended: returns the response its end completes (a body framed by the end
   * of the connection), or undefined when none was under way. Throws HttpProtocolError when
   * a response was cut short.
   */
  end(): HttpResponse | undefined {
    if (this.#head === undefined) {
      if (this.#pending.length > 0) throw new HttpProtocolError("connection closed mid-head");
      return undefined;
    }
    if (this.#framing !== "close") {
      throw new HttpProtocolError("connection closed before the body was complete");
    }
    this.#body.push(this.#pending);
    this.#bodyBytes += this.#pending.length;
    this.#pending = Buffer.alloc(0);
    return this.#finish(false);
  }

  /** Whether bytes of an unfinished response have arrived. */
  get midResponse(): boolean {
    return this.#head !== undefined || this.#pending.length > 0;
  }

  /** One step: a response (done), null (progress, go on) or undefined (needs more bytes). */
  #step(): HttpResponse | null | undefined {
    if (this.#head === undefined) return this.#readHead();
    switch (this.#framing) {
      case "length": {
        if (this.#pending.length === 0 && this.#remaining > 0) return undefined;
        const take = Math.min(this.#remaining, this.#pending.length);
        this.#takeBody(take);
        this.#remaining -= take;
        return this.#remaining === 0 ? this.#finish(this.#head.keepAlive) : undefined;
      }
      case "chunked":
        return this.#readChunked();
      case "close":
        this.#takeBody(this.#pending.length);
        return undefined;
    }
  }

  #readHead(): HttpResponse | null | undefined {
    const end = this.#pending.indexOf(HEAD_END);
    if (end === -1) {
      if (this.#pending.length > MAX_HEAD_BYTES) {
        throw new HttpProtocolError(`head longer than ${MAX_HEAD_BYTES} bytes`);
      }
      return undefined;
    }
    const lines = this.#pending.subarray(0, end).toString("latin1").split("\r\n");
    this.#pending = this.#pending.subarray(end + HEAD_END.length);
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]);
    if (!status) {
      throw new HttpProtocolError(
        `unexpected status line ${JSON.stringify(lines[0].slice(0, 80))}`,
      );
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new HttpProtocolError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const code = Number(status[2]);
    // Interim answers (100 Continue, 103 Early Hints) precede the real one.
    if (code >= 100 && code < 200) return null;
    const connection = (headers["connection"] ?? "").toLowerCase();
    const keepAlive = status[1] === "1"
      ? !/\bclose\b/.test(connection)
      : /\bkeep-alive\b/.test(connection);
    this.#head = { status: code, headers, keepAlive };
    this.#body = [];
    this.#bodyBytes = 0;
    const coding = (headers["transfer-encoding"] ?? "").toLowerCase();
    if (code === 204 || code === 304) {
      this.#framing = "length";
      this.#remaining = 0;
    } else if (/\bchunked\b/.test(coding)) {
      this.#framing = "chunked";
      this.#chunkLeft = -1;
      this.#trailers = false;
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new HttpProtocolError(
          `bad content-length ${JSON.stringify(headers["content-length"])}`,
        );
      }
      this.#tooLarge(length);
      this.#framing = "length";
      this.#remaining = length;
    } else {
      this.#framing = "close";
    }
    return null;
  }

  #readChunked(): HttpResponse | undefined {
    for (;;) {
      if (this.#trailers) {
        // Trailer lines until an empty one; their content is not needed.
        const eol = this.#pending.indexOf(CRLF);
        if (eol === -1) return undefined;
        this.#pending = this.#pending.subarray(eol + 2);
        if (eol === 0) return this.#finish(this.#head!.keepAlive);
        continue;
      }
      if (this.#chunkLeft === -1) {
        const eol = this.#pending.indexOf(CRLF);
        if (eol === -1) {
          if (this.#pending.length > MAX_HEAD_BYTES) {
            throw new HttpProtocolError("chunk size line too long");
          }
          return undefined;
        }
        const sizeText = this.#pending.subarray(0, eol).toString("latin1").split(";")[0].trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
          throw new HttpProtocolError(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
        }
        this.#pending = this.#pending.subarray(eol + 2);
        const size = parseInt(sizeText, 16);
        if (size === 0) {
          this.#trailers = true;
          continue;
        }
        this.#chunkLeft = size;
      }
      if (this.#chunkLeft > 0) {
        const take = Math.min(this.#chunkLeft, this.#pending.length);
        this.#takeBody(take);
        this.#chunkLeft -= take;
        if (this.#chunkLeft > 0) return undefined;
      }
      // The CRLF after a chunk's data.
      if (this.#pending.length < 2) return undefined;
      if (this.#pending[0] !== 0x0d || this.#pending[1] !== 0x0a) {
        throw new HttpProtocolError("chunk data not followed by CRLF");
      }
      this.#pending = this.#pending.subarray(2);
      this.#chunkLeft = -1;
    }
  }

  #takeBody(bytes: number): void {
    if (bytes === 0) return;
    this.#tooLarge(this.#bodyBytes + bytes);
    // Copied for the same reason as the leftover in `push`: the body may span several reads.
    this.#body.push(Buffer.from(this.#pending.subarray(0, bytes)));
    this.#bodyBytes += bytes;
    this.#pending = this.#pending.subarray(bytes);
  }

  #tooLarge(bytes: number): void {
    if (bytes > this.#maxBodyBytes) {
      throw new HttpProtocolError(`body longer than ${this.#maxBodyBytes} bytes`);
    }
  }

  #finish(keepAlive: boolean): HttpResponse {
    const head = this.#head!;
    const body = this.#body.length === 1
      ? this.#body[0]
      : Buffer.concat(this.#body, this.#bodyBytes);
    this.#head = undefined;
    this.#body = [];
    this.#bodyBytes = 0;
    return { status: head.status, headers: head.headers, body, keepAlive };
  }
}
