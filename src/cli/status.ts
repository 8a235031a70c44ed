/**
 * `flusso status`: asks a running instance for its /status and prints a summary (or the JSON
 * with `--json`). The command's definition is in status_command.ts.
 */
import process from "node:process";
import { requestInstance } from "../ops/ops_client.ts";
import { formatDuration, groupDigits } from "../ops/progress.ts";
import type { StatusDocument } from "../ops/status_model.ts";
import { type InstanceFlags, runClient, targetFor } from "./instance.ts";

/** A human summary of a /status document, one fact per line. */
export function formatStatus(doc: StatusDocument): string {
  const lines = [
    `flusso${doc.version ? ` ${doc.version}` : ""}: ${doc.phase}${
      doc.ready ? " (ready)" : " (not ready)"
    }, up ${formatDuration(doc.uptimeSeconds * 1000)}`,
  ];
  if (doc.slot) {
    lines.push(
      `slot: lag ${groupDigits(doc.slot.lagBytes)} bytes, wal_status ${doc.slot.walStatus ?? "?"}${
        doc.slot.active ? "" : ", inactive"
      }`,
    );
  }
  lines.push(
    `queue: ${groupDigits(doc.queue.depth)}/${groupDigits(doc.queue.capacity)} events, ${
      groupDigits(doc.queue.bytes)
    } bytes`,
  );
  lines.push(
    `changes: ${groupDigits(doc.counters.changesCaptured)} captured, ${
      groupDigits(doc.counters.changesCommitted)
    } committed in ${groupDigits(doc.counters.batches)} batches; confirmed LSN ${
      doc.confirmedLsn ?? "-"
    }`,
  );
  lines.push(
    `last flush: ${doc.lastFlushAt ?? "never"}${
      doc.lastLatencyMs === null ? "" : ` (commit-to-indexed ${doc.lastLatencyMs} ms)`
    }`,
  );
  if (doc.indexes.length > 0) lines.push("indexes:");
  const width = Math.max(...doc.indexes.map((i) => i.name.length));
  for (const i of doc.indexes) {
    const backfill = i.backfill && i.state !== "live"
      ? ` ${groupDigits(i.backfill.rowsDone)}/${groupDigits(i.backfill.estimatedRows)} rows${
        i.backfill.percent === null ? "" : ` (${i.backfill.percent}%)`
      }`
      : "";
    const next = i.schedules.filter((s) => s.nextRun).map((s) => `${s.task} at ${s.nextRun}`);
    lines.push(
      `  ${i.name.padEnd(width)}  ${i.state}${backfill}, generation ${i.generation}, ${
        groupDigits(i.documents)
      } documents written, ${groupDigits(i.quarantined)} quarantined${
        next.length ? `; next ${next.join(", ")}` : ""
      }`,
    );
  }
  if (doc.lastError) {
    lines.push(
      `last error (${doc.lastError.kind}${
        doc.lastError.component ? `, ${doc.lastError.component}` : ""
      }) at ${doc.lastError.at}: ${doc.lastError.name}: ${doc.lastError.message}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** What `flusso status` prints for its options: the summary, or the JSON with `--json`. */
export function runStatus(opts: InstanceFlags & { readonly json?: boolean }): Promise<void> {
  return runClient(async () => {
    const target = await targetFor("public", opts);
    const doc = await requestInstance(target, "GET", "/status");
    process.stdout.write(
      opts.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc as StatusDocument),
    );
  });
}
