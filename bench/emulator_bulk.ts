/**
 * Emulator `_bulk` throughput: how many small documents per second the OpenSearch emulator
 * (tests/support/opensearch) accepts through `_bulk` on one core, so it is never the bottleneck
 * of an integration test or benchmark. The emulator runs as its own process (one JS thread);
 * this process sends pre-built NDJSON bodies of 1,000 index actions with external versions into
 * a `dynamic: strict` index over one keep-alive connection, then checks the count.
 *
 * Two figures: docs per wall-clock second (client and emulator share the machine), and docs per
 * second of the emulator's own CPU time (`GET /_emulator/process`, user + system, all of its
 * threads) — the fair reading of "on one core", since the client's work is not counted.
 * Anchor: `JSON.parse` of the same lines in this process — the parsing floor any server pays.
 *
 * `FLUSSO_BENCH_EMULATOR_DOCS` sets the document count (default 200,000);
 * `FLUSSO_BENCH_EMULATOR_FLAGS` adds runtime flags to the emulator process, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Benchmark, BenchRow } from "./harness/suite.ts";

const DOCS = Number(process.env.FLUSSO_BENCH_EMULATOR_DOCS ?? 200_000);
const FLAGS = (process.env.FLUSSO_BENCH_EMULATOR_FLAGS ?? "").split(/\s+/).filter((f) => f);
const BATCH = 1_000;
const WARMUP_BODIES = 20;
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

async function startStandalone(): Promise<{ port: number; stop(): Promise<void> }> {
  const main = fileURLToPath(new URL("../tests/support/opensearch/main.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["run", "-A", ...FLAGS, main, "--port", "0", "--no-log"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) resolve(m[0]);
    });
    child.on("exit", (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return {
    port: Number(new URL(url).port),
    // Waiting for the exit lets a `--cpu-prof` emulator write its profile.
    stop: () => (child.kill("SIGTERM"), exited),
  };
}

/** The emulator process's CPU time so far (user + system), in seconds. */
async function emulatorCpu(agent: http.Agent, port: number): Promise<number> {
  const r = JSON.parse(await request(agent, port, "GET", "/_emulator/process"));
  return (r.cpu.user + r.cpu.system) / 1e6;
}

function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function parseFloor(bodies: string[]): number {
  const start = performance.now();
  let n = 0;
  for (const body of bodies) {
    for (const line of body.split("\n")) if (line) (JSON.parse(line), n++);
  }
  return (n / 2) / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Emulator `_bulk` docs/s (wall and per emulator CPU-second) against the ≥ 50k docs/s target. */
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
      // Warm-up (lets the JIT settle): the same ids and versions again later are conflict-free
      // under external_gte, so the final count is unaffected.
      for (const body of bodies.slice(0, WARMUP_BODIES)) {
        await request(agent, emulator.port, "POST", "/_bulk", body);
      }
      const cpuBefore = await emulatorCpu(agent, emulator.port);
      const ownBefore = ownCpu();
      const start = performance.now();
      for (const body of bodies) {
        const reply = await request(agent, emulator.port, "POST", "/_bulk", body);
        if (reply.includes('"errors":true')) {
          throw new Error(`bulk item errors: ${reply.slice(0, 300)}`);
        }
      }
      const seconds = (performance.now() - start) / 1000;
      const clientCpu = ownCpu() - ownBefore;
      const cpu = await emulatorCpu(agent, emulator.port) - cpuBefore;
      await request(agent, emulator.port, "POST", "/bench/_refresh");
      const count = JSON.parse(await request(agent, emulator.port, "GET", "/bench/_count")).count;
      if (count !== DOCS) throw new Error(`expected ${DOCS} documents, the emulator has ${count}`);
      const rate = DOCS / seconds;
      const perCpu = DOCS / cpu;
      const floor = parseFloor(bodies);
      const figure = `emulator _bulk (${DOCS} docs, ${BATCH}/request)`;
      const target = `≥ ${fmt(TARGET)} docs/s`;
      return [{
        figure: `${figure}, wall clock`,
        flusso: `${fmt(rate)} docs/s (client CPU ${clientCpu.toFixed(2)} s in ${
          seconds.toFixed(2)
        } s)`,
        anchor: `${fmt(floor)} docs/s (JSON.parse only)`,
        ratio: (rate / floor).toFixed(2),
        target,
        verdict: rate >= TARGET ? "met" : "missed",
      }, {
        figure: `${figure}, per emulator CPU-second`,
        flusso: `${fmt(perCpu)} docs/s (emulator CPU ${cpu.toFixed(2)} s)`,
        anchor: `${fmt(floor)} docs/s (JSON.parse only)`,
        ratio: (perCpu / floor).toFixed(2),
        target: `${target} on one core`,
        verdict: perCpu >= TARGET ? "met" : "missed",
      }];
    } finally {
      agent.destroy();
      await emulator.stop();
    }
  },
};

if (import.meta.main) {
  const { printTable } = await import("./harness/suite.ts");
  printTable(await emulatorBulkBenchmark.run());
}
