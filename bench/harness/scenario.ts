/**
 * What the flusso-driven scenarios share: the "pending" row shape used until `flusso sync`
 * exists, bringing a config to the seeded-and-live state, and the sink's CPU row.
 */
import type postgres from "postgres";
import type { BenchRow } from "./suite.ts";
import { aliasExists } from "./sink.ts";
import {
  type FlussoProcess,
  flussoSyncAvailable,
  startFlusso,
  waitForConfirmed,
  waitUntil,
  type WrittenConfig,
} from "./flusso_process.ts";
import { walInsertLsn } from "./postgres.ts";
import { formatSeconds } from "./stats.ts";

/** The flusso column until the binary has `sync`. */
export const PENDING = "pending: needs flusso sync";

/** True when flusso can be measured; scenarios still measure their anchors otherwise. */
export function canRunFlusso(): boolean {
  return flussoSyncAvailable();
}

/** A row whose flusso side could not run yet. */
export function pendingRow(figure: string, anchor: string, target: string): BenchRow {
  return { figure, flusso: PENDING, anchor, ratio: "-", target, verdict: "info" };
}

/**
 * Starts flusso and waits until every index alias exists (flusso points an alias only once
 * its generation is seeded) and the slot has confirmed the WAL position seen at that moment
 * (streaming, nothing in flight). Returns the running process and when it became live.
 */
export async function startLive(options: {
  config: WrittenConfig;
  databaseUrl: string;
  sinkUrl: string;
  sql: postgres.Sql;
  indexes: readonly string[];
  pollMs?: number;
}): Promise<{ flusso: FlussoProcess; seededAt: number; liveAt: number }> {
  const flusso = startFlusso(options);
  try {
    const seededAt = await waitUntil(
      "every index alias (seeded)",
      flusso,
      async () => {
        for (const index of options.indexes) {
          if (!(await aliasExists(options.sinkUrl, `${options.config.prefix}${index}`))) {
            return false;
          }
        }
        return true;
      },
      { intervalMs: options.pollMs ?? 100 },
    );
    const target = await walInsertLsn(options.sql);
    const liveAt = await waitForConfirmed(flusso, options.sql, options.config.slot, target, {
      timeoutMs: 120_000,
    });
    return { flusso, seededAt, liveAt };
  } catch (error) {
    await flusso.stop();
    throw error;
  }
}

/** An info row with the sink's CPU time over a measured interval (figure 7's "not the bottleneck"). */
export function sinkCpuRow(
  figure: string,
  cpuMs: number | undefined,
  wallSeconds: number,
): BenchRow {
  const text = cpuMs === undefined
    ? "n/a (real OpenSearch)"
    : `${formatSeconds(cpuMs / 1000)} CPU in ${formatSeconds(wallSeconds)} (${
      ((cpuMs / 1000 / wallSeconds) * 100).toFixed(0)
    }% of one core)`;
  return { figure, flusso: text, anchor: "-", ratio: "-", target: "-", verdict: "info" };
}
