import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransientSinkError } from "../../src/engine/ports.ts";
import { createBodyPool } from "../../src/opensearch/body_pool.ts";
import { versionedOperation } from "../../src/opensearch/bulk_body.ts";
import { type BulkSend, writeBulk } from "../../src/opensearch/bulk_writer.ts";
import { SinkRequestError } from "../../src/opensearch/errors.ts";

const op = (id: string, document: Record<string, unknown> | null = { id }) =>
  versionedOperation("t", { index: "users", id, version: 10n, document });

const ids = (body: string) =>
  body.trim().split("\n").flatMap((line) => {
    const parsed = JSON.parse(line);
    const action = parsed.index ?? parsed.delete;
    return action ? [action._id as string] : [];
  });

const ok = (body: string) => ({
  errors: false,
  items: ids(body).map(() => ({ index: { status: 201, result: "created" } })),
});

const httpError = (statusCode: number) =>
  Object.assign(new Error(`HTTP ${statusCode}`), { name: "ResponseError", statusCode });

/** What a test's fake `_bulk` endpoint sees: the body as text. */
type TextSend = (body: string, options: { readonly refresh: boolean }) => Promise<unknown>;

function options(
  send: TextSend,
  extra: { maxRetries?: number; batchSize?: number; maxBytes?: number } = {},
) {
  const sleeps: number[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // The body goes out as UTF-8 bytes; decoding it strictly also checks they are valid.
  const bytes: BulkSend = (body, o) => send(decoder.decode(body), o);
  return {
    sleeps,
    options: {
      send: bytes,
      limits: { batchSize: extra.batchSize ?? 100, maxBytes: extra.maxBytes ?? 1_000_000 },
      maxRetries: extra.maxRetries ?? 3,
      random: () => 0.5,
      sleep: (ms: number) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
  };
}

describe("bulk writer", () => {
  it("retries_request_level_failures_with_growing_backoff_then_succeeds", async () => {
    let calls = 0;
    const { options: o, sleeps } = options((body) => {
      calls++;
      if (calls === 1) return Promise.reject(httpError(429));
      if (calls === 2) {
        return Promise.reject(Object.assign(new Error("reset"), { name: "ConnectionError" }));
      }
      if (calls === 3) return Promise.reject(httpError(503));
      return Promise.resolve(ok(body));
    });
    const failures = await writeBulk([op("1"), op("2")], false, o);
    assert.deepEqual(failures, []);
    assert.equal(calls, 4);
    assert.deepEqual(sleeps, [75, 150, 300]);
  });

  it("throws_transient_after_max_retries_and_never_reports_success", async () => {
    let calls = 0;
    const { options: o } = options(() => {
      calls++;
      return Promise.reject(httpError(500));
    }, { maxRetries: 2 });
    await assert.rejects(writeBulk([op("1")], false, o), TransientSinkError);
    assert.equal(calls, 3);
  });

  it("resends_only_the_items_refused_with_429", async () => {
    const sent: string[][] = [];
    const { options: o } = options((body) => {
      const batch = ids(body);
      sent.push(batch);
      return Promise.resolve({
        errors: true,
        items: batch.map((id) =>
          sent.length === 1 && id === "2"
            ? {
              index: {
                status: 429,
                error: { type: "es_rejected_execution_exception", reason: "busy" },
              },
            }
            : { index: { status: 201 } }
        ),
      });
    });
    assert.deepEqual(await writeBulk([op("1"), op("2"), op("3")], false, o), []);
    assert.deepEqual(sent, [["1", "2", "3"], ["2"]]);
  });

  it("throws_transient_when_per_item_429_outlasts_the_retries", async () => {
    const { options: o } = options((body) =>
      Promise.resolve({
        errors: true,
        items: ids(body).map(() => ({
          index: {
            status: 429,
            error: { type: "es_rejected_execution_exception", reason: "busy" },
          },
        })),
      }), { maxRetries: 1 });
    await assert.rejects(writeBulk([op("1")], false, o), TransientSinkError);
  });

  it("returns_mapping_errors_as_failures_and_writes_the_rest", async () => {
    const { options: o } = options((body) =>
      Promise.resolve({
        errors: true,
        items: ids(body).map((id) =>
          id === "bad"
            ? {
              index: {
                status: 400,
                error: { type: "mapper_parsing_exception", reason: "bad age" },
              },
            }
            : { index: { status: 201 } }
        ),
      })
    );
    const failures = await writeBulk([op("1"), op("bad"), op("3")], false, o);
    assert.equal(failures.length, 1);
    assert.equal(failures[0].item.write.id, "bad");
    assert.equal(failures[0].type, "mapper_parsing_exception");
  });

  it("splits_on_413_until_the_oversized_document_is_rejected_alone", async () => {
    const big = op("big", { blob: "x".repeat(5000) });
    const sent: string[][] = [];
    const { options: o } = options((body) => {
      sent.push(ids(body));
      if (body.length > 4000) return Promise.reject(httpError(413));
      return Promise.resolve(ok(body));
    });
    const failures = await writeBulk([op("1"), big, op("3"), op("4")], false, o);
    assert.deepEqual(failures.map((f) => [f.item.write.id, f.type]), [[
      "big",
      "request_too_large",
    ]]);
    const written = sent.filter((batch) => !batch.includes("big")).flat().sort();
    assert.deepEqual(written, ["1", "3", "4"]);
  });

  it("stops_on_authentication_failure_with_a_hint", async () => {
    const { options: o } = options(() => Promise.reject(httpError(401)));
    await assert.rejects(writeBulk([op("1")], false, o), (error: unknown) => {
      assert.ok(error instanceof SinkRequestError);
      assert.match(error.message, /username and password/);
      return true;
    });
  });

  it("keeps_two_chunks_under_way_and_returns_failures_in_item_order", async () => {
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    const answers: (() => void)[] = [];
    const { options: o } = options((body) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const [id] = ids(body);
      sent.push(id);
      return new Promise((resolve) => {
        answers.push(() => {
          inFlight--;
          resolve(
            id === "2" || id === "4"
              ? {
                errors: true,
                items: [{ index: { status: 400, error: { type: "mapper_parsing_exception" } } }],
              }
              : ok(body),
          );
        });
      });
    }, { batchSize: 1 });
    const written = writeBulk(["1", "2", "3", "4", "5"].map((id) => op(id)), false, o);
    // Answer the oldest request whenever one is waiting, until all five were answered.
    for (let turn = 0; turn < 200 && (sent.length < 5 || answers.length > 0); turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      answers.shift()?.();
    }
    const failures = await written;
    assert.equal(most, 2, "two requests of a call under way at once, never more");
    assert.deepEqual([...sent].sort(), ["1", "2", "3", "4", "5"], "each chunk sent once");
    assert.deepEqual(failures.map((f) => f.item.write.id), ["2", "4"]);
  });

  it("fails_only_after_every_chunk_under_way_settled_and_starts_no_more", async () => {
    const sent: string[] = [];
    let releaseSecond!: () => void;
    let secondSettled = false;
    const { options: o } = options((body) => {
      const [id] = ids(body);
      sent.push(id);
      if (id === "1") return Promise.reject(httpError(401));
      return new Promise((resolve) => {
        releaseSecond = () => {
          secondSettled = true;
          resolve(ok(body));
        };
      });
    }, { batchSize: 1 });
    let rejected = false;
    const written = writeBulk([op("1"), op("2"), op("3")], false, o).catch((error) => {
      rejected = true;
      assert.ok(secondSettled, "the call failed while a request was still under way");
      throw error;
    });
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(rejected, false);
    releaseSecond();
    await assert.rejects(written, SinkRequestError);
    assert.deepEqual(sent, ["1", "2"], "no chunk started after the failure");
  });

  it("chunks_requests_by_batch_size_and_passes_refresh", async () => {
    const seen: { ids: string[]; refresh: boolean }[] = [];
    const { options: o } = options((body, { refresh }) => {
      seen.push({ ids: ids(body), refresh });
      return Promise.resolve(ok(body));
    }, { batchSize: 2 });
    await writeBulk([op("1"), op("2"), op("3", null)], true, o);
    assert.deepEqual(seen, [{ ids: ["1", "2"], refresh: true }, { ids: ["3"], refresh: true }]);
  });

  it("builds_bodies_in_pooled_buffers_reused_only_after_their_send_released_them", async () => {
    const bodies = createBodyPool();
    const sent: { buffer: ArrayBufferLike; text: string; release?: () => void }[] = [];
    const answers: (() => void)[] = [];
    const send: BulkSend = (body, { release }) => {
      const text = new TextDecoder().decode(body);
      sent.push({ buffer: body.buffer, text, release });
      return new Promise((resolve) => answers.push(() => resolve(ok(text))));
    };
    const o = { ...options(() => Promise.resolve()).options, send, bodies };
    o.limits = { batchSize: 1, maxBytes: 1_000_000 };
    const first = writeBulk([op("1"), op("2")], false, o);
    for (let turn = 0; turn < 10 && sent.length < 2; turn++) await Promise.resolve();
    assert.equal(sent.length, 2);
    assert.notEqual(sent[0].buffer, sent[1].buffer, "two requests under way share a buffer");
    answers.splice(0).forEach((answer) => answer());
    await first;
    // Answered but not released (the socket may still hold the bytes): not reused.
    const second = writeBulk([op("3")], false, o);
    await Promise.resolve();
    assert.ok(sent[2].buffer !== sent[0].buffer && sent[2].buffer !== sent[1].buffer);
    answers.splice(0).forEach((answer) => answer());
    await second;
    sent[0].release!();
    const third = writeBulk([op("4")], false, o);
    await Promise.resolve();
    assert.equal(sent[3].buffer, sent[0].buffer, "a released buffer is reused");
    assert.deepEqual(ids(sent[3].text), ["4"]);
    answers.splice(0).forEach((answer) => answer());
    await third;
    assert.deepEqual(sent.map((s) => ids(s.text)), [["1"], ["2"], ["3"], ["4"]]);
  });
});
