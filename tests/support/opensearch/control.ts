/**
 * The control endpoint under `/_emulator/`, for the standalone emulator and subprocess use:
 *
 *     POST   /_emulator/faults     {"failNext":{"n":2,"status":429}, "latency":50, ...}
 *     DELETE /_emulator/faults     disarm everything
 *     GET    /_emulator/requests   {"requests":[...]}
 *     DELETE /_emulator/requests   empty the log
 *     POST   /_emulator/restart    answer, then restart (connections dropped, writes kept)
 *     GET    /_emulator/process    {"cpu":{"user":µs,"system":µs},"memory":{...}} of the emulator
 */
import process from "node:process";
import type { ApiReply } from "./api.ts";
import { OpenSearchError } from "./errors.ts";
import type { Faults } from "./faults.ts";
import type { RequestLogEntry } from "./request_log.ts";

/** What the control endpoint can reach. */
export interface ControlContext {
  method: string;
  segments: string[];
  body: string;
  faults: Faults;
  requests: RequestLogEntry[];
  restart(): Promise<void>;
}

function parse(body: string): Record<string, unknown> {
  if (body.trim() === "") return {};
  try {
    const v = JSON.parse(body);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch { /* answered below */ }
  throw new OpenSearchError(400, "parse_exception", "the fault script must be a JSON object");
}

/** Handles one `/_emulator/...` request. */
export function handleControl(c: ControlContext): ApiReply {
  const what = `${c.method} /${c.segments.join("/")}`;
  try {
    switch (what) {
      case "POST /_emulator/faults":
      case "PUT /_emulator/faults":
        c.faults.apply(parse(c.body));
        return { status: 200, body: { acknowledged: true } };
      case "DELETE /_emulator/faults":
        c.faults.clear();
        return { status: 200, body: { acknowledged: true } };
      case "GET /_emulator/requests":
        return { status: 200, body: { requests: c.requests } };
      case "DELETE /_emulator/requests":
        c.requests.length = 0;
        return { status: 200, body: { acknowledged: true } };
      case "GET /_emulator/process":
        // For benchmarks: the emulator's own CPU time, apart from the client driving it.
        return {
          status: 200,
          body: { cpu: process.cpuUsage(), memory: process.memoryUsage() },
        };
      case "POST /_emulator/restart":
        // Answer first; the restart then drops this very connection with the others.
        setTimeout(() => c.restart().catch(() => {}), 20);
        return { status: 200, body: { acknowledged: true } };
      default:
        return {
          status: 404,
          body: { error: `no emulator control endpoint [${what}]`, status: 404 },
        };
    }
  } catch (e) {
    if (e instanceof OpenSearchError) return { status: e.status, body: e.toBody() };
    throw e;
  }
}
