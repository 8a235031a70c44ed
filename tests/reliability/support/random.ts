/**
 * A small seeded PRNG (mulberry32) shared by the reliability suite, so every scenario is
 * repeatable from its seed: the workload's operations, the kill moments, the fault choices.
 */

/** A deterministic random source. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** A key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K;
}

/** A PRNG seeded with `seed` (any 32-bit integer). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => items[int(0, items.length - 1)],
    weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
      const entries = (Object.entries(weights) as [K, number][]).filter(([, w]) => w > 0);
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [k, w] of entries) {
        r -= w;
        if (r < 0) return k;
      }
      return entries[entries.length - 1][0];
    },
  };
}

/** The seed of a run: FLUSSO_RELIABILITY_SEED when set (to replay a failure), else `fallback`. */
export function runSeed(
  env: Readonly<Record<string, string | undefined>>,
  fallback: number,
): number {
  const raw = env.FLUSSO_RELIABILITY_SEED;
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    throw new RangeError(`FLUSSO_RELIABILITY_SEED must be an integer, got ${raw}`);
  }
  return n;
}
