import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  keyOfId,
  replayDeadLetters,
  type ReplaySupport,
  selectSinks,
  UnreplayableIdError,
} from "../../src/cli/dlq.ts";
import type { Config } from "../../src/config/model.ts";
import type { Rejection, SinkWrite } from "../../src/engine/ports.ts";
import type { DeadLetter } from "../../src/opensearch/dead_letters.ts";
import type { OpenSearchSink } from "../../src/opensearch/sink.ts";

const entry = (id: string): DeadLetter => ({
  index: "users",
  id,
  type: "mapper_parsing_exception",
  reason: "bad",
  lsn: "0/10",
  version: "16",
  time: "2026-01-01T00:00:00.000Z",
});

describe("dlq command", () => {
  it("replays_from_current_rows_at_the_current_lsn_and_keeps_what_is_refused_again", async () => {
    const written: SinkWrite[] = [];
    const removed: string[] = [];
    const requarantined: Rejection[] = [];
    const sink = {
      write(writes: readonly SinkWrite[]) {
        written.push(...writes);
        return Promise.resolve(
          writes.filter((w) => w.id === "2").map((w) => ({
            write: w,
            type: "mapper_parsing_exception",
            reason: "still bad",
          })),
        );
      },
      quarantine(rejections: readonly Rejection[]) {
        requarantined.push(...rejections);
        return Promise.resolve();
      },
      dlq: {
        remove(entries: readonly { id: string }[]) {
          removed.push(...entries.map((e) => e.id));
          return Promise.resolve();
        },
      },
    } as unknown as OpenSearchSink;
    const support: ReplaySupport = {
      definitions: [],
      builder: {
        build: (index, keys) =>
          Promise.resolve(
            keys.map((key) => ({
              index,
              key,
              id: key[0],
              document: key[0] === "3" ? null : { id: key[0] },
            })),
          ),
      } as ReplaySupport["builder"],
      currentLsn: () => Promise.resolve(1000n),
      keyOf: (_index, id) => [id],
      close: () => Promise.resolve(),
    };
    const result = await replayDeadLetters(sink, support, [entry("1"), entry("2"), entry("3")]);
    assert.deepEqual(result, { replayed: 2, stillRejected: 1, skipped: 0 });
    assert.deepEqual(written.map((w) => [w.id, w.version, w.document]), [
      ["1", 1000n, { id: "1" }],
      ["2", 1000n, { id: "2" }],
      ["3", 1000n, null],
    ]);
    assert.deepEqual(removed, ["1", "3"]);
    assert.deepEqual(requarantined.map((r) => [r.write.id, r.reason]), [["2", "still bad"]]);
  });

  it("turns_ids_back_into_keys_and_refuses_hashed_ones", () => {
    assert.deepEqual(keyOfId("users", "42", 1), ["42"]);
    assert.deepEqual(keyOfId("users", '["7","42"]', 2), ["7", "42"]);
    assert.throws(() => keyOfId("users", "#ab12", 1), UnreplayableIdError);
    assert.throws(() => keyOfId("users", '["7"]', 2), UnreplayableIdError);
  });

  it("selects_opensearch_sinks_and_names_the_missing_one", () => {
    const config = {
      file: "flusso.toml",
      sinks: [{ name: "search", type: "opensearch" }, { name: "out", type: "stdout" }],
    } as unknown as Config;
    assert.deepEqual(selectSinks(config).map((s) => s.name), ["search"]);
    assert.throws(() => selectSinks(config, "out"), /no OpenSearch sink named "out".*have: search/);
  });
});
