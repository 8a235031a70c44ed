/**
 * `flusso check --config F [--offline] [--format human|json]`: validates the config and
 * prints the resolved index mappings; unless offline, also compares it with the database
 * (tables, columns, types, keys, publication, replica identity, wal_level, role rights).
 * Exit 0 clean (warnings allowed), 1 findings with errors, 2 unusable config. The command's
 * definition is in check_command.ts.
 */
import process from "node:process";
import postgres from "postgres";
import { ConfigErrors, MissingSecretError } from "../config/errors.ts";
import { formatErrorsHuman, formatErrorsJson } from "../config/format.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/model.ts";
import type { IndexDefinition } from "../engine/ports.ts";
import { indexMapping } from "../model/mapping.ts";
import { readTables, serverFacts } from "../postgres/catalog.ts";
import { clientOptions, describeConnection } from "../postgres/connect.ts";
import { inspectPublication } from "../postgres/publication.ts";
import { checkAgainstCatalog, type Finding, tablesOfConfig } from "./check_findings.ts";
import { ExitCode } from "./exit_codes.ts";

/** Where the command writes and what it reads; injectable for tests. */
export interface CheckIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** stderr is a terminal: excerpts and colour in human error output. */
  readonly tty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The real input and output: stdout, stderr and the process environment. */
export const defaultCheckIo = (): CheckIo => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: Boolean(process.stderr.isTTY),
  env: process.env,
});

/** Runs the check; returns the exit code. */
export async function runCheck(
  options: { config: string; offline: boolean; format: "human" | "json" },
  io: CheckIo = defaultCheckIo(),
): Promise<number> {
  let config: Config;
  let unset: UnsetSecret[] = [];
  try {
    ({ config, unset } = await loadForCheck(options.config, io.env, options.offline));
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    if (options.format === "json") io.out(`${formatErrorsJson(error)}\n`);
    else io.err(`${formatErrorsHuman(error, { excerpt: io.tty, color: io.tty })}\n`);
    return ExitCode.Usage;
  }
  const mappings = config.indexes.map((index) => definitionOf(config, index.name));
  const findings = options.offline ? [] : await databaseFindings(config);
  const errors = findings.filter((f) => f.severity === "error").length;
  if (options.format === "json") {
    io.out(`${
      JSON.stringify(
        {
          config: config.file,
          offline: options.offline,
          unsetSecrets: unset,
          indexes: mappings,
          findings,
          errors,
          warnings: findings.length - errors,
        },
        null,
        2,
      )
    }\n`);
  } else {
    io.out(humanReport(config, mappings, findings, options.offline, unset));
  }
  return errors > 0 ? ExitCode.Failure : ExitCode.Ok;
}

/** An `{ env }` secret whose variable is unset, tolerated by an offline check. */
export interface UnsetSecret {
  readonly variable: string;
  readonly path: string;
}

/**
 * Loads the config. Offline, secrets only matter when flusso connects: a config whose only
 * errors are unset `{ env }` variables (a CI job checking configs has no production secrets)
 * is loaded again with placeholders in their place, and the variables are reported.
 */
async function loadForCheck(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  offline: boolean,
): Promise<{ config: Config; unset: UnsetSecret[] }> {
  try {
    return { config: await loadConfig(path, { env }), unset: [] };
  } catch (error) {
    if (!offline || !(error instanceof ConfigErrors)) throw error;
    const unset: UnsetSecret[] = [];
    for (const e of error.errors) {
      if (!(e instanceof MissingSecretError) || e.variable === undefined) throw error;
      unset.push({ variable: e.variable, path: e.path ?? "" });
    }
    const filled = { ...env };
    for (const u of unset) filled[u.variable] = placeholderFor(u.path);
    return { config: await loadConfig(path, { env: filled }), unset };
  }
}

/** A value that passes validation where `path` expects it; never used to connect. */
function placeholderFor(path: string): string {
  if (/connection_url$/.test(path)) return "postgres://offline@127.0.0.1:5432/offline";
  if (/\burl$/.test(path)) return "http://127.0.0.1:9200";
  return "offline-placeholder-0123456789abcdef0123456789";
}

function definitionOf(config: Config, name: string): IndexDefinition & { sink: string } {
  const index = config.indexes.find((i) => i.name === name)!;
  const sink = config.sinks.find((s) => s.name === index.sink)!;
  return { ...indexMapping(index, sink), sink: sink.name };
}

async function databaseFindings(config: Config): Promise<Finding[]> {
  const sql = postgres(clientOptions(config.source.connection, { max: 1 }));
  try {
    const tables = await readTables(sql, tablesOfConfig(config));
    const server = await serverFacts(sql);
    const publication = await inspectPublication(sql, config.source.publication);
    return checkAgainstCatalog(config, { server, tables, publication });
  } catch (error) {
    return [{
      severity: "error",
      code: "connection",
      message: `cannot inspect ${describeConnection(config.source.connection)}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    }];
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

function humanReport(
  config: Config,
  mappings: readonly (IndexDefinition & { sink: string })[],
  findings: readonly Finding[],
  offline: boolean,
  unset: readonly UnsetSecret[],
): string {
  const lines: string[] = [`${config.file}: config is valid (${config.indexes.length} indexes)`];
  for (const m of mappings) {
    lines.push("", `index ${m.index} → sink ${m.sink} (schema hash ${m.schemaHash})`);
    lines.push(JSON.stringify(m.body, null, 2));
  }
  lines.push("");
  if (offline) {
    lines.push("offline: the database was not checked");
    for (const u of unset) {
      lines.push(`offline: ${u.variable} (${u.path}) is not set; it is needed when flusso runs`);
    }
  } else if (findings.length === 0) {
    lines.push(`database ${describeConnection(config.source.connection)}: no findings`);
  } else {
    for (const f of findings) {
      lines.push(`${f.severity}: ${f.index ? `[${f.index}] ` : ""}${f.message}`);
      if (f.sql) lines.push(`  fix: ${f.sql}`);
    }
    const errors = findings.filter((f) => f.severity === "error").length;
    lines.push(
      `${errors} error${errors === 1 ? "" : "s"}, ${findings.length - errors} warning${
        findings.length - errors === 1 ? "" : "s"
      }`,
    );
  }
  return `${lines.join("\n")}\n`;
}
