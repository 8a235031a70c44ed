/**
 * `flusso dlq list|replay|purge`: what operators do with quarantined documents. The dead-letter
 * store of every OpenSearch sink (or of `--sink`) is read; `replay` rebuilds each document from
 * current rows and writes it again, removing the entries that now succeed. The command's
 * definition is in dlq_command.ts.
 */
import process from "node:process";
import postgres from "postgres";
import { ConfigErrors } from "../config/errors.ts";
import { formatErrorsHuman } from "../config/format.ts";
import { loadConfig } from "../config/load.ts";
import type { Config, SinkConfig } from "../config/model.ts";
import type { DocKey, DocumentBuilder, IndexDefinition, SinkWrite } from "../engine/ports.ts";
import type { Lsn } from "../engine/change.ts";
import { HASHED_ID_PREFIX } from "../model/document_id.ts";
import { indexMapping } from "../model/mapping.ts";
import type { DeadLetter } from "../opensearch/dead_letters.ts";
import { createOpenSearchSink, type OpenSearchSink } from "../opensearch/sink.ts";
import { clientOptions } from "../postgres/connect.ts";
import { createPostgresDocumentBuilder } from "../postgres/document_builder.ts";
import { walInsertLsn } from "../postgres/wal_position.ts";
import { ExitCode } from "./exit_codes.ts";

/** What replay needs from the rest of flusso, for one configuration. */
export interface ReplaySupport {
  /** The index definitions (mappings) the sink ensures before writing. */
  readonly definitions: readonly IndexDefinition[];
  readonly builder: DocumentBuilder;
  /** The database's current WAL position, read before building: the version of replayed writes. */
  currentLsn(): Promise<Lsn>;
  /** The root key a document id stands for. */
  keyOf(index: string, id: string): DocKey;
  close(): Promise<void>;
}

/** The collaborators of the command, injectable for tests. */
export interface DlqDeps {
  loadConfig(path: string): Promise<Config>;
  createSink(config: Config, sink: SinkConfig): OpenSearchSink;
  /** Absent until the document builder is available: then `replay` reports it cannot run. */
  replaySupport?: (config: Config) => Promise<ReplaySupport>;
  print(line: string): void;
}

/** The sinks `--sink` selects (default: every OpenSearch sink). */
export function selectSinks(config: Config, name?: string): SinkConfig[] {
  const sinks = config.sinks.filter((s) => s.type === "opensearch");
  if (name === undefined) return sinks;
  const found = sinks.filter((s) => s.name === name);
  if (found.length === 0) {
    throw new Error(
      `no OpenSearch sink named ${JSON.stringify(name)} in ${config.file} (have: ${
        sinks.map((s) => s.name).join(", ") || "none"
      })`,
    );
  }
  return found;
}

/** Prints entries as JSON lines, each tagged with its sink. */
export async function listDeadLetters(
  sink: OpenSearchSink,
  sinkName: string,
  options: { readonly index?: string; readonly limit: number },
  print: (line: string) => void,
): Promise<number> {
  const entries = await sink.dlq.list({ index: options.index, limit: options.limit });
  for (const entry of entries) print(JSON.stringify({ sink: sinkName, ...entry }));
  return entries.length;
}

/** Result of a replay. */
export interface ReplayResult {
  readonly replayed: number;
  readonly stillRejected: number;
  /** Entries whose id cannot be turned back into a key (hashed ids); left in place. */
  readonly skipped?: number;
}

/** A dead-letter id that cannot be turned back into its root key. */
export class UnreplayableIdError extends Error {
  constructor(index: string, id: string, why: string) {
    super(`dead letter ${index}:${id} cannot be replayed: ${why}`);
    this.name = "UnreplayableIdError";
  }
}

/**
 * The root key behind a document id (see src/model/document_id.ts): a single-column key is
 * the id itself, a composite key its JSON array; hashed ids cannot be reversed.
 */
export function keyOfId(index: string, id: string, keyColumns: number): DocKey {
  if (id.startsWith(HASHED_ID_PREFIX)) {
    throw new UnreplayableIdError(index, id, "the id is a hash of a long key");
  }
  if (keyColumns === 1) return [id];
  let parsed: unknown;
  try {
    parsed = JSON.parse(id);
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) || parsed.length !== keyColumns ||
    !parsed.every((part) => typeof part === "string")
  ) {
    throw new UnreplayableIdError(index, id, `expected a JSON array of ${keyColumns} key texts`);
  }
  return parsed as string[];
}

/**
 * Rebuilds every listed entry from current rows and writes it with the current WAL position as
 * version (read before building, so a change committed meanwhile still wins). Entries written
 * now are removed; entries refused again are stored again with their new reason.
 */
export async function replayDeadLetters(
  sink: OpenSearchSink,
  support: ReplaySupport,
  entries: readonly DeadLetter[],
): Promise<ReplayResult> {
  if (entries.length === 0) return { replayed: 0, stillRejected: 0, skipped: 0 };
  // Read before building: a change committed meanwhile carries a higher LSN and still wins.
  const version: Lsn = await support.currentLsn();
  const byIndex = new Map<string, { entry: DeadLetter; key: DocKey }[]>();
  let skipped = 0;
  for (const entry of entries) {
    let key: DocKey;
    try {
      key = support.keyOf(entry.index, entry.id);
    } catch (error) {
      if (!(error instanceof UnreplayableIdError)) throw error;
      skipped++;
      continue;
    }
    byIndex.set(entry.index, [...(byIndex.get(entry.index) ?? []), { entry, key }]);
  }
  const writes: SinkWrite[] = [];
  const replayable: DeadLetter[] = [];
  for (const [index, group] of byIndex) {
    const built = await support.builder.build(index, group.map((g) => g.key));
    for (const doc of built) writes.push({ index, id: doc.id, version, document: doc.document });
    replayable.push(...group.map((g) => g.entry));
  }
  const rejections = await sink.write(writes, { caughtUp: true });
  const refused = new Set(rejections.map((r) => `${r.write.index}:${r.write.id}`));
  await sink.dlq.remove(replayable.filter((e) => !refused.has(`${e.index}:${e.id}`)));
  await sink.quarantine(rejections);
  return { replayed: replayable.length - refused.size, stillRejected: refused.size, skipped };
}

/** Runs `work` for each selected sink, closing every sink it opened. */
async function eachSink(
  deps: DlqDeps,
  options: { readonly config: string; readonly sink?: string },
  work: (sink: OpenSearchSink, name: string, config: Config) => Promise<void>,
): Promise<void> {
  let config: Config;
  try {
    config = await deps.loadConfig(options.config);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    process.stderr.write(
      `${formatErrorsHuman(error, { excerpt: Boolean(process.stderr.isTTY) })}\n`,
    );
    process.exitCode = ExitCode.Usage;
    return;
  }
  for (const sinkConfig of selectSinks(config, options.sink)) {
    const sink = deps.createSink(config, sinkConfig);
    try {
      await work(sink, sinkConfig.name, config);
    } finally {
      await sink.close();
    }
  }
}

/** Options every `flusso dlq` subcommand shares. */
export interface DlqOptions {
  readonly config: string;
  readonly sink?: string;
  readonly index?: string;
}

/** `flusso dlq list`: prints entries of every selected sink as JSON lines. */
export async function runDlqList(
  deps: DlqDeps,
  options: DlqOptions & { readonly limit: string },
): Promise<void> {
  await eachSink(deps, options, async (sink, name) => {
    await listDeadLetters(
      sink,
      name,
      { index: options.index, limit: Number(options.limit) },
      deps.print,
    );
  });
}

/** `flusso dlq replay`: rebuilds and writes again the entries of every selected sink. */
export async function runDlqReplay(
  deps: DlqDeps,
  options: DlqOptions & { readonly limit: string },
): Promise<void> {
  if (deps.replaySupport === undefined) {
    throw new Error("dlq replay is not available in this build (no document builder)");
  }
  const makeSupport = deps.replaySupport;
  await eachSink(deps, options, async (sink, name, config) => {
    const support = await makeSupport(config);
    try {
      const indexes = new Set(
        config.indexes.filter((i) => i.sink === name).map((i) => i.name),
      );
      await sink.ensure(support.definitions.filter((d) => indexes.has(d.index)));
      const entries = (await sink.dlq.list({ index: options.index, limit: Number(options.limit) }))
        .filter((e) => indexes.has(e.index));
      const result = await replayDeadLetters(sink, support, entries);
      deps.print(JSON.stringify({ sink: name, ...result }));
    } finally {
      await support.close();
    }
  });
}

/** `flusso dlq purge`: deletes the entries (of one index with `index`) of every selected sink. */
export async function runDlqPurge(deps: DlqDeps, options: DlqOptions): Promise<void> {
  await eachSink(deps, options, async (sink, name) => {
    const purged = await sink.dlq.purge({ index: options.index });
    deps.print(JSON.stringify({ sink: name, purged }));
  });
}

/** The real collaborators: config from disk, sinks as configured, Postgres for replay. */
export function defaultDlqDeps(): DlqDeps {
  return {
    loadConfig: (path) => loadConfig(path),
    createSink: (config, sink) => createOpenSearchSink({ config: sink, prefix: config.prefix }),
    replaySupport: createReplaySupport,
    print: (line) => process.stdout.write(`${line}\n`),
  };
}

/** Replay against the configured database: current rows, current WAL position. */
export async function createReplaySupport(config: Config): Promise<ReplaySupport> {
  const sql = postgres(
    clientOptions(config.source.connection, { max: 2, applicationName: "flusso dlq" }),
  );
  try {
    const indexes = config.indexes.filter((i) => i.enabled);
    const builder = await createPostgresDocumentBuilder({ sql, indexes });
    const sinks = new Map(config.sinks.map((s) => [s.name, s]));
    const keyColumns = new Map(indexes.map((i) => [i.name, i.model.primaryKey.length]));
    return {
      definitions: indexes.flatMap((i) => {
        const sink = sinks.get(i.sink);
        return sink === undefined ? [] : [indexMapping(i, sink)];
      }),
      builder,
      currentLsn: () => walInsertLsn(sql),
      keyOf: (index, id) => keyOfId(index, id, keyColumns.get(index) ?? 1),
      close: () => sql.end(),
    };
  } catch (error) {
    await sql.end();
    throw error;
  }
}
