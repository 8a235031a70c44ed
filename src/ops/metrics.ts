/**
 * A small metrics registry (counters, gauges, histograms with labels) and its Prometheus text
 * exposition (format 0.0.4). Written here rather than taken from prom-client because that
 * package is not a dependency and this must run on Deno, Bun and in the compiled binary.
 */

/** The Content-Type of `MetricRegistry.render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label values by label name. */
export type Labels<L extends string> = Readonly<Record<L, string>>;

/** What every metric is declared with. */
export interface MetricOptions<L extends string> {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total` by convention. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** A value that only goes up (restarts reset it; Prometheus' rate() copes). */
export interface Counter<L extends string = never> {
  inc(labels?: Labels<L>, by?: number): void;
  get(labels?: Labels<L>): number;
}

/** A value that goes up and down. */
export interface Gauge<L extends string = never> {
  set(labels: Labels<L> | undefined, value: number): void;
  inc(labels?: Labels<L>, by?: number): void;
  dec(labels?: Labels<L>, by?: number): void;
  get(labels?: Labels<L>): number;
}

/** A distribution of observations into cumulative buckets. */
export interface Histogram<L extends string = never> {
  observe(labels: Labels<L> | undefined, value: number): void;
  /** Snapshot of one series: per-bucket cumulative counts, sum and count. */
  get(labels?: Labels<L>): { readonly buckets: readonly number[]; sum: number; count: number };
}

/** Registers metrics and renders them all. */
export interface MetricRegistry {
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>;
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L>;
  histogram<L extends string = never>(
    options: MetricOptions<L> & { readonly buckets: readonly number[] },
  ): Histogram<L>;
  /** Runs before each render: the place to refresh gauges sampled on scrape (uptime, lag). */
  onCollect(hook: () => void): void;
  /** Every metric in Prometheus text format, families in registration order. */
  render(): string;
}

/** Default latency buckets in seconds: 1 ms … 60 s. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

/** A metric declared twice, or with an invalid name, label or value. */
export class MetricDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricDefinitionError";
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = "counter" | "gauge" | "histogram";
interface Family {
  readonly kind: Kind;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** One line-group per label set, rendered on demand. */
  lines(): string[];
}

/** A fresh, empty registry. */
export function createRegistry(): MetricRegistry {
  const families: Family[] = [];
  const hooks: (() => void)[] = [];

  const declare = (kind: Kind, options: MetricOptions<string>): readonly string[] => {
    if (!METRIC_NAME.test(options.name)) {
      throw new MetricDefinitionError(`invalid metric name ${JSON.stringify(options.name)}`);
    }
    if (families.some((f) => f.name === options.name)) {
      throw new MetricDefinitionError(`metric ${options.name} is registered twice`);
    }
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new MetricDefinitionError(
          `invalid label ${JSON.stringify(label)} on ${options.name}`,
        );
      }
      if (kind === "histogram" && label === "le") {
        throw new MetricDefinitionError(`histogram ${options.name} cannot use the label "le"`);
      }
    }
    return labelNames;
  };

  const add = (family: Family) => families.push(family);

  return {
    counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
      const labelNames = declare("counter", options);
      const series = new Series<number>(options.name, labelNames);
      add({
        kind: "counter",
        name: options.name,
        help: options.help,
        labelNames,
        lines: () =>
          series.entries().map(([key, value]) => `${options.name}${key} ${formatValue(value)}`),
      });
      return {
        inc(labels, by = 1) {
          if (!(by >= 0)) {
            throw new MetricDefinitionError(`counter ${options.name} cannot go down (by ${by})`);
          }
          series.update(labels, 0, (v) => v + by);
        },
        get: (labels) => series.read(labels) ?? 0,
      };
    },

    gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
      const labelNames = declare("gauge", options);
      const series = new Series<number>(options.name, labelNames);
      add({
        kind: "gauge",
        name: options.name,
        help: options.help,
        labelNames,
        lines: () =>
          series.entries().map(([key, value]) => `${options.name}${key} ${formatValue(value)}`),
      });
      return {
        set: (labels, value) => series.update(labels, 0, () => value),
        inc: (labels, by = 1) => series.update(labels, 0, (v) => v + by),
        dec: (labels, by = 1) => series.update(labels, 0, (v) => v - by),
        get: (labels) => series.read(labels) ?? 0,
      };
    },

    histogram<L extends string = never>(
      options: MetricOptions<L> & { readonly buckets: readonly number[] },
    ): Histogram<L> {
      const labelNames = declare("histogram", options);
      const bounds = [...options.buckets].sort((a, b) => a - b);
      if (
        bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || b === bounds[i - 1])
      ) {
        throw new MetricDefinitionError(
          `histogram ${options.name} needs distinct finite buckets`,
        );
      }
      interface State {
        counts: number[];
        sum: number;
        count: number;
      }
      const series = new Series<State>(options.name, labelNames);
      add({
        kind: "histogram",
        name: options.name,
        help: options.help,
        labelNames,
        lines: () =>
          series.entries().flatMap(([key, state, labels]) => {
            const lines: string[] = [];
            let cumulative = 0;
            bounds.forEach((bound, i) => {
              cumulative += state.counts[i];
              const le = formatLabels([...labels, ["le", formatValue(bound)]]);
              lines.push(`${options.name}_bucket${le} ${cumulative}`);
            });
            const inf = formatLabels([...labels, ["le", "+Inf"]]);
            lines.push(`${options.name}_bucket${inf} ${state.count}`);
            lines.push(`${options.name}_sum${key} ${formatValue(state.sum)}`);
            lines.push(`${options.name}_count${key} ${state.count}`);
            return lines;
          }),
      });
      const fresh = (): State => ({ counts: bounds.map(() => 0), sum: 0, count: 0 });
      return {
        observe(labels, value) {
          if (Number.isNaN(value)) return;
          series.update(labels, fresh(), (state) => {
            const i = bounds.findIndex((b) => value <= b);
            if (i >= 0) state.counts[i]++;
            state.sum += value;
            state.count++;
            return state;
          });
        },
        get(labels) {
          const state = series.read(labels) ?? fresh();
          let cumulative = 0;
          return {
            buckets: state.counts.map((c) => (cumulative += c)),
            sum: state.sum,
            count: state.count,
          };
        },
      };
    },

    onCollect(hook) {
      hooks.push(hook);
    },

    render() {
      for (const hook of hooks) hook();
      const out: string[] = [];
      for (const family of families) {
        out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
        out.push(`# TYPE ${family.name} ${family.kind}`);
        out.push(...family.lines());
      }
      return out.length === 0 ? "" : `${out.join("\n")}\n`;
    },
  };
}

/** The values of one metric, keyed by its rendered label set. */
class Series<V> {
  readonly #values = new Map<string, { value: V; labels: [string, string][] }>();
  constructor(readonly name: string, readonly labelNames: readonly string[]) {}

  update(labels: Readonly<Record<string, string>> | undefined, initial: V, fn: (v: V) => V) {
    const pairs = this.#pairs(labels);
    const key = formatLabels(pairs);
    const entry = this.#values.get(key);
    if (entry) entry.value = fn(entry.value);
    else this.#values.set(key, { value: fn(initial), labels: pairs });
  }

  read(labels: Readonly<Record<string, string>> | undefined): V | undefined {
    return this.#values.get(formatLabels(this.#pairs(labels)))?.value;
  }

  entries(): [string, V, [string, string][]][] {
    return [...this.#values].map(([key, { value, labels }]) => [key, value, labels]);
  }

  #pairs(labels: Readonly<Record<string, string>> | undefined): [string, string][] {
    const given = labels ?? {};
    const names = Object.keys(given);
    if (
      names.length !== this.labelNames.length || names.some((n) => !this.labelNames.includes(n))
    ) {
      throw new MetricDefinitionError(
        `metric ${this.name} takes labels [${this.labelNames.join(", ")}], got [${
          names.join(", ")
        }]`,
      );
    }
    return this.labelNames.map((n) => [n, String(given[n])]);
  }
}

function formatLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return "";
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** Label values escape backslash, double quote and newline. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Prometheus sample values: Go float syntax, with +Inf, -Inf and NaN spelled out. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
