/**
 * Tunes the compiled binary's garbage collector for a long-running sync.
 *
 * JavaScriptCore (the engine of the Bun-compiled binary) lets its heap grow to twice the live
 * heap between collections for as long as the heap is small next to the machine's RAM. On a
 * machine with many GiB that is always: flusso allocates a short-lived object graph per
 * change, so a 30 MiB live heap peaked near 200 MiB of resident memory in the benchmarks.
 * Telling JSC the machine has `FORCED_RAM_BYTES` makes it use its smaller growth factors and
 * collect sooner, with no loss of throughput (bench/README.md, seventh pass).
 *
 * JSC reads its options from the environment once, before any JavaScript runs, so setting
 * `BUN_JSC_forceRAMSize` from inside the process is too late. The binary therefore replaces
 * itself once with `execve` (same PID, so systemd and signal handling are unaffected) with
 * the variable set. A value already in the environment is kept — `0` turns the tuning off —
 * and anything short of a compiled binary on Linux (Deno, `bun src/main.ts`, no libc) runs
 * unchanged.
 */
import process from "node:process";

/** The RAM size JavaScriptCore is told about: its heap heuristics scale with it. */
export const FORCED_RAM_BYTES = 256 * 1024 * 1024;

/** The environment variable JavaScriptCore reads the option from. */
export const FORCED_RAM_ENV = "BUN_JSC_forceRAMSize";

/** What re-executing needs to know about the running process. */
export interface ProcessFacts {
  readonly isCompiledBun: boolean;
  readonly platform: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Whether this process should re-execute itself with the tuning (a pure decision). */
export function needsHeapTuning(facts: ProcessFacts): boolean {
  return facts.isCompiledBun && facts.platform === "linux" &&
    facts.env[FORCED_RAM_ENV] === undefined;
}

/** The environment of the re-executed process: this one's plus the tuning. */
export function tunedEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && name !== FORCED_RAM_ENV) out.push(`${name}=${value}`);
  }
  out.push(`${FORCED_RAM_ENV}=${FORCED_RAM_BYTES}`);
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
 * when `needsHeapTuning`. Returns only when it did not (not needed, or `execve` failed: the
 * process then runs untuned, which costs memory, never correctness).
 */
export async function reexecWithHeapTuning(
  facts: ProcessFacts = currentProcessFacts(),
): Promise<void> {
  if (!needsHeapTuning(facts)) return;
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
