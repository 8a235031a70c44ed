/**
 * Knobs every benchmark reads from the environment, so a quick run and the full run use the
 * same code. Defaults are the sizes the benchmark issue asks for.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** `FLUSSO_BENCH_SCALE` (default 1): multiplies every scenario size; 0.1 is a quick run. */
export function benchScale(): number {
  const raw = process.env.FLUSSO_BENCH_SCALE;
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `FLUSSO_BENCH_SCALE must be a positive number, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** `size` times the scale, rounded, never below `min`. */
export function scaled(size: number, min = 1): number {
  return Math.max(min, Math.round(size * benchScale()));
}

/** A positive number from the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The repository root (bench/harness/../..). */
export const repoRoot: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The compiled binary under test: `FLUSSO_BENCH_BIN` or `dist/flusso`. */
export function flussoBinary(): string {
  return process.env.FLUSSO_BENCH_BIN ?? join(repoRoot, "dist", "flusso");
}

/** True when the binary exists at all (it may still lack `sync`; see flusso_process.ts). */
export function flussoBinaryExists(): boolean {
  return existsSync(flussoBinary());
}
