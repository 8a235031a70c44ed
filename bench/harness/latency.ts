/**
 * Commit-to-indexed latency. A paced writer commits single-row inserts at a steady rate and
 * records when each commit returned; a recording proxy between flusso and OpenSearch records
 * when OpenSearch acknowledged the `_bulk` request carrying each document id. Both clocks are
 * this process's performance.now(), so there is no clock skew to correct. The proxy adds its
 * own hop to every figure, so the latencies reported are upper bounds.
 */
import { Buffer } from "node:buffer";
import { Agent, createServer, type IncomingMessage, request, type Server } from "node:http";
import type postgres from "postgres";
import { quantile } from "./stats.ts";

/** A proxy that forwards everything to `upstream` and notes bulk acknowledgements. */
export interface RecordingProxy {
  readonly url: string;
  /** Document id → performance.now() when the first bulk carrying it was acknowledged. */
  readonly acked: Map<string, number>;
  /** Whether to parse bulk bodies (off while setting up, to keep the proxy cheap). */
  recording: boolean;
  close(): Promise<void>;
}

/** The `_id` of every action line of an NDJSON bulk body (delete actions have no source line). */
export function bulkIds(body: string): string[] {
  const ids: string[] = [];
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    const action = JSON.parse(line) as Record<string, { _id?: unknown } | undefined>;
    const [kind] = Object.keys(action);
    const id = action[kind]?._id;
    if (typeof id === "string" || typeof id === "number") ids.push(String(id));
    if (kind !== "delete") i++; // skip the source line
  }
  return ids;
}

const readBody = (message: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on("data", (c: Buffer) => chunks.push(c));
    message.on("end", () => resolve(Buffer.concat(chunks)));
    message.on("error", reject);
  });

/** Starts the proxy on a free port of 127.0.0.1. */
export function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const acked = new Map<string, number>();
  const proxy = { recording: false } as { recording: boolean };
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const headers = { ...req.headers, host: target.host };
      const upstreamResponse = await new Promise<IncomingMessage>((resolve, reject) => {
        const forward = request({
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        }, resolve);
        forward.on("error", reject);
        forward.end(body);
      });
      const responseBody = await readBody(upstreamResponse);
      const ackedAt = performance.now();
      if (
        proxy.recording && (req.url ?? "").includes("_bulk") &&
        (upstreamResponse.statusCode ?? 500) < 300
      ) {
        for (const id of bulkIds(body.toString("utf8"))) if (!acked.has(id)) acked.set(id, ackedAt);
      }
      res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      res.end(responseBody);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`bench proxy: ${String(error)}`);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve(Object.assign(proxy, {
        url: `http://127.0.0.1:${port}`,
        acked,
        close: () =>
          new Promise<void>((done) => {
            agent.destroy();
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      }));
    });
  });
}

/** What the paced writer did. */
export interface PacedRun {
  /** Document id → performance.now() when its commit returned. */
  readonly committed: Map<string, number>;
  /** performance.now() when the writer started. */
  readonly startedAt: number;
  readonly seconds: number;
  /** Commits per second actually achieved. */
  readonly achievedRate: number;
}

/**
 * Commits one single-row insert per change at `rate` per second for `seconds`, ids from
 * `firstId` up, with at most `maxInFlight` commits outstanding (a pool of connections).
 */
export async function pacedInserts(
  sql: postgres.Sql,
  options: { rate: number; seconds: number; firstId: number; maxInFlight?: number },
): Promise<PacedRun> {
  const committed = new Map<string, number>();
  const maxInFlight = options.maxInFlight ?? 64;
  const start = performance.now();
  const end = start + options.seconds * 1000;
  let issued = 0;
  let inFlight = 0;
  let failure: unknown;
  const settled: Promise<void>[] = [];
  while (performance.now() < end && failure === undefined) {
    const due = Math.floor(((performance.now() - start) / 1000) * options.rate);
    while (issued < due && inFlight < maxInFlight) {
      const id = options.firstId + issued++;
      inFlight++;
      settled.push(
        sql`SELECT items_insert(${id}, ${id})`.then(
          () => void committed.set(String(id), performance.now()),
          (error) => void (failure ??= error),
        ).finally(() => inFlight--),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(settled);
  if (failure !== undefined) throw failure;
  const seconds = (performance.now() - start) / 1000;
  return { committed, startedAt: start, seconds, achievedRate: committed.size / seconds };
}

/** Latency percentiles over the changes committed after `warmupMs`. */
export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly measured: number;
  /** Committed (after warm-up) but never acknowledged. */
  readonly missing: number;
}

/** Pairs commits with acknowledgements and summarises (milliseconds). */
export function summarizeLatency(
  committed: ReadonlyMap<string, number>,
  acked: ReadonlyMap<string, number>,
  options: { since: number },
): LatencySummary {
  const latencies: number[] = [];
  let missing = 0;
  for (const [id, at] of committed) {
    if (at < options.since) continue;
    const ack = acked.get(id);
    if (ack === undefined) missing++;
    else latencies.push(ack - at);
  }
  return {
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    max: latencies.length ? latencies.reduce((a, b) => Math.max(a, b)) : Number.NaN,
    measured: latencies.length,
    missing,
  };
}
