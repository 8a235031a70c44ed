import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  aliasName,
  deadLetterIndexName,
  generationIndexName,
  metaIndexName,
} from "../../src/opensearch/naming.ts";
import { deadLetterId, deadLetterOf } from "../../src/opensearch/dead_letters.ts";
import { createRwLock } from "../../src/opensearch/rw_lock.ts";

describe("naming and dead letters", () => {
  it("names_generations_aliases_and_internal_indexes_with_the_prefix", () => {
    assert.equal(
      generationIndexName("dev_", "users", "ABCDEF0123456789", 2),
      "dev_users_abcdef01_2",
    );
    assert.equal(aliasName("dev_", "users"), "dev_users");
    assert.equal(metaIndexName("dev_"), "dev_flusso_meta");
    assert.equal(deadLetterIndexName(""), "flusso_dlq");
    assert.throws(() => generationIndexName("", "users", "abc", 0), RangeError);
  });

  it("keeps_index_id_reason_and_lsn_in_a_dead_letter", () => {
    const entry = deadLetterOf({
      write: { index: "users", id: "7", version: 0x1_0000_00ffn, document: { a: 1 } },
      type: "mapper_parsing_exception",
      reason: "bad",
    }, new Date("2026-01-01T00:00:00Z"));
    assert.deepEqual(entry, {
      index: "users",
      id: "7",
      type: "mapper_parsing_exception",
      reason: "bad",
      lsn: "1/FF",
      version: "4294967551",
      time: "2026-01-01T00:00:00.000Z",
      document: { a: 1 },
    });
    assert.equal(deadLetterId("users", "7"), "users:7");
  });
});

describe("rw lock", () => {
  it("keeps_exclusive_work_apart_from_shared_work", async () => {
    const lock = createRwLock();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.shared(() =>
      new Promise<void>((r) => (releaseFirst = r)).then(() => log.push("s1"))
    );
    const exclusive = lock.exclusive(() => Promise.resolve(log.push("x")));
    const second = lock.shared(() => Promise.resolve(log.push("s2")));
    await Promise.resolve();
    assert.deepEqual(log, []);
    releaseFirst();
    await Promise.all([first, exclusive, second]);
    assert.deepEqual(log, ["s1", "x", "s2"]);
  });
});
