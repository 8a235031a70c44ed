import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Change } from "../../src/engine/change.ts";
import { createPgoutputDecoder } from "../../src/postgres/replication/decoder.ts";
import { ReplicationProtocolError } from "../../src/postgres/replication/errors.ts";
import {
  type CommittedTransaction,
  createTransactionAssembler,
} from "../../src/postgres/replication/transaction_assembler.ts";
import type { PendingChange } from "../../src/postgres/replication/to_changes.ts";
import * as enc from "./pgoutput_encode.ts";

const T = Date.UTC(2026, 0, 1);

/** An assembler that never touches the disk, fed with encoded messages. */
function harness(primaryKeys: Record<string, string[]> = {}) {
  const assembler = createTransactionAssembler({
    memoryLimitBytes: Infinity,
    streamedMemoryLimitBytes: Infinity,
    primaryKey: (t) => primaryKeys[`${t.schema}.${t.name}`],
  });
  const decoder = createPgoutputDecoder();
  return {
    assembler,
    feed(...messages: Uint8Array[]): CommittedTransaction[] {
      const out: CommittedTransaction[] = [];
      for (const m of messages) {
        const tx = assembler.feed(decoder.decode(m));
        if (tx) out.push(tx);
      }
      return out;
    },
  };
}

async function changesOf(tx: CommittedTransaction): Promise<PendingChange[]> {
  const out: PendingChange[] = [];
  for await (const run of tx.buffer.replay()) out.push(...run);
  return out;
}

const strip = (c: PendingChange): Omit<Change, "lsn" | "size"> => {
  const { size: _size, ...rest } = c;
  return rest;
};

const USERS = enc.relation(10, "public", "users", [
  { name: "id", key: true, oid: 23 },
  { name: "org", oid: 23 },
  { name: "bio", oid: 25 },
]);

describe("transaction assembly", () => {
  it("releases_changes_only_on_commit_tagged_with_the_commit_end_lsn", async () => {
    const h = harness();
    assert.deepEqual(h.feed(enc.begin(90n, T, 5), USERS, enc.insert(10, ["1", "7", "hi"])), []);
    assert.equal(h.assembler.open, true);
    const [tx] = h.feed(enc.commit(90n, 120n, T));
    assert.equal(tx.lsn, 120n);
    assert.deepEqual(tx.commitTime, new Date(T));
    assert.equal(h.assembler.open, false);
    assert.deepEqual((await changesOf(tx)).map(strip), [{
      op: "insert",
      table: { schema: "public", name: "users" },
      new: { id: "1", org: "7", bio: "hi" },
    }]);
  });

  it("splits_a_key_update_into_delete_of_the_old_key_and_insert_of_the_new_row", async () => {
    const h = harness();
    const [tx] = h.feed(
      enc.begin(1n, T, 1),
      USERS,
      enc.update(10, ["2", "7", { unchanged: true }], { kind: "K", cols: ["1", null, null] }),
      enc.commit(1n, 2n, T),
    );
    assert.deepEqual((await changesOf(tx)).map(strip), [
      {
        op: "delete",
        table: { schema: "public", name: "users" },
        old: { id: "1" },
        oldIsFull: false,
      },
      { op: "insert", table: { schema: "public", name: "users" }, new: { id: "2", org: "7" } },
    ]);
  });

  it("keeps_a_full_old_row_on_a_non_key_update_and_splits_a_key_change_using_the_primary_key", async () => {
    const full = enc.relation(11, "public", "members", [
      { name: "id", key: true },
      { name: "org", key: true },
    ], "f");
    const h = harness({ "public.members": ["id"] });
    const [tx] = h.feed(
      enc.begin(1n, T, 1),
      full,
      enc.update(11, ["1", "8"], { kind: "O", cols: ["1", "7"] }),
      enc.update(11, ["2", "8"], { kind: "O", cols: ["1", "8"] }),
      enc.del(11, "O", ["2", "8"]),
      enc.commit(1n, 2n, T),
    );
    const changes = (await changesOf(tx)).map(strip);
    assert.deepEqual(changes.map((c) => c.op), ["update", "delete", "insert", "delete"]);
    assert.deepEqual(changes[0].old, { id: "1", org: "7" }, "the moved foreign key's old value");
    assert.equal(changes[0].oldIsFull, true);
    assert.deepEqual(changes[3].old, { id: "2", org: "8" });
    assert.equal(changes[3].oldIsFull, true);
  });

  it("never_turns_unchanged_toast_into_a_value", async () => {
    const h = harness();
    const [tx] = h.feed(
      enc.begin(1n, T, 1),
      USERS,
      enc.update(10, ["1", "7", { unchanged: true }]),
      enc.commit(1n, 2n, T),
    );
    const [change] = await changesOf(tx);
    assert.deepEqual(change.new, { id: "1", org: "7" });
    assert.ok(!("bio" in change.new!));
  });

  it("emits_one_truncate_per_relation_and_ignores_messages_origins_and_types", async () => {
    const h = harness();
    const other = enc.relation(12, "", "pg_thing", [{ name: "x", key: true }]);
    const [tx] = h.feed(
      enc.begin(1n, T, 1),
      enc.origin(1n, "o"),
      USERS,
      other,
      enc.type(600, "public", "mood"),
      enc.message(true, 1n, "flusso_heartbeat", ""),
      enc.truncate([10, 12]),
      enc.commit(1n, 2n, T),
    );
    assert.deepEqual((await changesOf(tx)).map((c) => [c.op, c.table.schema, c.table.name]), [
      ["truncate", "public", "users"],
      ["truncate", "pg_catalog", "pg_thing"],
    ]);
  });

  it("assembles_interleaved_streamed_transactions_and_drops_aborted_ones", async () => {
    const h = harness();
    const out = h.feed(
      enc.streamStart(100, true),
      enc.relation(10, "public", "users", [{ name: "id", key: true }], "d", 100),
      enc.insert(10, ["1"], 100),
      enc.streamStop(),
      enc.streamStart(200, true),
      enc.insert(10, ["2"], 200),
      enc.streamStop(),
      enc.streamStart(100, false),
      enc.insert(10, ["3"], 100),
      enc.streamStop(),
      enc.begin(5n, T, 300),
      enc.insert(10, ["4"]),
      enc.commit(5n, 6n, T),
      enc.streamAbort(200, 200),
      enc.streamCommit(100, 7n, 8n, T),
    );
    assert.deepEqual(out.map((t) => t.lsn), [6n, 8n]);
    assert.deepEqual((await changesOf(out[0])).map((c) => c.new?.id), ["4"]);
    assert.deepEqual((await changesOf(out[1])).map((c) => c.new?.id), ["1", "3"]);
    assert.equal(h.assembler.open, false);
  });

  it("drops_the_changes_of_an_aborted_subtransaction_and_its_children", async () => {
    const h = harness();
    const out = h.feed(
      enc.streamStart(100, true),
      enc.relation(10, "public", "users", [{ name: "id", key: true }], "d", 100),
      enc.insert(10, ["1"], 100),
      enc.insert(10, ["2"], 101),
      enc.insert(10, ["3"], 102),
      enc.streamStop(),
      enc.streamAbort(100, 101),
      enc.streamStart(100, false),
      enc.insert(10, ["4"], 100),
      enc.streamStop(),
      enc.streamCommit(100, 7n, 8n, T),
    );
    assert.deepEqual((await changesOf(out[0])).map((c) => c.new?.id), ["1", "4"]);
  });

  it("rejects_changes_outside_a_transaction_and_unknown_relations", () => {
    const h = harness();
    assert.throws(() => h.feed(USERS, enc.insert(10, ["1"])), ReplicationProtocolError);
    const h2 = harness();
    assert.throws(
      () => h2.feed(enc.begin(1n, T, 1), enc.insert(99, ["1"])),
      ReplicationProtocolError,
    );
    assert.throws(() => harness().feed(enc.commit(1n, 2n, T)), ReplicationProtocolError);
  });

  it("forgets_open_transactions_and_relations_on_reset", () => {
    const h = harness();
    h.feed(enc.begin(1n, T, 1), USERS, enc.insert(10, ["1"]));
    h.assembler.reset();
    assert.equal(h.assembler.open, false);
    assert.equal(h.assembler.relations.size, 0);
  });
});
