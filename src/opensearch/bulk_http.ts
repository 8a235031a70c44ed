/**
 * The sink's own HTTP/1.1 client for `_bulk` requests: keep-alive connections over node:net
 * or node:tls, a request written as head plus the body's bytes, the answer parsed as JSON.
 *
 * Why not the official client, which every other call uses: its request path (transport,
 * then the runtime's node:http emulation) cost ≈ 0.5 ms of CPU per bulk request in the
 * compiled binary, up to a fifth of flusso's CPU in a backfill (bench/README.md, eighth pass). This
 * client sends the same request with the same settings — URL and path prefix, basic auth
 * from the config or the URL, `ca_file`, `tls_verify`, `timeout_secs` — and no proxy (nor
 * does the official client), and fails with errors named like the official client's.
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";
import { VERSION } from "../version.ts";
import {
  HttpConnectionError,
  HttpDeserializationError,
  HttpResponseError,
  HttpTimeoutError,
} from "./http_errors.ts";
import { type HttpResponse, HttpResponseReader } from "./http_response.ts";

/** Where and how to connect. */
export interface BulkHttpOptions {
  /** The sink's `url` (http or https, maybe with a path prefix and credentials). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM text of the CA to trust instead of the system's. */
  readonly ca?: string;
  readonly tlsVerify: boolean;
  /** Per request, from connecting to the end of the answer. */
  readonly timeoutMs: number;
}

/** Per request. */
export interface BulkRequestOptions {
  /** The default index of action lines that name none (the path becomes `/<index>/_bulk`). */
  readonly index?: string;
  /**
   * Called once, after the request settled, when no socket holds the body's bytes any more
   * (each write of them was flushed to the kernel or dropped with its socket): from then on the
   * caller may reuse the buffer. Not called if a socket never reports its write.
   */
  readonly release?: () => void;
}

/** The client. */
export interface BulkHttp {
  /**
   * POSTs NDJSON `body` to `<url's path>[/<index>]/_bulk?<query>` and resolves with the parsed
   * JSON of a 2xx answer. Rejects with HttpResponseError (other statuses), HttpTimeoutError,
   * HttpConnectionError or HttpDeserializationError.
   */
  bulk(query: string, body: Uint8Array, options?: BulkRequestOptions): Promise<unknown>;
  /** Closes the idle connections; requests under way finish first. */
  close(): void;
}

/** Idle connections kept for the next requests. */
const MAX_IDLE = 4;

interface Connection {
  readonly socket: net.Socket;
  readonly reader: HttpResponseReader;
  /** The request waiting for this connection's answer, if any. */
  current?: Exchange;
  /** Whether a request already went over it (so the server may have closed it meanwhile). */
  used: boolean;
  /** Whether the current request's bytes were all handed to the kernel. */
  sent: boolean;
}

interface Exchange {
  readonly resolve: (response: HttpResponse) => void;
  readonly reject: (error: Error) => void;
  /** Whether any byte of the answer arrived. */
  answered: boolean;
}

/** Creates the client; nothing connects until the first request. */
export function createBulkHttp(options: BulkHttpOptions): BulkHttp {
  const url = new URL(options.url);
  const secure = url.protocol === "https:";
  // URL keeps an IPv6 host in brackets; sockets want it bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (secure ? 443 : 80));
  const where = `${host}:${port}`;
  const prefix = url.pathname.replace(/\/+$/, "");
  const username = options.username ??
    (url.username ? decodeURIComponent(url.username) : undefined);
  const password = options.username !== undefined
    ? options.password ?? ""
    : url.password
    ? decodeURIComponent(url.password)
    : "";
  const fixedHeaders = [
    `Host: ${url.host}`,
    "Content-Type: application/x-ndjson",
    "Accept: application/json",
    `User-Agent: flusso/${VERSION}`,
    ...(username !== undefined
      ? [`Authorization: Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`]
      : []),
  ].join("\r\n");
  const idle: Connection[] = [];
  let closed = false;

  const connect = (): Connection => {
    const socket = secure
      ? tls.connect({
        host,
        port,
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        rejectUnauthorized: options.tlsVerify,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
      })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    const connection: Connection = {
      socket,
      reader: new HttpResponseReader(),
      used: false,
      sent: false,
    };
    const fail = (error: Error) => {
      drop(connection);
      const exchange = connection.current;
      connection.current = undefined;
      exchange?.reject(error);
    };
    socket.on("data", (chunk: Buffer) => {
      const exchange = connection.current;
      if (exchange === undefined) {
        // Bytes nobody asked for: the connection is out of step; never reuse it.
        return fail(new HttpConnectionError(`${where}: unexpected bytes on an idle connection`));
      }
      exchange.answered = true;
      let responses: HttpResponse[];
      try {
        responses = connection.reader.push(chunk);
      } catch (error) {
        return fail(new HttpConnectionError(`${where}: ${(error as Error).message}`));
      }
      if (responses.length === 0) return;
      connection.current = undefined;
      const [response] = responses;
      // An answer before the whole request went out (a server refusing early, say 413) leaves
      // request bytes queued on the socket: the connection cannot carry another request.
      if (
        responses.length > 1 || connection.reader.midResponse || !response.keepAlive ||
        !connection.sent
      ) {
        drop(connection);
      } else {
        release(connection);
      }
      exchange.resolve(response);
    });
    socket.on("end", () => {
      let response: HttpResponse | undefined;
      try {
        response = connection.reader.end();
      } catch (error) {
        return fail(new HttpConnectionError(`${where}: ${(error as Error).message}`));
      }
      const exchange = connection.current;
      if (response !== undefined && exchange !== undefined) {
        connection.current = undefined;
        drop(connection);
        exchange.resolve(response);
      } else {
        fail(new HttpConnectionError(`${where}: the connection was closed by the server`));
      }
    });
    socket.on("error", (error: Error) => {
      fail(new HttpConnectionError(`${where}: ${error.message}`, { cause: error }));
    });
    socket.on("close", () => {
      fail(new HttpConnectionError(`${where}: the connection closed`));
    });
    return connection;
  };

  const drop = (connection: Connection) => {
    const at = idle.indexOf(connection);
    if (at !== -1) idle.splice(at, 1);
    connection.socket.destroy();
  };

  const release = (connection: Connection) => {
    if (closed || idle.length >= MAX_IDLE) return drop(connection);
    // An idle connection must not keep the process alive.
    connection.socket.unref();
    idle.push(connection);
  };

  /**
   * Sends once over `connection`; `state.answered` tells whether any answer byte came.
   * `written` hears when the socket is done with the body (flushed, or dropped on an error).
   */
  const attempt = (
    connection: Connection,
    head: string,
    body: Uint8Array,
    written: () => void,
  ) => {
    let state!: Exchange;
    const answer = new Promise<HttpResponse>((resolve, reject) => {
      state = { resolve, reject, answered: false };
    });
    // Settled late when a timeout dropped the connection first: nobody waits then.
    answer.catch(() => {});
    connection.used = true;
    connection.current = state;
    connection.socket.ref();
    // Two writes, not corked: corked writes are joined into one new buffer (a copy of every
    // body); with Nagle off the head goes out at once and the body follows as it is.
    connection.socket.write(head, "latin1");
    connection.sent = false;
    connection.socket.write(body, () => {
      connection.sent = true;
      written();
    });
    return { answer, state };
  };

  const send = async (
    path: string,
    body: Uint8Array,
    release?: () => void,
  ): Promise<HttpResponse> => {
    // The body may be written more than once (a retry on a fresh connection); it is released
    // when the request settled and every socket it was written to is done with it.
    let writing = 0;
    let settled = false;
    const written = () => {
      writing--;
      if (settled && writing === 0) release?.();
    };
    const head =
      `POST ${path} HTTP/1.1\r\n${fixedHeaders}\r\nContent-Length: ${body.length}\r\n\r\n`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let connection: Connection | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (connection) drop(connection);
        reject(new HttpTimeoutError(`${where}: no complete answer within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
    });
    try {
      for (;;) {
        connection = idle.pop() ?? connect();
        const reused = connection.used;
        writing++;
        const { answer, state } = attempt(connection, head, body, written);
        try {
          return await Promise.race([answer, timeout]);
        } catch (error) {
          // A kept connection may have been closed by the server while idle (its keep-alive
          // timeout). A request that got no byte of answer on one is sent again on the next
          // connection; a `_bulk` with external versions may safely be applied twice.
          if (reused && error instanceof HttpConnectionError && !state.answered) continue;
          throw error;
        }
      }
    } finally {
      clearTimeout(timer);
      settled = true;
      if (writing === 0) release?.();
    }
  };

  return {
    async bulk(query, body, options = {}) {
      const { index, release } = options;
      if (closed) {
        release?.();
        throw new HttpConnectionError(`${where}: the sink is closed`);
      }
      const path = index === undefined ? "/_bulk" : `/${encodeURIComponent(index)}/_bulk`;
      const response = await send(`${prefix}${path}${query ? `?${query}` : ""}`, body, release);
      if (response.status < 200 || response.status > 299) {
        throw new HttpResponseError(response.status, describeError(response));
      }
      try {
        return JSON.parse(response.body.toString("utf8"));
      } catch (error) {
        throw new HttpDeserializationError(
          `${where}: the _bulk answer is not JSON (${response.body.length} bytes)`,
          { cause: error },
        );
      }
    },
    close() {
      closed = true;
      for (const connection of idle.splice(0)) connection.socket.destroy();
    },
  };
}

/** The error OpenSearch put in its answer (`error.type: error.reason`), else the body's start. */
function describeError(response: HttpResponse): string {
  const text = response.body.toString("utf8");
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    const error = parsed.error;
    if (typeof error === "string") return error;
    if (typeof error === "object" && error !== null) {
      const { type, reason } = error as { type?: unknown; reason?: unknown };
      if (typeof type === "string") return typeof reason === "string" ? `${type}: ${reason}` : type;
    }
  } catch {
    // Not JSON: a proxy's page, say.
  }
  return text.length > 0 ? text.slice(0, 500) : `HTTP ${response.status}`;
}
