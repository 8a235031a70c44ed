import type { Benchmark } from "./harness/suite.ts";

/** Every benchmark `make bench` runs, in order. */
export const benchmarks: Benchmark[] = [];
