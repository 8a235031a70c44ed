/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: it reads back
 * what `/metrics` serves and rejects anything a Prometheus server would reject (unknown
 * TYPE, a sample before its TYPE, a sample that belongs to no family, bad escapes, a family
 * declared twice, non-cumulative histogram buckets).
 */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
}

/** One metric family: its HELP, TYPE and samples. */
export interface MetricFamily {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  readonly help: string;
  readonly samples: Sample[];
}

/** A line the parser refused, with its number. */
export class PrometheusParseError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "PrometheusParseError";
  }
}

const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parses a whole exposition into families by name. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  const lines = text.split("\n");
  if (text.length > 0 && !text.endsWith("\n")) {
    throw new PrometheusParseError(lines.length, "the exposition must end with a newline");
  }
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, keyword, name, rest = ""] = m;
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) {
        throw new PrometheusParseError(n, `invalid metric name ${name}`);
      }
      if (keyword === "HELP") {
        if (helps.has(name)) throw new PrometheusParseError(n, `second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, n));
        const family = families.get(name);
        if (family) families.set(name, { ...family, help: helps.get(name)! });
        return;
      }
      if (!TYPES.has(rest)) throw new PrometheusParseError(n, `unknown TYPE ${rest}`);
      if (families.has(name)) throw new PrometheusParseError(n, `second TYPE for ${name}`);
      families.set(name, {
        name,
        type: rest as MetricFamily["type"],
        help: helps.get(name) ?? "",
        samples: [],
      });
      return;
    }
    const sample = parseSample(line, n);
    const family = familyOf(sample.name, families);
    if (!family) {
      throw new PrometheusParseError(n, `sample ${sample.name} has no preceding TYPE`);
    }
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws if absent. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const family = familyOf(name, families);
  const match = family?.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (!match) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return match.value;
}

function familyOf(
  sampleName: string,
  families: Map<string, MetricFamily>,
): MetricFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  if (!m) return undefined;
  const family = families.get(m[1]);
  if (!family) return undefined;
  if (family.type === "histogram") return family;
  if (family.type === "summary" && m[2] !== "bucket") return family;
  return undefined;
}

function parseSample(line: string, n: number): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new PrometheusParseError(n, `expected a metric name in ${line}`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (true) {
      rest = rest.trimStart();
      if (rest.startsWith("}")) {
        rest = rest.slice(1);
        break;
      }
      const label = LABEL.exec(rest);
      if (!label) throw new PrometheusParseError(n, `expected a label name in ${line}`);
      rest = rest.slice(label[0].length).trimStart();
      if (!rest.startsWith('="')) throw new PrometheusParseError(n, `expected =" in ${line}`);
      rest = rest.slice(2);
      let value = "";
      while (true) {
        if (rest.length === 0) throw new PrometheusParseError(n, `unterminated label value`);
        const c = rest[0];
        if (c === '"') {
          rest = rest.slice(1);
          break;
        }
        if (c === "\\") {
          const e = rest[1];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else throw new PrometheusParseError(n, `invalid escape \\${e} in a label value`);
          rest = rest.slice(2);
          continue;
        }
        value += c;
        rest = rest.slice(1);
      }
      if (label[0] in labels) throw new PrometheusParseError(n, `label ${label[0]} repeated`);
      labels[label[0]] = value;
      rest = rest.trimStart();
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw new PrometheusParseError(n, `expected , or }`);
    }
  }
  if (!/^\s/.test(rest)) throw new PrometheusParseError(n, `expected a space before the value`);
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2) {
    throw new PrometheusParseError(n, `expected a value and an optional timestamp`);
  }
  const value = parseFloatValue(parts[0], n);
  const timestamp = parts[1] === undefined ? undefined : Number(parts[1]);
  if (timestamp !== undefined && !Number.isInteger(timestamp)) {
    throw new PrometheusParseError(n, `invalid timestamp ${parts[1]}`);
  }
  return timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp };
}

function parseFloatValue(text: string, n: number): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new PrometheusParseError(n, `invalid value ${text}`);
  }
  return Number(text);
}

function unescapeHelp(text: string, n: number): string {
  return text.replace(/\\(.)/g, (_m, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new PrometheusParseError(n, `invalid escape \\${c} in HELP`);
  });
}

/** Buckets are cumulative, end in +Inf, and +Inf equals _count, per label set. */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  const keyOf = (labels: Readonly<Record<string, string>>) =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  for (const s of family.samples) {
    const key = keyOf(s.labels);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name === `${family.name}_bucket`) {
      if (s.labels.le === undefined) {
        throw new PrometheusParseError(0, `${family.name}_bucket without le`);
      }
      group.buckets.push([parseFloatValue(s.labels.le, 0), s.value]);
    } else if (s.name === `${family.name}_count`) group.count = s.value;
  }
  for (const [key, group] of groups) {
    const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) {
      throw new PrometheusParseError(0, `${family.name}${key} has no +Inf bucket`);
    }
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) {
        throw new PrometheusParseError(0, `${family.name}${key} buckets are not cumulative`);
      }
    }
    if (group.count !== undefined && group.count !== sorted.at(-1)![1]) {
      throw new PrometheusParseError(0, `${family.name}${key}: +Inf bucket differs from _count`);
    }
  }
}
