/**
 * Emulator `_bulk` throughput: how many small documents per second the OpenSearch emulator
 * (tests/support/opensearch) accepts through `_bulk` on one core, so it is never the bottleneck
 * of an integration test or benchmark. The emulator runs as its own process (one JS thread =
 * one core); this process sends pre-built NDJSON bodies of 1,000 index actions with external
 * versions into a `dynamic: strict` index over one keep-alive connection, then checks the count.
 * Anchor: `JSON.parse` of the same lines in this process — the parsing floor any server pays.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import process from "node:process";
import type { Benchmark, BenchRow } from "./harness/suite.ts";

const DOCS = Number(process.env.FLUSSO_BENCH_EMULATOR_DOCS ?? 200_000);
const BATCH = 1_000;
const TARGET = 50_000;

function buildBodies(): string[] {
  const bodies: string[] = [];
  for (let start = 0; start < DOCS; start += BATCH) {
    let body = "";
    for (let i = start; i < Math.min(DOCS, start + BATCH); i++) {
      body += `{"index":{"_index":"bench","_id":"${i}","version":${
        i + 1
      },"version_type":"external_gte"}}\n`;
      body += `{"id":${i},"name":"item ${i}","sku":"SKU-${i % 997}","price":${
        (i % 1000) / 10
      },"active":${i % 2 === 0},"updated_at":"2024-05-01T12:00:00Z"}\n`;
    }
    bodies.push(body);
  }
  return bodies;
}

function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : {
          "content-type": path.includes("_bulk") ? "application/x-ndjson" : "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 500) >= 300) {
            reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          } else resolve(text);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function startStandalone(): Promise<{ port: number; stop(): void }> {
  const main = new URL("../tests/support/opensearch/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["run", "-A", main, "--port", "0", "--no-log"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) resolve(m[0]);
    });
    child.on("exit", (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { port: Number(new URL(url).port), stop: () => child.kill("SIGTERM") };
}

function parseFloor(bodies: string[]): number {
  const start = performance.now();
  let n = 0;
  for (const body of bodies) {
    for (const line of body.split("\n")) if (line) (JSON.parse(line), n++);
  }
  return (n / 2) / ((performance.now() - start) / 1000);
}

/** Emulator `_bulk` docs/s against the ≥ 50k docs/s target. */
export const emulatorBulkBenchmark: Benchmark = {
  name: "emulator",
  async run(): Promise<BenchRow[]> {
    const bodies = buildBodies();
    const emulator = await startStandalone();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await request(
        agent,
        emulator.port,
        "PUT",
        "/bench",
        JSON.stringify({
          settings: { number_of_replicas: 0, refresh_interval: "-1" },
          mappings: {
            dynamic: "strict",
            properties: {
              id: { type: "long" },
              name: { type: "text" },
              sku: { type: "keyword" },
              price: { type: "scaled_float", scaling_factor: 100 },
              active: { type: "boolean" },
              updated_at: { type: "date" },
            },
          },
        }),
      );
      await request(agent, emulator.port, "POST", "/_bulk", bodies[0]); // warm-up (same ids: conflicts-free, external_gte)
      const start = performance.now();
      for (const body of bodies) {
        const reply = await request(agent, emulator.port, "POST", "/_bulk", body);
        if (reply.includes('"errors":true')) {
          throw new Error(`bulk item errors: ${reply.slice(0, 300)}`);
        }
      }
      const seconds = (performance.now() - start) / 1000;
      await request(agent, emulator.port, "POST", "/bench/_refresh");
      const count = JSON.parse(await request(agent, emulator.port, "GET", "/bench/_count")).count;
      if (count !== DOCS) throw new Error(`expected ${DOCS} documents, the emulator has ${count}`);
      const rate = DOCS / seconds;
      const floor = parseFloor(bodies);
      return [{
        figure: `emulator _bulk throughput (${DOCS} docs, ${BATCH}/request)`,
        flusso: `${Math.round(rate).toLocaleString("en-US")} docs/s`,
        anchor: `${Math.round(floor).toLocaleString("en-US")} docs/s (JSON.parse only)`,
        ratio: (rate / floor).toFixed(2),
        target: `≥ ${TARGET.toLocaleString("en-US")} docs/s`,
        verdict: rate >= TARGET ? "met" : "missed",
      }];
    } finally {
      agent.destroy();
      emulator.stop();
    }
  },
};

if (import.meta.main) {
  const { printTable } = await import("./harness/suite.ts");
  printTable(await emulatorBulkBenchmark.run());
}
