import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRegistry, MetricDefinitionError, SECONDS_BUCKETS } from "../../src/ops/metrics.ts";
import {
  parsePrometheusText,
  PrometheusParseError,
  sampleValue,
} from "../support/prometheus_parser.ts";

describe("ops metrics", () => {
  it("renders_counters_gauges_and_histograms_that_parse_back_with_types", () => {
    const registry = createRegistry();
    const docs = registry.counter({
      name: "flusso_documents_built_total",
      help: "Documents built.",
      labelNames: ["index"],
    });
    const depth = registry.gauge({ name: "flusso_queue_depth", help: "Changes queued." });
    const flush = registry.histogram({
      name: "flusso_flush_duration_seconds",
      help: "Bulk flush duration.",
      labelNames: ["index"],
      buckets: SECONDS_BUCKETS,
    });
    docs.inc({ index: "users" });
    docs.inc({ index: "users" }, 4);
    docs.inc({ index: "orders" });
    depth.set(undefined, 17);
    depth.dec(undefined, 2);
    flush.observe({ index: "users" }, 0.003);
    flush.observe({ index: "users" }, 0.2);
    flush.observe({ index: "users" }, 100);

    const families = parsePrometheusText(registry.render());
    assert.equal(families.get("flusso_documents_built_total")?.type, "counter");
    assert.equal(families.get("flusso_documents_built_total")?.help, "Documents built.");
    assert.equal(families.get("flusso_queue_depth")?.type, "gauge");
    assert.equal(families.get("flusso_flush_duration_seconds")?.type, "histogram");
    assert.equal(sampleValue(families, "flusso_documents_built_total", { index: "users" }), 5);
    assert.equal(sampleValue(families, "flusso_documents_built_total", { index: "orders" }), 1);
    assert.equal(sampleValue(families, "flusso_queue_depth"), 15);
    const h = "flusso_flush_duration_seconds";
    assert.equal(sampleValue(families, `${h}_bucket`, { index: "users", le: "0.001" }), 0);
    assert.equal(sampleValue(families, `${h}_bucket`, { index: "users", le: "0.005" }), 1);
    assert.equal(sampleValue(families, `${h}_bucket`, { index: "users", le: "0.25" }), 2);
    assert.equal(sampleValue(families, `${h}_bucket`, { index: "users", le: "60" }), 2);
    assert.equal(sampleValue(families, `${h}_bucket`, { index: "users", le: "+Inf" }), 3);
    assert.equal(sampleValue(families, `${h}_count`, { index: "users" }), 3);
    assert.equal(sampleValue(families, `${h}_sum`, { index: "users" }), 100.203);
  });

  it("escapes_label_values_and_help_so_they_round_trip", () => {
    const registry = createRegistry();
    const errors = registry.counter({
      name: "flusso_errors_total",
      help: "Errors\nby kind \\ total",
      labelNames: ["kind"],
    });
    const nasty = 'a "quoted" \\ back\nslash';
    errors.inc({ kind: nasty });
    const families = parsePrometheusText(registry.render());
    assert.equal(families.get("flusso_errors_total")?.help, "Errors\nby kind \\ total");
    assert.equal(sampleValue(families, "flusso_errors_total", { kind: nasty }), 1);
  });

  it("declares_a_family_even_before_its_first_sample", () => {
    const registry = createRegistry();
    registry.counter({ name: "flusso_batches_total", help: "Batches." });
    const families = parsePrometheusText(registry.render());
    assert.equal(families.get("flusso_batches_total")?.samples.length, 0);
  });

  it("runs_collect_hooks_before_rendering", () => {
    const registry = createRegistry();
    const uptime = registry.gauge({ name: "flusso_uptime_seconds", help: "Uptime." });
    let t = 0;
    registry.onCollect(() => uptime.set(undefined, ++t));
    registry.render();
    assert.equal(sampleValue(parsePrometheusText(registry.render()), "flusso_uptime_seconds"), 2);
  });

  it("rejects_invalid_or_duplicate_definitions_and_wrong_labels", () => {
    const registry = createRegistry();
    assert.throws(() => registry.counter({ name: "bad-name", help: "" }), MetricDefinitionError);
    registry.counter({ name: "ok_total", help: "" });
    assert.throws(() => registry.gauge({ name: "ok_total", help: "" }), MetricDefinitionError);
    assert.throws(
      () => registry.histogram({ name: "h", help: "", labelNames: ["le"], buckets: [1] }),
      MetricDefinitionError,
    );
    const c = registry.counter({ name: "c_total", help: "", labelNames: ["index"] });
    assert.throws(() => c.inc(), MetricDefinitionError);
    assert.throws(() => c.inc({ index: "a" }, -1), MetricDefinitionError);
  });

  it("renders_special_float_values_in_prometheus_spelling", () => {
    const registry = createRegistry();
    const g = registry.gauge({ name: "g", help: "", labelNames: ["k"] });
    g.set({ k: "inf" }, Infinity);
    g.set({ k: "nan" }, NaN);
    const text = registry.render();
    assert.match(text, /^g\{k="inf"\} \+Inf$/m);
    assert.match(text, /^g\{k="nan"\} NaN$/m);
    const families = parsePrometheusText(text);
    assert.equal(sampleValue(families, "g", { k: "inf" }), Infinity);
  });
});

describe("prometheus text parser", () => {
  it("rejects_samples_without_a_type_and_malformed_lines", () => {
    assert.throws(() => parsePrometheusText("x 1\n"), PrometheusParseError);
    assert.throws(() => parsePrometheusText('# TYPE x gauge\nx{a="1} 1\n'), PrometheusParseError);
    assert.throws(() => parsePrometheusText("# TYPE x gauge\nx one\n"), PrometheusParseError);
    assert.throws(() => parsePrometheusText("# TYPE x gauge\nx 1"), PrometheusParseError);
    assert.throws(() => parsePrometheusText("# TYPE x wrong\n"), PrometheusParseError);
  });

  it("rejects_non_cumulative_histograms", () => {
    const text = [
      "# TYPE h histogram",
      'h_bucket{le="1"} 5',
      'h_bucket{le="2"} 3',
      'h_bucket{le="+Inf"} 5',
      "h_count 5",
      "h_sum 1",
      "",
    ].join("\n");
    assert.throws(() => parsePrometheusText(text), PrometheusParseError);
  });
});
