/**
 * Tunes JavaScriptCore (the engine of the Bun-compiled binary) for a long-running sync.
 *
 * - **Heap growth.** JSC lets its heap grow to twice the live heap between collections for as
 *   long as the heap is small next to the machine's RAM. On a machine with many GiB that is
 *   always: flusso allocates a short-lived object graph per change, so a 30 MiB live heap peaked
 *   near 200 MiB of resident memory in the benchmarks. Telling JSC the machine has 256 MiB makes
 *   it use its smaller growth factors and collect sooner, with no loss of throughput
 *   (bench/README.md, seventh pass).
 * - **No FTL tier.** JSC's fourth tier compiles hot functions again on background threads. On
 *   flusso's work (bytes, strings, maps) its code ran no faster than the third tier's over
 *   backfills of 4,000,000 rows, and compiling it cost ≈ 0.5 s of CPU that competes with the
 *   pipeline for the cores (bench/README.md, tenth pass).
 *
 * JSC reads its options from the environment once, before any JavaScript runs, so setting them
 * from inside the process is too late. The binary therefore replaces itself once with `execve`
 * (same PID, so systemd and signal handling are unaffected) with the variables set. A value
 * already in the environment is kept — `BUN_JSC_forceRAMSize=0` turns the heap tuning off,
 * `BUN_JSC_useFTLJIT=true` brings the tier back — and anything short of a compiled binary on
 * Linux (Deno, `bun src/main.ts`, no libc) runs unchanged.
 */
import process from "node:process";

/**
 * The JavaScriptCore options flusso sets, as the environment variables JSC reads them from,
 * each unless the environment already has it.
 */
export const JSC_TUNING: Readonly<Record<string, string>> = {
  /** The RAM size JSC is told about: its heap heuristics scale with it (256 MiB). */
  BUN_JSC_forceRAMSize: String(256 * 1024 * 1024),
  BUN_JSC_useFTLJIT: "false",
};

/** What re-executing needs to know about the running process. */
export interface ProcessFacts {
  readonly isCompiledBun: boolean;
  readonly platform: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Whether this process should re-execute itself with the tuning (a pure decision): only a
 * compiled binary on Linux, and only while one of the variables is unset — after the
 * re-execution every one is set, so it happens at most once.
 */
export function needsJscTuning(facts: ProcessFacts): boolean {
  return facts.isCompiledBun && facts.platform === "linux" &&
    Object.keys(JSC_TUNING).some((name) => facts.env[name] === undefined);
}

/** The environment of the re-executed process: this one's, plus each tuning it lacks. */
export function tunedEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) out.push(`${name}=${value}`);
  }
  for (const [name, value] of Object.entries(JSC_TUNING)) {
    if (env[name] === undefined) out.push(`${name}=${value}`);
  }
  return out;
}

/** The facts of this process. */
export function currentProcessFacts(): ProcessFacts {
  // A compiled Bun binary runs its modules from Bun's embedded file system.
  const isCompiledBun = typeof (globalThis as { Bun?: unknown }).Bun === "object" &&
    import.meta.url.includes("$bunfs");
  return { isCompiledBun, platform: process.platform, env: process.env };
}

/** The slice of `bun:ffi` used here. */
interface Ffi {
  dlopen(
    path: string,
    symbols: { execve: { args: string[]; returns: string } },
  ): { symbols: { execve(path: unknown, argv: unknown, envp: unknown): number } };
  ptr(view: ArrayBufferView): number;
}

/**
 * Replaces this process with the same binary, arguments and environment plus the tuning,
 * when `needsJscTuning`. Returns only when it did not (not needed, or `execve` failed: the
 * process then runs untuned, which costs memory, never correctness).
 */
export async function reexecWithJscTuning(
  facts: ProcessFacts = currentProcessFacts(),
): Promise<void> {
  if (!needsJscTuning(facts)) return;
  try {
    // A computed specifier: Deno type-checks this file and has no `bun:ffi`.
    const ffi = await import(["bun", "ffi"].join(":")) as Ffi;
    const libc = ffi.dlopen("libc.so.6", {
      execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    });
    // The buffers must stay referenced until execve: the pointer arrays point into them.
    const strings: Uint8Array[] = [];
    const cString = (text: string) => {
      const bytes = new TextEncoder().encode(`${text}\0`);
      strings.push(bytes);
      return bytes;
    };
    const pointers = (texts: readonly string[]) => {
      const array = new BigUint64Array(texts.length + 1);
      texts.forEach((text, i) => (array[i] = BigInt(ffi.ptr(cString(text)))));
      return array;
    };
    const path = cString(process.execPath);
    // argv[1] of a compiled binary is its embedded entry module; the user's arguments follow.
    const argv = pointers([process.execPath, ...process.argv.slice(2)]);
    const envp = pointers(tunedEnvironment(facts.env));
    libc.symbols.execve(ffi.ptr(path), ffi.ptr(argv), ffi.ptr(envp));
    void strings;
  } catch {
    // No libc or no FFI: run untuned.
  }
}
