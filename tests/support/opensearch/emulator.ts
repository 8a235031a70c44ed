/**
 * The OpenSearch emulator: an in-memory HTTP server (node:http) that answers the REST APIs
 * flusso uses the way OpenSearch 2.x does, with fault injection and a request log for tests.
 *
 *     const emulator = await startEmulator();          // 127.0.0.1, random free port
 *     const client = new Client({ node: emulator.url });
 *     emulator.faults.failNext(2, 429);
 *     await emulator.restart();                        // keeps every acknowledged write
 *     await emulator.close();
 *
 * It is a test and demo tool; nothing in src/ may import it.
 */
import { Buffer, isAscii } from "node:buffer";
import http from "node:http";
import type { Socket } from "node:net";
import { gunzipSync, inflateSync } from "node:zlib";
import type { ApiReply, ApiRequest } from "./api.ts";
import { handleControl } from "./control.ts";
import { OpenSearchError } from "./errors.ts";
import { type FaultControl, faultError, Faults } from "./faults.ts";
import { applyFilterPath, parseFilterPath } from "./filter_path.ts";
import { stringifyJson } from "./raw_json.ts";
import { keepsBody, type RequestLogEntry } from "./request_log.ts";
import { buildRoutes, matchRoute } from "./router.ts";
import { Cluster } from "./store.ts";

export type { FaultControl } from "./faults.ts";
export type { RequestLogEntry } from "./request_log.ts";

/** A running emulator. */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** In-process fault injection. */
  readonly faults: FaultControl;
  /** Every request received, in arrival order (bulk bodies kept). */
  readonly requests: RequestLogEntry[];
  /** Drops open connections (stalled ones included), keeps every acknowledged write, same port. */
  restart(): Promise<void>;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/** Options of `startEmulator`. */
export interface EmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** `http.max_content_length` in bytes (default 100mb); larger requests get 413. */
  maxContentLength?: number;
  /** Keep a request log (default true). */
  logRequests?: boolean;
}

const DEFAULT_MAX_CONTENT = 100 * 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function decodeSegments(path: string): string[] | undefined {
  try {
    return path.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function errorReply(e: unknown): ApiReply {
  if (e instanceof OpenSearchError) return { status: e.status, body: e.toBody() };
  const reason = e instanceof Error ? e.message : String(e);
  return {
    status: 500,
    body: {
      error: { root_cause: [{ type: "exception", reason }], type: "exception", reason },
      status: 500,
    },
  };
}

/** Starts an emulator on 127.0.0.1. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const cluster = new Cluster();
  const faults = new Faults();
  const requests: RequestLogEntry[] = [];
  const logging = options.logRequests !== false;
  const maxContent = options.maxContentLength ?? DEFAULT_MAX_CONTENT;
  const routes = buildRoutes((id) => faults.itemFault(id));
  const sockets = new Set<Socket>();
  let server: http.Server;
  let port = options.port ?? 0;
  let closed = false;

  const send = (
    res: http.ServerResponse,
    method: string,
    r: ApiReply,
    entry?: RequestLogEntry,
    filterPath?: string[][],
  ) => {
    // OpenSearch filters every JSON response, errors included. Pre-serialised text is parsed
    // again, so a kept number beyond 2^53 loses precision (flusso filters none such).
    const filtered = filterPath && !r.filtered && (r.text !== undefined || r.body !== undefined);
    const text = filtered
      ? stringifyJson(
        applyFilterPath(r.text !== undefined ? JSON.parse(r.text) : r.body, filterPath),
      )
      : r.text ?? (r.body === undefined ? "" : stringifyJson(r.body));
    const payload = Buffer.from(text, "utf8");
    res.writeHead(r.status, {
      "content-type": "application/json; charset=UTF-8",
      "content-length": String(payload.length),
    });
    res.end(method === "HEAD" ? undefined : payload);
    if (entry) {
      entry.status = r.status;
      entry.durationMs = Date.now() - entry.time;
    }
  };

  const handle = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: string,
    entry?: RequestLogEntry,
  ) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://emulator");
    const segments = decodeSegments(url.pathname);
    if (!segments) {
      send(
        res,
        method,
        errorReply(
          new OpenSearchError(400, "illegal_argument_exception", `invalid uri [${url.pathname}]`),
        ),
        entry,
      );
      return;
    }
    if (segments[0] === "_emulator") {
      const r = handleControl({
        method,
        segments,
        body,
        faults,
        requests,
        restart: () => emulator.restart(),
      });
      send(res, method, r, entry);
      return;
    }
    const filterPath = parseFilterPath(url.searchParams.get("filter_path"));
    const fault = faults.decide();
    if (entry && fault) entry.fault = fault.kind;
    if (fault?.kind === "stall") return; // accepted, never answered: the socket is dropped on restart/close
    if (faults.delay > 0) await sleep(faults.delay);
    if (fault?.kind === "fail") {
      send(res, method, errorReply(faultError(fault.status)), entry, filterPath);
      return;
    }
    const match = matchRoute(routes, method, segments, url.pathname);
    let r: ApiReply;
    if ("handler" in match) {
      const apiReq: ApiRequest = {
        method,
        path: url.pathname,
        params: match.params,
        query: url.searchParams,
        body,
        cluster,
        now: Date.now(),
      };
      try {
        r = await match.handler(apiReq);
      } catch (e) {
        r = errorReply(e);
      }
    } else r = match;
    if (fault?.kind === "reset") {
      const text = r.text ?? stringifyJson(r.body ?? {});
      res.writeHead(r.status, {
        "content-type": "application/json; charset=UTF-8",
        "content-length": String(Buffer.byteLength(text)),
      });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setTimeout(() => req.socket.destroy(), 5);
      if (entry) entry.status = r.status;
      return;
    }
    send(res, method, r, entry, filterPath);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    let entry: RequestLogEntry | undefined;
    if (logging && !path.startsWith("/_emulator")) {
      const query: Record<string, string> = {};
      if (q >= 0) { for (const [k, v] of new URLSearchParams(url.slice(q + 1))) query[k] = v; }
      entry = { method, path, query, status: 0, time: Date.now() };
      requests.push(entry);
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > maxContent;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxContent) tooLarge = true;
      if (!tooLarge) chunks.push(c);
    });
    req.on("end", () => {
      if (tooLarge) {
        // Like OpenSearch's HTTP layer: a bare 413, the content is ignored.
        res.writeHead(413, { "content-length": "0" });
        res.end();
        if (entry) entry.status = 413;
        return;
      }
      let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
      try {
        if (encoding.includes("gzip")) buf = gunzipSync(buf);
        else if (encoding.includes("deflate")) buf = inflateSync(buf);
      } catch (e) {
        send(
          res,
          method,
          errorReply(
            new OpenSearchError(
              400,
              "illegal_argument_exception",
              `cannot decompress the body: ${(e as Error).message}`,
            ),
          ),
          entry,
        );
        return;
      }
      // ASCII bytes are their own UTF-8 decoding: latin1 reads them without the UTF-8 decoder's
      // work (about half the cost per byte on a `_bulk` body).
      const body = isAscii(buf) ? buf.toString("latin1") : buf.toString("utf8");
      if (entry && keepsBody(path)) entry.body = body;
      handle(req, res, body, entry).catch((e) => {
        if (!res.headersSent) send(res, method, errorReply(e), entry);
      });
    });
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = http.createServer({ keepAliveTimeout: 60_000 }, onRequest);
      server.on("connection", (s: Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      sockets.clear();
    });

  await listen();

  const emulator: Emulator = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    faults,
    requests,
    async restart() {
      if (closed) throw new Error("the emulator is closed; start a new one");
      await stop();
      cluster.refreshAll(); // recovery replays the translog: every acknowledged write is searchable
      await listen();
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      cluster.shutdown();
    },
  };
  return emulator;
}
