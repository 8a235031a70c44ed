/**
 * `flusso slot status|drop`: what an operator needs to see and do about the replication slot.
 * `status` shows position, lag and WAL safety; `drop` removes the slot (and optionally the
 * publication) so the next start re-creates it and re-seeds every index. The command's
 * definition is in slot_command.ts.
 */
import process from "node:process";
import postgres from "postgres";
import { ConfigErrors } from "../config/errors.ts";
import { formatErrorsHuman } from "../config/format.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/model.ts";
import { formatLsn } from "../engine/change.ts";
import { clientOptions } from "../postgres/connect.ts";
import { dropPublication, inspectPublication } from "../postgres/publication.ts";
import { dropSlot, inspectSlot, SlotActiveError } from "../postgres/slot.ts";
import { sampleSlotLag } from "../postgres/slot_lag.ts";
import { ExitCode } from "./exit_codes.ts";

/** The collaborators of the command, injectable for tests. */
export interface SlotDeps {
  loadConfig(path: string): Promise<Config>;
  print(line: string): void;
}

/** The real collaborators: the config from disk, lines to stdout. */
export const defaultSlotDeps = (): SlotDeps => ({
  loadConfig: (path) => loadConfig(path),
  print: (line) => process.stdout.write(`${line}\n`),
});

/** The slot's state as `flusso slot status` reports it (also its `--json` shape). */
export interface SlotStatusReport {
  readonly slot: string;
  readonly exists: boolean;
  readonly plugin?: string | null;
  readonly active?: boolean;
  readonly activePid?: number | null;
  readonly confirmedFlushLsn?: string | null;
  readonly restartLsn?: string | null;
  readonly lagBytes?: number;
  readonly walStatus?: string | null;
  readonly safeWalSize?: number | null;
  readonly publication: string;
  readonly publicationExists: boolean;
  readonly publishedTables: readonly string[];
}

/** Reads the slot and publication of `config`. */
export async function slotStatus(sql: postgres.Sql, config: Config): Promise<SlotStatusReport> {
  const { slot: name, publication } = config.source;
  const slot = await inspectSlot(sql, name);
  const pub = await inspectPublication(sql, publication);
  const base = {
    slot: name,
    publication,
    publicationExists: pub !== undefined,
    publishedTables: pub?.allTables
      ? ["ALL TABLES"]
      : (pub?.tables ?? []).map((t) => `${t.schema}.${t.name}`),
  };
  if (!slot) return { ...base, exists: false };
  const lag = await sampleSlotLag(sql, name);
  return {
    ...base,
    exists: true,
    plugin: slot.plugin,
    active: slot.active,
    activePid: slot.activePid,
    confirmedFlushLsn: slot.confirmedFlushLsn === null ? null : formatLsn(slot.confirmedFlushLsn),
    restartLsn: slot.restartLsn === null ? null : formatLsn(slot.restartLsn),
    lagBytes: lag.lagBytes,
    walStatus: slot.walStatus,
    safeWalSize: slot.safeWalSize === null ? null : Number(slot.safeWalSize),
  };
}

/** Human-readable lines for a status report. */
export function formatSlotStatus(report: SlotStatusReport): string[] {
  const lines = [`slot ${report.slot}: ${report.exists ? "exists" : "does not exist"}`];
  if (report.exists) {
    lines.push(
      `  plugin:              ${report.plugin}`,
      `  active:              ${report.active ? `yes (pid ${report.activePid})` : "no"}`,
      `  confirmed_flush_lsn: ${report.confirmedFlushLsn}`,
      `  restart_lsn:         ${report.restartLsn}`,
      `  lag:                 ${report.lagBytes} bytes`,
      `  wal_status:          ${report.walStatus}`,
      `  safe_wal_size:       ${report.safeWalSize ?? "unlimited"}`,
    );
    if (report.walStatus === "lost") {
      lines.push(
        "  the slot lost WAL it needs: run `flusso slot drop`, then restart flusso to re-seed",
      );
    }
  } else {
    lines.push("  flusso creates it (and re-seeds every index) on its next start");
  }
  lines.push(
    `publication ${report.publication}: ${
      report.publicationExists
        ? report.publishedTables.join(", ") || "(no tables)"
        : "does not exist"
    }`,
  );
  return lines;
}

async function withConfig(
  deps: SlotDeps,
  path: string,
  run: (config: Config, sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  let config: Config;
  try {
    config = await deps.loadConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    process.stderr.write(
      `${formatErrorsHuman(error, { excerpt: Boolean(process.stderr.isTTY) })}\n`,
    );
    process.exitCode = ExitCode.Usage;
    return;
  }
  const sql = postgres(
    clientOptions(config.source.connection, { max: 1, applicationName: "flusso slot" }),
  );
  try {
    await run(config, sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** `flusso slot status`: prints the report (one JSON object with `json`); exit 1 on lost WAL. */
export async function runSlotStatus(
  deps: SlotDeps,
  options: { readonly config: string; readonly json?: boolean },
): Promise<void> {
  await withConfig(deps, options.config, async (config, sql) => {
    const report = await slotStatus(sql, config);
    if (options.json) deps.print(JSON.stringify(report));
    else for (const line of formatSlotStatus(report)) deps.print(line);
    if (report.walStatus === "lost") process.exitCode = ExitCode.Failure;
  });
}

/** `flusso slot drop`: drops the slot (and with `publication` the publication too). */
export async function runSlotDrop(
  deps: SlotDeps,
  options: { readonly config: string; readonly force?: boolean; readonly publication?: boolean },
): Promise<void> {
  await withConfig(deps, options.config, async (config, sql) => {
    let dropped: boolean;
    try {
      dropped = await dropSlot(sql, config.source.slot, { force: options.force });
    } catch (error) {
      if (!(error instanceof SlotActiveError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = ExitCode.Failure;
      return;
    }
    deps.print(
      dropped ? `dropped slot ${config.source.slot}` : `slot ${config.source.slot} does not exist`,
    );
    if (options.publication) {
      const gone = await dropPublication(sql, config.source.publication);
      deps.print(
        gone
          ? `dropped publication ${config.source.publication}`
          : `publication ${config.source.publication} does not exist`,
      );
    }
  });
}
