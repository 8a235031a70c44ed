import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPgoutputDecoder, decodePgoutput } from "../../src/postgres/replication/decoder.ts";
import { PgoutputDecodeError } from "../../src/postgres/replication/errors.ts";
import * as enc from "./pgoutput_encode.ts";

const T = Date.UTC(2026, 10, 28, 12, 0, 0, 123);

describe("pgoutput decoder", () => {
  it("decodes_begin_and_commit_with_lsns_and_times", () => {
    assert.deepEqual(decodePgoutput(enc.begin(0x16b374d848n, T, 42), false), {
      type: "begin",
      finalLsn: 0x16b374d848n,
      commitTime: new Date(T),
      xid: 42,
    });
    assert.deepEqual(decodePgoutput(enc.commit(10n, 0xffffffff00000001n, T), false), {
      type: "commit",
      flags: 0,
      commitLsn: 10n,
      endLsn: 0xffffffff00000001n,
      commitTime: new Date(T),
    });
  });

  it("decodes_relation_with_key_flags_and_schema_qualified_names", () => {
    const m = decodePgoutput(
      enc.relation(16384, "Shop Schema", "Orders", [
        { name: "id", key: true, oid: 20 },
        { name: "naïve", oid: 25 },
      ], "f"),
      false,
    );
    assert.deepEqual(m, {
      type: "relation",
      xid: undefined,
      relationId: 16384,
      schema: "Shop Schema",
      name: "Orders",
      replicaIdentity: "f",
      columns: [
        { isKey: true, name: "id", typeOid: 20, typeMod: -1 },
        { isKey: false, name: "naïve", typeOid: 25, typeMod: -1 },
      ],
    });
  });

  it("decodes_tuples_with_null_unchanged_toast_and_utf8_text", () => {
    const m = decodePgoutput(
      enc.insert(7, ["1", null, { unchanged: true }, "zürich 🚀", ""]),
      false,
    );
    assert.equal(m.type, "insert");
    if (m.type !== "insert") return;
    assert.deepEqual(m.newTuple, [
      { kind: "text", text: "1" },
      { kind: "null" },
      { kind: "unchanged" },
      { kind: "text", text: "zürich 🚀" },
      { kind: "text", text: "" },
    ]);
  });

  it("decodes_updates_with_key_and_full_old_tuples_and_without", () => {
    const plain = decodePgoutput(enc.update(7, ["1", "a"]), false);
    assert.deepEqual(plain, {
      type: "update",
      xid: undefined,
      relationId: 7,
      oldKind: undefined,
      oldTuple: undefined,
      newTuple: [{ kind: "text", text: "1" }, { kind: "text", text: "a" }],
    });
    const keyed = decodePgoutput(
      enc.update(7, ["2", "a"], { kind: "K", cols: ["1", null] }),
      false,
    );
    assert.equal(keyed.type === "update" && keyed.oldKind, "K");
    const full = decodePgoutput(enc.update(7, ["2", "a"], { kind: "O", cols: ["1", "b"] }), false);
    assert.equal(full.type === "update" && full.oldKind, "O");
  });

  it("decodes_deletes_truncates_messages_origins_and_types", () => {
    assert.deepEqual(decodePgoutput(enc.del(7, "K", ["1"]), false), {
      type: "delete",
      xid: undefined,
      relationId: 7,
      oldKind: "K",
      oldTuple: [{ kind: "text", text: "1" }],
    });
    assert.deepEqual(decodePgoutput(enc.truncate([7, 8], 3), false), {
      type: "truncate",
      xid: undefined,
      cascade: true,
      restartIdentity: true,
      relationIds: [7, 8],
    });
    const m = decodePgoutput(enc.message(false, 99n, "flusso_heartbeat", "hi"), false);
    assert.ok(m.type === "message" && !m.transactional && m.prefix === "flusso_heartbeat");
    assert.deepEqual(decodePgoutput(enc.origin(5n, "node1"), false), {
      type: "origin",
      lsn: 5n,
      name: "node1",
    });
    assert.deepEqual(decodePgoutput(enc.type(600, "public", "mood"), false), {
      type: "type",
      xid: undefined,
      typeOid: 600,
      schema: "public",
      name: "mood",
    });
  });

  it("reads_the_xid_of_data_messages_only_inside_a_stream_block", () => {
    const decoder = createPgoutputDecoder();
    assert.deepEqual(decoder.decode(enc.streamStart(700, true)), {
      type: "stream_start",
      xid: 700,
      firstSegment: true,
    });
    assert.equal(decoder.inStream, true);
    const ins = decoder.decode(enc.insert(7, ["1"], 701));
    assert.ok(ins.type === "insert" && ins.xid === 701);
    const rel = decoder.decode(
      enc.relation(7, "public", "t", [{ name: "id", key: true }], "d", 700),
    );
    assert.ok(rel.type === "relation" && rel.xid === 700);
    assert.deepEqual(decoder.decode(enc.streamStop()), { type: "stream_stop" });
    assert.equal(decoder.inStream, false);
    assert.deepEqual(decoder.decode(enc.streamCommit(700, 10n, 20n, T)), {
      type: "stream_commit",
      xid: 700,
      flags: 0,
      commitLsn: 10n,
      endLsn: 20n,
      commitTime: new Date(T),
    });
    assert.deepEqual(decoder.decode(enc.streamAbort(700, 701)), {
      type: "stream_abort",
      xid: 700,
      subXid: 701,
    });
  });

  it("rejects_unknown_types_and_trailing_bytes_with_a_typed_error", () => {
    assert.throws(() => decodePgoutput(Uint8Array.of(0x5a), false), PgoutputDecodeError);
    const withTrailer = Uint8Array.from([...enc.streamStop(), 1]);
    assert.throws(() => decodePgoutput(withTrailer, false), PgoutputDecodeError);
    assert.throws(() => decodePgoutput(new Uint8Array(0), false), PgoutputDecodeError);
  });

  it("rejects_every_truncation_of_a_valid_message_with_a_typed_error", () => {
    const messages = [
      enc.begin(1n, T, 1),
      enc.commit(1n, 2n, T),
      enc.relation(1, "s", "t", [{ name: "a", key: true }, { name: "b" }]),
      enc.insert(1, ["x", null, { unchanged: true }]),
      enc.update(1, ["x"], { kind: "O", cols: ["y"] }),
      enc.del(1, "K", ["x"]),
      enc.truncate([1, 2]),
      enc.message(true, 1n, "p", "body"),
      enc.streamCommit(1, 1n, 2n, T),
    ];
    for (const full of messages) {
      for (let cut = 0; cut < full.length; cut++) {
        assert.throws(
          () => decodePgoutput(full.subarray(0, cut), false),
          PgoutputDecodeError,
          `message ${String.fromCharCode(full[0])} cut at ${cut}`,
        );
      }
    }
  });

  it("skips_only_columns_nobody_reads_and_always_keeps_replica_identity_columns", () => {
    const asked: string[] = [];
    const decoder = createPgoutputDecoder((schema, table) => {
      asked.push(`${schema}.${table}`);
      return table === "items" ? new Set(["parent_id"]) : undefined;
    });
    decoder.decode(enc.relation(7, "", "items", [
      { name: "id", key: true, oid: 20 },
      { name: "title", oid: 25 },
      { name: "parent_id", oid: 20 },
      { name: "note", oid: 25 },
    ], "d"));
    decoder.decode(enc.relation(8, "public", "other", [{ name: "id", key: true, oid: 20 }, {
      name: "v",
      oid: 25,
    }], "d"));
    // The "" namespace is pg_catalog, as in relations.ts.
    assert.deepEqual(asked, ["pg_catalog.items", "public.other"]);
    const m = decoder.decode(enc.update(7, ["1", "big text", "9", null], {
      kind: "O",
      cols: ["1", "old text", "8", { unchanged: true }],
    }));
    assert.equal(m.type, "update");
    if (m.type !== "update") return;
    assert.deepEqual(m.newTuple, [
      { kind: "text", text: "1" },
      { kind: "skipped" },
      { kind: "text", text: "9" },
      { kind: "null" },
    ]);
    assert.deepEqual(m.oldTuple, [
      { kind: "text", text: "1" },
      { kind: "skipped" },
      { kind: "text", text: "8" },
      { kind: "unchanged" },
    ]);
    // A table the filter does not know keeps every column.
    const other = decoder.decode(enc.insert(8, ["2", "kept"]));
    assert.deepEqual(other.type === "insert" && other.newTuple, [
      { kind: "text", text: "2" },
      { kind: "text", text: "kept" },
    ]);
  });

  it("decodes_short_ascii_and_non_ascii_text_alike", () => {
    const values = [
      "",
      "a",
      "12345678901234567890123456789012",
      "é",
      "x".repeat(31) + "é",
      "\u0000",
    ];
    const m = decodePgoutput(enc.insert(7, values), false);
    assert.deepEqual(
      m.type === "insert" && m.newTuple,
      values.map((text) => ({ kind: "text", text })),
    );
  });
});
