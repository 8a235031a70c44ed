/**
 * Emulator `_bulk` throughput: how many documents per second the OpenSearch emulator
 * (tests/support/opensearch) accepts through `_bulk` on one core, so it is never the bottleneck
 * of an integration test or benchmark. The emulator runs as its own process (one JS thread);
 * this process sends pre-built NDJSON bodies over one keep-alive connection, then checks the
 * count. The requests are the ones flusso's sink sends for the `items` benchmark table
 * (bench/harness/workloads.ts): 10-field documents as flusso's build statement prints them,
 * `index`/`delete` actions on a generation index with the commit LSN as an `external_gte`
 * version, 1,000 per request, and the sink's `filter_path`, into the `dynamic: strict`
 * mapping flusso creates for that table. Two phases:
 *
 * - backfill: every document indexed once (new ids);
 * - drain: the live drain's mix of 100-change transactions, 50 % inserts of new ids, 35 %
 *   re-indexed existing ids, 15 % deletes of existing ids, versions rising per transaction.
 *
 * Figures: docs per wall-clock second (client and emulator share the machine), and docs per
 * second of the emulator's own CPU time (`GET /_emulator/process`, user + system, all of its
 * threads) with the µs per document that is — the fair reading of "on one core", since the
 * client's work is not counted. Anchor: `JSON.parse` of the same lines in this process, the
 * parsing floor any server pays.
 *
 * `FLUSSO_BENCH_EMULATOR_DOCS` sets the document count per phase (default 200,000);
 * the emulator runs with the heap the scenarios give it (`EMULATOR_HEAP_FLAGS`);
 * `FLUSSO_BENCH_EMULATOR_FLAGS` adds runtime flags to the emulator process, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it; `FLUSSO_BENCH_EMULATOR_MAIN` runs another
 * copy of the emulator's `main.ts` (an A/B comparison against a saved tree).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Benchmark, BenchRow } from "./harness/suite.ts";
import { emulatorFlags } from "./harness/sink.ts";
import { analysisSettings } from "../src/model/mapping.ts";

const DOCS = Number(process.env.FLUSSO_BENCH_EMULATOR_DOCS ?? 200_000);
const MAIN = process.env.FLUSSO_BENCH_EMULATOR_MAIN ??
  fileURLToPath(new URL("../tests/support/opensearch/main.ts", import.meta.url));
const BATCH = 1_000;
const WARMUP_BODIES = 20;
const TARGET = 50_000;
/** Changes per drain transaction and their split, as `planItemsBacklog` plans them. */
const TXN = { inserts: 50, updates: 35, deletes: 15 };

/** A generation index, named as flusso names them (`<prefix><name>_<hash8>_<gen>`). */
const INDEX = "flusso_items_3f2a9c1b_1";
/** The sink's `filter_path`, encoded as the client's query string encoder does. */
const BULK_PATH = `/_bulk?filter_path=${
  encodeURIComponent("errors,error,status,items.*.status,items.*.error")
}`;

/** The create-index body flusso derives for the `items` schema (src/model/mapping.ts). */
const ITEMS_INDEX = {
  settings: {
    number_of_shards: 1,
    number_of_replicas: 0,
    refresh_interval: "-1",
    analysis: analysisSettings(),
  },
  mappings: {
    dynamic: "strict",
    _meta: { schema_hash: "3f2a9c1b", flusso_version: "bench", index: "items" },
    properties: {
      id: { type: "long" },
      account_id: { type: "long" },
      sku: { type: "keyword" },
      title: { type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } },
      description: { type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } },
      status: { type: "keyword" },
      quantity: { type: "integer" },
      price: { type: "double" },
      created_at: { type: "date" },
      updated_at: { type: "date" },
    },
  },
};

const EPOCH = Date.UTC(2024, 0, 1);
const STATUSES = ["new", "active", "archived"];

/** A timestamptz as flusso's SQL prints it: RFC 3339 in UTC, no fraction when it is zero. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/**
 * Row `i` of `items_insert` as flusso's build statement returns it: compact JSON text
 * (`{"key":value,…}`, objects are concatenated in SQL; see src/model/build_plan.ts).
 */
function itemJson(i: number, updated: boolean): string {
  const created = timestamp(EPOCH + i * 1000);
  const md5 = createHash("md5").update(String(i)).digest("hex");
  return `{"id":${i},"account_id":${i % 1000},"sku":"SKU-${
    String(i).padStart(10, "0")
  }","title":"Item number ${i} of the catalogue","description":"${md5}${md5}${md5}",` +
    `"status":"${updated ? "updated" : STATUSES[i % 3]}","quantity":${
      i % 100 + (updated ? 1 : 0)
    },"price":${((i % 100_000) / 100).toFixed(2)},"created_at":"${created}",` +
    `"updated_at":"${updated ? timestamp(EPOCH + 400 * 86_400_000 + i) : created}"}`;
}

function action(kind: "index" | "delete", id: number, version: bigint): string {
  return `{"${kind}":{"_index":"${INDEX}","_id":"${id}","version":${version},"version_type":"external_gte"}}\n`;
}

/** Joins operations into `_bulk` bodies of BATCH operations. */
function batches(ops: string[]): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < ops.length; i += BATCH) bodies.push(ops.slice(i, i + BATCH).join(""));
  return bodies;
}

/** The backfill: ids 1..DOCS, all at the snapshot's LSN. */
function backfillBodies(): string[] {
  const lsn = 0x1_6b37_4a28n;
  const ops: string[] = [];
  for (let i = 1; i <= DOCS; i++) ops.push(`${action("index", i, lsn)}${itemJson(i, false)}\n`);
  return batches(ops);
}

/** The drain: DOCS changes in transactions over the backfilled ids; the count they leave. */
function drainBodies(): { bodies: string[]; count: number } {
  const perTxn = TXN.inserts + TXN.updates + TXN.deletes;
  const txns = Math.floor(DOCS / perTxn);
  const ops: string[] = [];
  let nextId = DOCS + 1;
  let lsn = 0x2_0000_0000n;
  for (let t = 0; t < txns; t++) {
    lsn += 8_192n;
    for (let k = 0; k < TXN.inserts; k++, nextId++) {
      ops.push(`${action("index", nextId, lsn)}${itemJson(nextId, false)}\n`);
    }
    for (let k = 1; k <= TXN.updates; k++) {
      const id = t * TXN.updates + k;
      ops.push(`${action("index", id, lsn)}${itemJson(id, true)}\n`);
    }
    for (let k = 0; k < TXN.deletes; k++) {
      ops.push(action("delete", DOCS - t * TXN.deletes - k, lsn));
    }
  }
  return { bodies: batches(ops), count: DOCS + txns * (TXN.inserts - TXN.deletes) };
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
  const child = spawn(
    process.execPath,
    ["run", "-A", ...emulatorFlags(), MAIN, "--port", "0", "--no-log"],
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

/** What one phase cost: wall seconds, the emulator's and this process's CPU seconds. */
interface Phase {
  seconds: number;
  cpu: number;
  clientCpu: number;
}

async function sendAll(agent: http.Agent, port: number, bodies: string[]): Promise<Phase> {
  const cpuBefore = await emulatorCpu(agent, port);
  const ownBefore = ownCpu();
  const start = performance.now();
  for (const body of bodies) {
    const reply = await request(agent, port, "POST", BULK_PATH, body);
    // Deletes of ids the drain already deleted would answer 404 items; none are sent.
    if (reply.includes('"error"')) throw new Error(`bulk item errors: ${reply.slice(0, 300)}`);
  }
  const seconds = (performance.now() - start) / 1000;
  const clientCpu = ownCpu() - ownBefore;
  const cpu = await emulatorCpu(agent, port) - cpuBefore;
  return { seconds, cpu, clientCpu };
}

async function count(agent: http.Agent, port: number): Promise<number> {
  await request(agent, port, "POST", `/${INDEX}/_refresh`);
  return JSON.parse(await request(agent, port, "GET", `/${INDEX}/_count`)).count;
}

/** Emulator `_bulk` docs/s (wall and per emulator CPU-second) against the ≥ 50k docs/s target. */
export const emulatorBulkBenchmark: Benchmark = {
  name: "emulator",
  async run(): Promise<BenchRow[]> {
    const backfill = backfillBodies();
    const drain = drainBodies();
    const emulator = await startStandalone();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await request(agent, emulator.port, "PUT", `/${INDEX}`, JSON.stringify(ITEMS_INDEX));
      // Warm-up (lets the JIT settle): the same ids and versions again later are conflict-free
      // under external_gte, so the final count is unaffected.
      for (const body of backfill.slice(0, WARMUP_BODIES)) {
        await request(agent, emulator.port, "POST", BULK_PATH, body);
      }
      const filled = await sendAll(agent, emulator.port, backfill);
      const afterFill = await count(agent, emulator.port);
      if (afterFill !== DOCS) throw new Error(`expected ${DOCS} documents, found ${afterFill}`);
      const drained = await sendAll(agent, emulator.port, drain.bodies);
      const afterDrain = await count(agent, emulator.port);
      if (afterDrain !== drain.count) {
        throw new Error(`expected ${drain.count} documents after the drain, found ${afterDrain}`);
      }
      const floor = parseFloor(backfill);
      const anchor = `${fmt(floor)} docs/s (JSON.parse only)`;
      const target = `≥ ${fmt(TARGET)} docs/s`;
      const figure = (phase: string) => `emulator _bulk ${phase} (${DOCS} items, ${BATCH}/request)`;
      const perCpuRow = (phase: string, p: Phase): BenchRow => {
        const perCpu = DOCS / p.cpu;
        return {
          figure: `${figure(phase)}, per emulator CPU-second`,
          flusso: `${fmt(perCpu)} docs/s, ${(1e6 / perCpu).toFixed(1)} µs/doc (emulator CPU ${
            p.cpu.toFixed(2)
          } s)`,
          anchor,
          ratio: (perCpu / floor).toFixed(2),
          target: `${target} on one core`,
          verdict: perCpu >= TARGET ? "met" : "missed",
        };
      };
      const rate = DOCS / filled.seconds;
      return [
        {
          figure: `${figure("backfill")}, wall clock`,
          flusso: `${fmt(rate)} docs/s (client CPU ${filled.clientCpu.toFixed(2)} s in ${
            filled.seconds.toFixed(2)
          } s)`,
          anchor,
          ratio: (rate / floor).toFixed(2),
          target,
          verdict: rate >= TARGET ? "met" : "missed",
        },
        perCpuRow("backfill", filled),
        perCpuRow("drain mix", drained),
      ];
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
