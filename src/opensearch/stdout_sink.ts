/**
 * The stdout sink: one NDJSON envelope per operation, for `--dry-run` and piping into other
 * tools. It keeps its lifecycle in memory only, so every run backfills and then streams:
 * exactly what a dry run should show.
 */
import process from "node:process";
import type { IndexStatus, Rejection, Sink, SinkWrite } from "../engine/ports.ts";
import { formatLsn } from "../engine/change.ts";

/** One line the stdout sink prints for a write. */
export interface StdoutEnvelope {
  readonly sink: string;
  readonly index: string;
  readonly op: "index" | "delete";
  readonly id: string;
  /** The external version (commit LSN) as a decimal string: it may exceed 2^53. */
  readonly version: string;
  readonly document: Readonly<Record<string, unknown>> | null;
}

/** The envelope of one write. */
export function envelopeOf(sink: string, write: SinkWrite): StdoutEnvelope {
  return {
    sink,
    index: write.index,
    op: write.document === null ? "delete" : "index",
    id: write.id,
    version: write.version.toString(10),
    document: write.document,
  };
}

/** Options of `createStdoutSink`. */
export interface StdoutSinkOptions {
  /** The sink's name from config, printed in every envelope. */
  readonly name: string;
  /** Where a line goes (without its newline); default: process.stdout. */
  readonly write?: (line: string) => void;
}

/**
 * A sink that prints instead of storing. `ensure` reports every index unseeded at generation
 * 1 the first time (so the engine backfills); `markSeeded` and `startReindex` move that state
 * in memory; quarantined writes are printed with `op: "dead_letter"`.
 */
export function createStdoutSink(options: StdoutSinkOptions): Sink {
  const print = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const state = new Map<
    string,
    { seeded: boolean; generation: number; cursor?: readonly string[] }
  >();
  const statusOf = (index: string): IndexStatus => {
    const s = state.get(index) ?? { seeded: false, generation: 1 };
    return {
      index,
      seeded: s.seeded,
      generation: s.generation,
      ...(s.cursor !== undefined && !s.seeded ? { backfillCursor: s.cursor } : {}),
    };
  };
  return {
    ensure(indexes) {
      for (const definition of indexes) {
        if (!state.has(definition.index)) {
          state.set(definition.index, { seeded: false, generation: 1 });
        }
      }
      return Promise.resolve(indexes.map((definition) => statusOf(definition.index)));
    },
    write(writes) {
      for (const w of writes) print(JSON.stringify(envelopeOf(options.name, w)));
      return Promise.resolve([] as readonly Rejection[]);
    },
    quarantine(rejections) {
      for (const r of rejections) {
        print(JSON.stringify({
          sink: options.name,
          index: r.write.index,
          op: "dead_letter",
          id: r.write.id,
          version: r.write.version.toString(10),
          lsn: formatLsn(r.write.version),
          type: r.type,
          reason: r.reason,
        }));
      }
      return Promise.resolve();
    },
    saveBackfillCursor(index, key) {
      const s = state.get(index) ?? { seeded: false, generation: 1 };
      state.set(index, { ...s, cursor: [...key] });
      return Promise.resolve();
    },
    markSeeded(index) {
      const s = state.get(index) ?? { seeded: false, generation: 1 };
      state.set(index, { seeded: true, generation: s.generation });
      return Promise.resolve();
    },
    startReindex(index) {
      const s = state.get(index) ?? { seeded: true, generation: 0 };
      if (s.seeded) state.set(index, { seeded: false, generation: s.generation + 1 });
      return Promise.resolve();
    },
    close() {
      return Promise.resolve();
    },
  };
}
