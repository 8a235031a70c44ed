/**
 * The buffer of one transaction's changes until its commit arrives. Small transactions stay
 * in memory; past `memoryLimitBytes` (and always, for streamed transactions) the changes go to
 * an NDJSON temp file, so a transaction of any size costs bounded memory. The file is replayed
 * on commit and deleted on commit or abort.
 */
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from "node:fs";
import { Buffer } from "node:buffer";
import { tmpdir } from "node:os";
import process from "node:process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { PendingChange } from "./to_changes.ts";

/** A position in the buffer to roll back to (a subtransaction's first change). */
export interface BufferMark {
  readonly count: number;
}

/** One transaction's changes, in order. */
export interface TransactionBuffer {
  /** Number of changes held. */
  readonly count: number;
  /** Bytes held in memory (0 once spilled). */
  readonly memoryBytes: number;
  /** Whether the changes live in a temp file. */
  readonly spilled: boolean;
  push(change: PendingChange): void;
  /** The current end, to `truncate` back to when a subtransaction aborts. */
  mark(): BufferMark;
  /** Drops every change after `mark`. */
  truncate(mark: BufferMark): void;
  /**
   * The changes in order, in runs of at most `REPLAY_RUN` (reads the file back when spilled).
   * Runs, not single changes: each step of an async iteration costs about as much as decoding
   * a change, so the consumer takes a run per step.
   */
  replay(): AsyncIterable<readonly PendingChange[]>;
  /** Releases memory and deletes the file. Idempotent. */
  discard(): void;
}

/** Where spill files go and when a buffer spills. */
export interface SpillOptions {
  /** In-memory bytes before spilling; 0 spills from the first change. */
  readonly memoryLimitBytes: number;
  /** Directory for spill files; default: a fresh directory under the OS temp dir. */
  readonly directory?: string;
}

const WRITE_CHUNK = 64 * 1024;

/**
 * Most changes per run of `replay()`. Capture holds one run besides its queue, so a run stays
 * small (changes carry only key columns); yet an async step per run costs little next to the
 * run's own work.
 */
export const REPLAY_RUN = 256;

/** A new, empty transaction buffer. */
export function createTransactionBuffer(options: SpillOptions): TransactionBuffer {
  let memory: PendingChange[] = [];
  let memoryBytes = 0;
  let count = 0;
  let file: { dir: string; path: string; fd: number; bytes: number; pending: string } | undefined;
  // change count → byte offset in the file, for marks (filled in when spilling).
  const markOffsets = new Map<number, number | undefined>();

  function flush(): void {
    if (!file || file.pending.length === 0) return;
    const data = Buffer.from(file.pending, "utf8");
    let written = 0;
    // Explicit positions: after a truncate the fd's own offset would point past the end.
    while (written < data.length) {
      written += writeSync(file.fd, data, written, data.length - written, file.bytes + written);
    }
    file.bytes += data.length;
    file.pending = "";
  }

  function append(change: PendingChange, index: number): void {
    if (!file) return;
    if (markOffsets.has(index)) {
      flush();
      markOffsets.set(index, file.bytes);
    }
    file.pending += JSON.stringify(change) + "\n";
    if (file.pending.length >= WRITE_CHUNK) flush();
  }

  function spill(): void {
    const dir = options.directory ?? mkdtempSync(join(tmpdir(), "flusso-spill-"));
    const path = join(
      dir,
      `tx-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.ndjson`,
    );
    file = { dir, path, fd: openSync(path, "w+", 0o600), bytes: 0, pending: "" };
    memory.forEach((change, i) => append(change, i));
    memory = [];
    memoryBytes = 0;
  }

  return {
    get count() {
      return count;
    },
    get memoryBytes() {
      return memoryBytes;
    },
    get spilled() {
      return file !== undefined;
    },
    push(change) {
      if (!file && memoryBytes + change.size > options.memoryLimitBytes) spill();
      if (file) append(change, count);
      else {
        memory.push(change);
        memoryBytes += change.size;
      }
      count++;
    },
    mark() {
      if (file) {
        flush();
        markOffsets.set(count, file.bytes);
      } else markOffsets.set(count, undefined);
      return { count };
    },
    truncate(mark) {
      if (mark.count >= count) return;
      if (file) {
        flush();
        const offset = markOffsets.get(mark.count);
        if (offset === undefined) throw new RangeError(`unknown buffer mark ${mark.count}`);
        ftruncateSync(file.fd, offset);
        file.bytes = offset;
      } else {
        memory.length = mark.count;
        memoryBytes = memory.reduce((n, c) => n + c.size, 0);
      }
      for (const at of markOffsets.keys()) if (at > mark.count) markOffsets.delete(at);
      count = mark.count;
    },
    async *replay() {
      if (!file) {
        // Runs are copies: a consumer may keep one after `discard()` empties the buffer.
        for (let i = 0; i < memory.length; i += REPLAY_RUN) yield memory.slice(i, i + REPLAY_RUN);
        return;
      }
      flush();
      if (file.bytes === 0) return;
      const input = createReadStream(file.path, { encoding: "utf8", end: file.bytes - 1 });
      const lines = createInterface({ input, crlfDelay: Infinity });
      try {
        let run: PendingChange[] = [];
        for await (const line of lines) {
          if (line.length === 0) continue;
          run.push(JSON.parse(line) as PendingChange);
          if (run.length >= REPLAY_RUN) {
            yield run;
            run = [];
          }
        }
        if (run.length > 0) yield run;
      } finally {
        lines.close();
        input.destroy();
      }
    },
    discard() {
      memory = [];
      memoryBytes = 0;
      if (file) {
        const { fd, path, dir } = file;
        file = undefined;
        try {
          closeSync(fd);
        } catch { /* already closed */ }
        rmSync(path, { force: true });
        if (!options.directory) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
