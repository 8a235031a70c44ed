/**
 * `flusso verify [--index I] [--repair]`: compares Postgres with the indexes (document count,
 * every id, a content hash of every document), reports missing, extra and stale documents,
 * and with `--repair` fixes them through the normal write path. Exit code 0 when in sync (or
 * repaired), 1 when drift remains or verify could not run, 2 for usage and config errors.
 * The command's definition is in verify_command.ts.
 */
import process from "node:process";
import postgres from "postgres";
import type { IndexConfig } from "../config/model.ts";
import { indexMapping } from "../model/mapping.ts";
import { indexExists } from "../opensearch/index_admin.ts";
import { aliasName } from "../opensearch/naming.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../opensearch/sink.ts";
import { clientOptions } from "../postgres/connect.ts";
import { createPostgresDocumentBuilder } from "../postgres/document_builder.ts";
import type { Logger } from "../ops/logger.ts";
import type { DriftList, VerifyReport } from "../ops/verify.ts";
import { createVerifier } from "../ops/verify_run.ts";
import { ExitCode } from "./exit_codes.ts";
import { loadConfigOrReport } from "./load_config_or_report.ts";

/** Options of `flusso verify`. */
export interface VerifyCommandOptions {
  readonly config: string;
  readonly index?: string;
  readonly repair: boolean;
  readonly format: "human" | "json";
  readonly pageSize: number;
}

/** One index's outcome: a report, or why it could not be verified. */
export type VerifyOutcome =
  | { readonly index: string; readonly report: VerifyReport }
  | { readonly index: string; readonly error: string };

const list = (name: string, drift: DriftList) =>
  drift.count === 0 ? [] : [
    `  ${name.padEnd(9)} ${drift.count}: ${drift.sample.join(", ")}${
      drift.count > drift.sample.length ? ", …" : ""
    }`,
  ];

/** The human text of verify outcomes, one block per index. */
export function formatVerifyHuman(outcomes: readonly VerifyOutcome[]): string {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    if ("error" in outcome) {
      lines.push(`${outcome.index}: not verified — ${outcome.error}`);
      continue;
    }
    const r = outcome.report;
    const drift = r.missing.count + r.stale.count + r.extra.count;
    const counts =
      `${r.postgresDocuments} documents in Postgres, ${r.indexDocuments} in ${r.alias}`;
    lines.push(
      drift === 0
        ? `${r.index}: in sync — ${counts}`
        : `${r.index}: ${r.missing.count} missing, ${r.stale.count} stale, ${r.extra.count} extra — ${counts}`,
    );
    lines.push(...list("missing", r.missing), ...list("stale", r.stale), ...list("extra", r.extra));
    lines.push(...list("unchecked", r.unchecked));
    if (r.repaired) {
      lines.push(
        `  repaired: ${r.repaired.written} written, ${r.repaired.deleted} deleted, ${r.repaired.rejected} rejected, ${r.repaired.remaining} remaining`,
      );
    } else if (drift > 0) {
      lines.push("  run again with --repair to fix it");
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Runs verify as the command does; prints to stdout and returns the exit code. */
export async function runVerify(
  options: VerifyCommandOptions,
  logger: Logger,
  print: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<number> {
  const config = await loadConfigOrReport(options.config);
  if (!config) return ExitCode.Usage;
  const enabled = config.indexes.filter((i) => i.enabled);
  const selected = options.index === undefined
    ? enabled
    : enabled.filter((i) => i.name === options.index);
  if (selected.length === 0) {
    process.stderr.write(
      options.index === undefined
        ? `flusso: no enabled index in ${config.file}\n`
        : `flusso: no enabled index named "${options.index}" in ${config.file} (enabled: ${
          enabled.map((i) => i.name).join(", ") || "none"
        })\n`,
    );
    return ExitCode.Usage;
  }

  const sql = postgres(
    clientOptions(config.source.connection, { max: 2, applicationName: "flusso verify" }),
  );
  const opened = new Map<string, OpenSearchSink>();
  const outcomes: VerifyOutcome[] = [];
  try {
    const builder = await createPostgresDocumentBuilder({ sql, indexes: selected, logger });
    const sinks = new Map<string, OpenSearchSink>();
    const verifiable: IndexConfig[] = [];
    for (const index of selected) {
      const sinkConfig = config.sinks.find((s) => s.name === index.sink);
      if (sinkConfig === undefined || sinkConfig.type !== "opensearch") {
        outcomes.push({ index: index.name, error: `sink "${index.sink}" is not OpenSearch` });
        continue;
      }
      let sink = opened.get(sinkConfig.name);
      if (sink === undefined) {
        sink = createOpenSearchSink({ config: sinkConfig, prefix: config.prefix, logger });
        opened.set(sinkConfig.name, sink);
      }
      if (!(await indexExists(sink.client, aliasName(config.prefix, index.name)))) {
        outcomes.push({
          index: index.name,
          error: `alias "${
            aliasName(config.prefix, index.name)
          }" does not exist: run \`flusso sync\` first`,
        });
        continue;
      }
      // Repair writes through the sink, which must know the index's generations first.
      if (options.repair) await sink.ensure([indexMapping(index, sinkConfig)]);
      sinks.set(index.name, sink);
      verifiable.push(index);
    }
    const verifier = createVerifier({ config, sql, builder, sinks });
    for (const index of verifiable) {
      const report = await verifier.verify(index.name, {
        repair: options.repair,
        pageSize: options.pageSize,
      });
      outcomes.push({ index: index.name, report });
    }
  } catch (error) {
    logger.error("verify failed", { error });
    print(options.format === "json" ? `${JSON.stringify({ outcomes }, null, 2)}\n` : "");
    return ExitCode.Failure;
  } finally {
    for (const sink of opened.values()) await sink.close().catch(() => {});
    await sql.end({ timeout: 5 }).catch(() => {});
  }
  outcomes.sort((a, b) => a.index.localeCompare(b.index));
  print(
    options.format === "json"
      ? `${JSON.stringify({ outcomes }, null, 2)}\n`
      : formatVerifyHuman(outcomes),
  );
  const ok = outcomes.every((o) => "report" in o && o.report.inSync);
  return ok ? ExitCode.Ok : ExitCode.Failure;
}
