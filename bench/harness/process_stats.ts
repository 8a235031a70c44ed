/**
 * Spawns a child and measures it from /proc: peak resident memory (the kernel's VmHWM, so no
 * sample can miss a spike) and CPU time (utime + stime from /proc/<pid>/stat). Linux only.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

/** What /proc said about a process, last time we looked. */
export interface ProcessStats {
  /** Peak resident set size in bytes (VmHWM). */
  peakRssBytes: number;
  /** User + system CPU time in milliseconds. */
  cpuMs: number;
}

/** A spawned, measured child. */
export interface MeasuredChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** performance.now() when it was spawned. */
  readonly startedAt: number;
  /** Resolves when it exits, with the final stats (sampled just before exit). */
  readonly exited: Promise<{ code: number | null; signal: string | null; endedAt: number }>;
  /** The freshest stats (reads /proc now when the process is still alive). */
  stats(): ProcessStats;
}

const clockTicksPerSecond = 100; // USER_HZ on every Linux this runs on

/** Reads /proc/<pid> once; undefined when the process is gone. */
export function readProcessStats(pid: number): ProcessStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0,
      cpuMs: (ticks * 1000) / clockTicksPerSecond,
    };
  } catch {
    return undefined;
  }
}

/** CPU time this process (the bench harness, with any in-process emulator) has used, in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Spawns `command` and samples it every `sampleMs` so the last stats survive its exit
 * (VmHWM is monotonic; CPU time only grows).
 */
export function spawnMeasured(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
  sampleMs = 50,
): MeasuredChild {
  const startedAt = performance.now();
  const child = spawn(command, args, options);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${command}`);
  let last: ProcessStats = { peakRssBytes: 0, cpuMs: 0 };
  const sample = () => {
    const now = readProcessStats(pid);
    if (now) {
      last = {
        peakRssBytes: Math.max(last.peakRssBytes, now.peakRssBytes),
        cpuMs: Math.max(last.cpuMs, now.cpuMs),
      };
    }
    return last;
  };
  const timer = setInterval(sample, sampleMs);
  const exited = new Promise<{ code: number | null; signal: string | null; endedAt: number }>(
    (resolve) => {
      child.on("exit", (code, signal) => {
        const endedAt = performance.now();
        clearInterval(timer);
        resolve({ code, signal, endedAt });
      });
      child.on("error", () => {
        clearInterval(timer);
        resolve({ code: null, signal: null, endedAt: performance.now() });
      });
    },
  );
  return { child, pid, startedAt, exited, stats: sample };
}
