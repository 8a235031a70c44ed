/**
 * Fault injection, scriptable from tests in-process (`emulator.faults`) or over HTTP
 * (`POST /_emulator/faults`): whole-request 429/500/503 for the next N requests or a
 * (seedable, deterministic) fraction of them, per-item bulk 429s and mapping errors for chosen
 * ids, added latency, stalls (accept, never answer) and connection resets mid-response.
 * Control-endpoint requests (`/_emulator/...`) are never subject to faults.
 */
import { OpenSearchError } from "./errors.ts";

/** The status codes a whole-request fault can answer with. */
export type FaultStatus = 429 | 500 | 503;

/** Scripted faults; every call adds to (or replaces) what is armed until `clear()`. */
export interface FaultControl {
  /** The next `n` requests fail with `status`. */
  failNext(n: number, status: FaultStatus): void;
  /** Each request fails with `status` with probability `fraction`; a `seed` makes it repeatable. */
  failFraction(fraction: number, status: FaultStatus, seed?: number): void;
  /** Bulk items for these `_id`s fail: `429` (rejected execution) or `mapping` (mapper_parsing). */
  rejectItems(ids: string[], kind: "429" | "mapping"): void;
  /** Every request is answered `ms` later. */
  latency(ms: number): void;
  /** The next `n` requests are accepted and never answered (until restart or close). */
  stallNext(n: number): void;
  /** The next `n` requests are executed, then their connection is destroyed mid-response. */
  resetNext(n: number): void;
  /** Disarms every fault. */
  clear(): void;
}

/** What the server must do with one request. */
export type FaultDecision =
  | { kind: "fail"; status: FaultStatus }
  | { kind: "stall" }
  | { kind: "reset" }
  | undefined;

/** A small deterministic PRNG (mulberry32) for seeded fractions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The armed faults of one emulator. */
export class Faults implements FaultControl {
  private failCount = 0;
  private failStatus: FaultStatus = 503;
  private fraction = 0;
  private fractionStatus: FaultStatus = 503;
  private random: () => number = Math.random;
  private stallCount = 0;
  private resetCount = 0;
  private latencyMs = 0;
  private readonly items = new Map<string, "429" | "mapping">();

  failNext(n: number, status: FaultStatus): void {
    this.failCount = n;
    this.failStatus = status;
  }

  failFraction(fraction: number, status: FaultStatus, seed?: number): void {
    this.fraction = Math.max(0, Math.min(1, fraction));
    this.fractionStatus = status;
    this.random = seed === undefined ? Math.random : prng(seed);
  }

  rejectItems(ids: string[], kind: "429" | "mapping"): void {
    for (const id of ids) this.items.set(id, kind);
  }

  latency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  stallNext(n: number): void {
    this.stallCount = n;
  }

  resetNext(n: number): void {
    this.resetCount = n;
  }

  clear(): void {
    this.failCount = 0;
    this.fraction = 0;
    this.random = Math.random;
    this.stallCount = 0;
    this.resetCount = 0;
    this.latencyMs = 0;
    this.items.clear();
  }

  /** The delay to add to every answer. */
  get delay(): number {
    return this.latencyMs;
  }

  /** Decides (and consumes) the fault for one incoming request. */
  decide(): FaultDecision {
    if (this.stallCount > 0) {
      this.stallCount--;
      return { kind: "stall" };
    }
    if (this.resetCount > 0) {
      this.resetCount--;
      return { kind: "reset" };
    }
    if (this.failCount > 0) {
      this.failCount--;
      return { kind: "fail", status: this.failStatus };
    }
    if (this.fraction > 0 && this.random() < this.fraction) {
      return { kind: "fail", status: this.fractionStatus };
    }
    return undefined;
  }

  /** The per-item fault for a bulk item id, if any. */
  itemFault(id: string | undefined): "429" | "mapping" | undefined {
    return id === undefined || this.items.size === 0 ? undefined : this.items.get(id);
  }

  /** Applies a JSON fault script (the body of `POST /_emulator/faults`). */
  apply(script: Record<string, unknown>): void {
    const status = (v: unknown): FaultStatus => {
      const n = Number(v ?? 503);
      if (n !== 429 && n !== 500 && n !== 503) {
        throw new OpenSearchError(
          400,
          "illegal_argument_exception",
          `fault status must be 429, 500 or 503, got [${String(v)}]`,
        );
      }
      return n;
    };
    const obj = (
      v: unknown,
    ) => (typeof v === "object" && v !== null ? v as Record<string, unknown> : {});
    if (script.clear === true) this.clear();
    if (script.failNext !== undefined) {
      const f = obj(script.failNext);
      this.failNext(Number(f.n ?? 1), status(f.status));
    }
    if (script.failFraction !== undefined) {
      const f = obj(script.failFraction);
      this.failFraction(
        Number(f.fraction ?? 0),
        status(f.status),
        f.seed === undefined ? undefined : Number(f.seed),
      );
    }
    if (script.rejectItems !== undefined) {
      const f = obj(script.rejectItems);
      const kind = f.kind === "mapping" ? "mapping" : "429";
      this.rejectItems(Array.isArray(f.ids) ? f.ids.map(String) : [], kind);
    }
    if (script.latency !== undefined) {
      this.latency(
        Number(typeof script.latency === "object" ? obj(script.latency).ms : script.latency),
      );
    }
    if (script.stallNext !== undefined) {
      this.stallNext(
        Number(typeof script.stallNext === "object" ? obj(script.stallNext).n : script.stallNext),
      );
    }
    if (script.resetNext !== undefined) {
      this.resetNext(
        Number(typeof script.resetNext === "object" ? obj(script.resetNext).n : script.resetNext),
      );
    }
  }
}

/** The error body of a whole-request fault, shaped as OpenSearch answers such a status. */
export function faultError(status: FaultStatus): OpenSearchError {
  if (status === 429) {
    return new OpenSearchError(
      429,
      "rejected_execution_exception",
      "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, " +
        "all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0] (injected by the emulator)",
    );
  }
  if (status === 503) {
    return new OpenSearchError(
      503,
      "cluster_block_exception",
      "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized]; (injected by the emulator)",
    );
  }
  return new OpenSearchError(500, "exception", "internal server error (injected by the emulator)");
}
