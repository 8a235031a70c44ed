import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger, defaultLogFormat, useColor } from "../../src/ops/log_writer.ts";
import { redactText, sanitize } from "../../src/ops/redact.ts";
import { Secret } from "../../src/config/secret.ts";

const NOW = new Date("2026-11-28T10:11:12.345Z");

function capture(format: "json" | "pretty", color = false, level: "debug" | "info" = "debug") {
  const lines: string[] = [];
  const logger = createLogger({
    format,
    level,
    color,
    write: (l) => lines.push(l),
    now: () => NOW,
  });
  return { logger, lines };
}

describe("ops log writer", () => {
  it("writes_one_json_object_per_line_with_time_level_msg_and_fields", () => {
    const { logger, lines } = capture("json");
    logger.info("flushed", { index: "users", docs: 3 });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0].includes("\n"));
    assert.deepEqual(JSON.parse(lines[0]), {
      time: "2026-11-28T10:11:12.345Z",
      level: "info",
      msg: "flushed",
      index: "users",
      docs: 3,
    });
  });

  it("drops_lines_below_the_configured_level", () => {
    const { logger, lines } = capture("json", false, "info");
    logger.debug("hidden");
    logger.info("shown");
    logger.warn("shown");
    logger.error("shown");
    assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["info", "warn", "error"]);
  });

  it("child_loggers_add_their_fields_to_every_line", () => {
    const { logger, lines } = capture("json");
    const child = logger.child({ index: "users" }).child({ table: "public.users" });
    child.warn("slow", { ms: 5 });
    const line = JSON.parse(lines[0]);
    assert.equal(line.index, "users");
    assert.equal(line.table, "public.users");
    assert.equal(line.ms, 5);
  });

  it("never_lets_a_field_override_time_level_or_msg", () => {
    const { logger, lines } = capture("json");
    logger.info("real", { msg: "fake", level: "error", time: "x" });
    const line = JSON.parse(lines[0]);
    assert.equal(line.msg, "real");
    assert.equal(line.level, "info");
    assert.equal(line.field_msg, "fake");
  });

  it("redacts_secret_instances_and_secret_named_fields", () => {
    const { logger, lines } = capture("json");
    logger.info("connect", {
      password: "hunter2",
      token: new Secret("tok-123"),
      nested: { authorization: "Bearer abcdef", apiKey: "k-999", fine: new Secret("s3") },
      list: [new Secret("in-list")],
    });
    const text = lines[0];
    for (const leaked of ["hunter2", "tok-123", "abcdef", "k-999", 's3"', "in-list"]) {
      assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`);
    }
    const line = JSON.parse(text);
    assert.equal(line.password, "[redacted]");
    assert.equal(line.nested.fine, "[redacted]");
  });

  it("strips_credentials_from_urls_in_messages_and_errors", () => {
    const { logger, lines } = capture("json");
    const error = new Error("could not connect to postgres://flusso:s3cr%40t@db:5432/app", {
      cause: new Error("password=topsecret host=db"),
    });
    logger.error("connect to https://admin:pa@ss@search:9200/ failed", { error });
    const text = lines[0];
    for (const leaked of ["s3cr", "topsecret", "pa@ss", "admin:"]) {
      assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`);
    }
    assert.ok(text.includes("postgres://[redacted]@db:5432/app"));
    assert.ok(text.includes("https://[redacted]@search:9200/"));
  });

  it("serialises_errors_with_name_message_context_and_cause", () => {
    const { logger, lines } = capture("json");
    class BuildError extends Error {
      constructor(readonly index: string, readonly lsn: bigint, options?: ErrorOptions) {
        super(`cannot build ${index}`, options);
        this.name = "BuildError";
      }
    }
    logger.error("build failed", {
      error: new BuildError("users", 0x16B374D848n, { cause: new TypeError("bad row") }),
    });
    const { error } = JSON.parse(lines[0]);
    assert.equal(error.name, "BuildError");
    assert.equal(error.message, "cannot build users");
    assert.equal(error.index, "users");
    assert.equal(error.lsn, "16/B374D848");
    assert.deepEqual(error.cause, { name: "TypeError", message: "bad row" });
    assert.equal(error.stack, undefined);
  });

  it("formats_bigint_lsn_fields_like_postgres_and_survives_cycles", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const { logger, lines } = capture("json");
    logger.info("x", { lsn: 0x1_0000_00FFn, count: 12n, cyclic });
    const line = JSON.parse(lines[0]);
    assert.equal(line.lsn, "1/FF");
    assert.equal(line.count, "12");
    assert.equal(line.cyclic.self, "[circular]");
  });

  it("pretty_lines_are_readable_and_uncoloured_without_color", () => {
    const { logger, lines } = capture("pretty", false);
    logger.warn("queue full", { index: "users", reason: "two words", error: new Error("boom") });
    assert.equal(
      lines[0],
      '10:11:12.345 WARN  queue full index=users reason="two words" error="Error: boom"',
    );
    assert.ok(!lines[0].includes("\x1b["));
  });

  it("pretty_lines_use_ansi_colour_when_asked", () => {
    const { logger, lines } = capture("pretty", true);
    logger.error("x");
    assert.ok(lines[0].includes("\x1b[31m"));
  });

  it("pretty_lines_redact_secrets_too", () => {
    const { logger, lines } = capture("pretty", false);
    logger.info("url postgres://u:pw@h/db", { token: "abc", dsn: "postgres://u:pw2@h/db" });
    assert.ok(!lines[0].includes("pw"), lines[0]);
    assert.ok(!lines[0].includes("abc"), lines[0]);
  });

  it("a_throwing_sink_does_not_throw_into_the_caller", () => {
    const logger = createLogger({
      format: "json",
      level: "info",
      write: () => {
        throw new Error("EPIPE");
      },
    });
    logger.error("still fine");
  });

  it("chooses_json_off_a_terminal_and_pretty_on_one", () => {
    assert.equal(defaultLogFormat(false), "json");
    assert.equal(defaultLogFormat(undefined), "json");
    assert.equal(defaultLogFormat(true), "pretty");
  });

  it("honours_no_color_and_force_color", () => {
    assert.equal(useColor(true, {}), true);
    assert.equal(useColor(false, {}), false);
    assert.equal(useColor(true, { NO_COLOR: "1" }), false);
    assert.equal(useColor(true, { NO_COLOR: "" }), true);
    assert.equal(useColor(false, { FORCE_COLOR: "1" }), true);
    assert.equal(useColor(true, { TERM: "dumb" }), false);
  });
});

describe("ops redact", () => {
  it("masks_libpq_passwords_bearer_tokens_and_url_userinfo", () => {
    assert.equal(
      redactText("host=db password='a b' user=x"),
      "host=db password=[redacted] user=x",
    );
    assert.equal(
      redactText("Authorization: Bearer abc.def-123"),
      "Authorization: Bearer [redacted]",
    );
    assert.equal(redactText("see https://example.com/a@b"), "see https://example.com/a@b");
    assert.equal(redactText("postgres://u@h/db"), "postgres://[redacted]@h/db");
  });

  it("leaves_prose_about_bearer_tokens_alone", () => {
    assert.equal(redactText("needs a bearer token"), "needs a bearer token");
  });

  it("keeps_ordinary_values_intact", () => {
    const date = new Date("2026-01-01T00:00:00Z");
    assert.deepEqual(sanitize({ a: [1, "x", true, null], d: date, u: undefined }), {
      a: [1, "x", true, null],
      d: "2026-01-01T00:00:00.000Z",
    });
    assert.equal(sanitize(Infinity), "Infinity");
  });
});
