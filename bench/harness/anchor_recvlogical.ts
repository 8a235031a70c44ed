/**
 * The live-drain anchor: `pg_recvlogical` decoding the same slot backlog with pgoutput over
 * the same publication and throwing the bytes away. It is the floor any logical replication
 * client pays — Postgres decoding plus the wire — with no documents built or written.
 */
import { join } from "node:path";
import { formatLsn } from "./lsn.ts";
import { spawnMeasured } from "./process_stats.ts";

/** The anchor's measurement. */
export interface RecvlogicalResult {
  readonly seconds: number;
  readonly peakRssBytes: number;
  readonly cpuMs: number;
}

/** Raised when pg_recvlogical exits non-zero; carries its stderr. */
export class RecvlogicalError extends Error {
  constructor(code: number | null, stderr: string) {
    super(`pg_recvlogical exited with ${code}: ${stderr.trim().slice(0, 2000)}`);
    this.name = "RecvlogicalError";
  }
}

/**
 * Streams `slot` from its confirmed position until `endLsn` (`--endpos`) to /dev/null and
 * times it from spawn to exit.
 */
export async function drainWithRecvlogical(options: {
  binDir: string;
  url: string;
  slot: string;
  publication: string;
  endLsn: bigint;
}): Promise<RecvlogicalResult> {
  const child = spawnMeasured(
    join(options.binDir, "pg_recvlogical"),
    [
      "-d",
      options.url,
      "--slot",
      options.slot,
      "--start",
      "--no-loop",
      "-o",
      "proto_version=1",
      "-o",
      `publication_names=${options.publication}`,
      "--endpos",
      formatLsn(options.endLsn),
      "-f",
      "/dev/null",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.child.stderr?.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const { code, endedAt } = await child.exited;
  if (code !== 0) throw new RecvlogicalError(code, stderr);
  const stats = child.stats();
  return {
    seconds: (endedAt - child.startedAt) / 1000,
    peakRssBytes: stats.peakRssBytes,
    cpuMs: stats.cpuMs,
  };
}
