/**
 * `flusso indexes`: lists the indexes of a running instance through its control surface
 * (the command's definition is in indexes_command.ts).
 */
import process from "node:process";
import { requestInstance } from "../ops/ops_client.ts";
import { type InstanceFlags, runClient, targetFor } from "./instance.ts";

/**
 * A plain table of an array of objects (scalar columns only), or indented JSON for any other
 * shape.
 */
export function formatTable(value: unknown): string {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isRecord)) {
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  const columns = [...new Set(value.flatMap((row) => Object.keys(row)))].filter((key) =>
    value.every((row) =>
      row[key] === undefined || row[key] === null || typeof row[key] !== "object"
    )
  );
  const cells = value.map((row) =>
    columns.map((c) => (row[c] === undefined || row[c] === null ? "-" : String(row[c])))
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (parts: string[]) => parts.map((p, i) => p.padEnd(widths[i])).join("  ").trimEnd();
  return `${[line(columns), ...cells.map(line)].join("\n")}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What `flusso indexes` prints for its options: a table, or the JSON with `--json`. */
export function runIndexes(opts: InstanceFlags & { readonly json?: boolean }): Promise<void> {
  return runClient(async () => {
    const target = await targetFor("private", opts);
    const body = await requestInstance(target, "GET", "/indexes");
    const rows = isRecord(body) && Array.isArray(body.indexes) ? body.indexes : body;
    process.stdout.write(opts.json ? `${JSON.stringify(body, null, 2)}\n` : formatTable(rows));
  });
}
