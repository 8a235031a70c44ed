/**
 * Where integration tests send OpenSearch traffic: the real cluster at `OPENSEARCH_URL` when
 * it is set, else a fresh in-process emulator. Tests that need fault injection check
 * `target.emulator` and skip themselves (saying why) against a real cluster.
 */
import process from "node:process";
import { type Emulator, startEmulator } from "./emulator.ts";

/** An OpenSearch to test against. */
export interface OpenSearchTarget {
  readonly url: string;
  /** Present only when the target is an emulator (faults, request log, restart). */
  readonly emulator?: Emulator;
  close(): Promise<void>;
}

/** The reason fault-injection tests give when they skip against a real cluster. */
export const REAL_CLUSTER_SKIP =
  "OPENSEARCH_URL points at a real cluster: faults can only be injected into the emulator";

/** The real cluster at OPENSEARCH_URL when set, else a fresh in-process emulator. */
export async function opensearchTarget(): Promise<OpenSearchTarget> {
  const url = process.env.OPENSEARCH_URL;
  if (url) return { url: url.replace(/\/+$/, ""), close: () => Promise.resolve() };
  const emulator = await startEmulator();
  return { url: emulator.url, emulator, close: () => emulator.close() };
}
