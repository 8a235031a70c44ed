/** Durations, sizes, nearest-key suggestions, cron checks and error formatting. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DurationFormatError, parseDuration } from "../../src/config/duration.ts";
import { parseSize, SizeFormatError } from "../../src/config/size.ts";
import { editDistance, nearest } from "../../src/config/suggest.ts";
import { cronProblem } from "../../src/config/cron.ts";
import { ConfigErrors, UnknownKeyError } from "../../src/config/errors.ts";
import { formatErrorsHuman, formatErrorsJson, redactLine } from "../../src/config/format.ts";
import { parseConnectionUrl } from "../../src/config/connection.ts";

describe("config units", () => {
  it("parses_durations_with_units_and_refuses_bare_numbers", () => {
    assert.equal(parseDuration("50ms"), 50);
    assert.equal(parseDuration("10s"), 10_000);
    assert.equal(parseDuration("1.5m"), 90_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1d"), 86_400_000);
    assert.throws(() => parseDuration(50), DurationFormatError);
    assert.throws(() => parseDuration("50 msec"), /expected a number followed by ms, s, m, h or d/);
  });

  it("parses_sizes_in_binary_and_decimal_units", () => {
    assert.equal(parseSize("16MiB"), 16 * 1024 * 1024);
    assert.equal(parseSize("10MB"), 10_000_000);
    assert.equal(parseSize("512KiB"), 512 * 1024);
    assert.equal(parseSize("1GiB"), 1024 ** 3);
    assert.equal(parseSize(4096), 4096);
    assert.throws(() => parseSize("16 megabytes"), SizeFormatError);
    assert.throws(() => parseSize(-1), SizeFormatError);
  });

  it("suggests_the_nearest_key_only_when_plausible", () => {
    assert.equal(editDistance("colum", "column"), 1);
    assert.equal(editDistance("tabel", "table"), 1, "a transposition is one edit");
    assert.equal(nearest("tiemout_secs", ["timeout_secs", "max_retries"]), "timeout_secs");
    assert.equal(nearest("zzz", ["timeout_secs", "max_retries"]), undefined);
  });

  it("accepts_croner_schedules_and_explains_bad_ones", () => {
    assert.equal(cronProblem("0 */6 * * *"), undefined);
    assert.equal(cronProblem("0 3 * * 0"), undefined);
    assert.match(cronProblem("61 * * * *") ?? "", /minute/);
  });

  it("prints_file_line_col_with_a_caret_excerpt_and_as_json", () => {
    const errors = new ConfigErrors(
      [
        new UnknownKeyError('unknown key "colum" in fields[0]; did you mean "column"?', {
          file: "a.schema.yml",
          position: { line: 2, column: 5 },
          suggestion: "column",
        }),
      ],
      new Map([["a.schema.yml", "fields:\n  - colum: x\n"]]),
    );
    const human = formatErrorsHuman(errors, { excerpt: true });
    assert.equal(
      human,
      'a.schema.yml:2:5: error: unknown key "colum" in fields[0]; did you mean "column"?\n' +
        "   2 |   - colum: x\n" +
        "     |     ^\n" +
        "1 config error; nothing was started",
    );
    const json = JSON.parse(formatErrorsJson(errors));
    assert.deepEqual(json.errors[0], {
      code: "unknown_key",
      file: "a.schema.yml",
      line: 2,
      column: 5,
      message: 'unknown key "colum" in fields[0]; did you mean "column"?',
      suggestion: "column",
    });
  });

  it("redacts_secrets_in_excerpt_lines", () => {
    assert.equal(redactLine('password = "hunter2"'), 'password = "[redacted]"');
    assert.equal(
      redactLine('connection_url = "postgres://u:pw@h/db"'),
      'connection_url = "[redacted]"',
    );
    assert.equal(redactLine("url: postgres://u:pw@h/db"), "url: postgres://u:[redacted]@h/db");
    assert.equal(redactLine("token: abc"), "token: [redacted]");
  });

  it("parses_connection_urls_without_echoing_them_in_errors", () => {
    const c = parseConnectionUrl("postgres://flusso:s3cret@db.local:6543/app?sslmode=verify-full");
    assert.equal(c.host, "db.local");
    assert.equal(c.port, 6543);
    assert.equal(c.user, "flusso");
    assert.equal(c.password?.reveal(), "s3cret");
    assert.equal(c.sslmode, "verify-full");
    assert.throws(
      () => parseConnectionUrl("postgres://u:s3cret@h/db?sslmode=sometimes"),
      (e: Error) => !e.message.includes("s3cret") && /sslmode/.test(e.message),
    );
  });
});
