import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAckWatermark } from "../../src/postgres/replication/ack_watermark.ts";
import {
  encodeStandbyStatus,
  parseCopyData,
} from "../../src/postgres/replication/standby_status.ts";
import { startReplicationCommand } from "../../src/postgres/replication/stream_connection.ts";
import { Bytes, pgTime } from "./pgoutput_encode.ts";

describe("standby status and keepalive framing", () => {
  it("encodes_a_34_byte_status_update_with_the_same_lsn_three_times", () => {
    const now = Date.UTC(2026, 10, 28);
    const bytes = encodeStandbyStatus(0x16b374d848n, now, true);
    assert.equal(bytes.length, 34);
    assert.equal(bytes[0], "r".charCodeAt(0));
    const view = new DataView(bytes.buffer);
    for (const at of [1, 9, 17]) assert.equal(view.getBigUint64(at), 0x16b374d848n);
    assert.equal(view.getBigInt64(25), pgTime(now));
    assert.equal(bytes[33], 1);
  });

  it("parses_keepalives_and_xlogdata_headers", () => {
    const keepalive = new Bytes().char("k").u64(77n).u64(1n).u8(1).done();
    assert.deepEqual(parseCopyData(keepalive), {
      kind: "keepalive",
      walEnd: 77n,
      replyRequested: true,
    });
    const xlog = new Bytes().char("w").u64(5n).u64(9n).u64(1n).char("E").done();
    const parsed = parseCopyData(xlog);
    assert.ok(parsed.kind === "xlog");
    assert.equal(parsed.walStart, 5n);
    assert.equal(parsed.walEnd, 9n);
    assert.deepEqual(Array.from(parsed.payload), ["E".charCodeAt(0)]);
  });

  it("quotes_slot_and_publication_names_in_start_replication", () => {
    assert.equal(
      startReplicationCommand({
        slot: 'My"Slot',
        publication: "Pub's",
        startLsn: 0x100000010n,
        protoVersion: 2,
      }),
      `START_REPLICATION SLOT "My""Slot" LOGICAL 1/10 (proto_version '2', publication_names '"Pub''s"', streaming 'on')`,
    );
    assert.ok(
      !startReplicationCommand({ slot: "s", publication: "p", startLsn: 0n, protoVersion: 1 })
        .includes("streaming"),
    );
  });
});

describe("acknowledgement watermark", () => {
  it("confirms_no_position_past_an_unconfirmed_delivered_commit", () => {
    const wm = createAckWatermark(100n);
    wm.markDelivered(200n);
    wm.markDelivered(300n);
    assert.equal(wm.confirmed, 100n);
    assert.equal(
      wm.advanceIdle(1000n, true),
      false,
      "idle advance while 200 and 300 are unconfirmed",
    );
    wm.confirm(200n);
    assert.equal(wm.confirmed, 200n);
    assert.equal(wm.caughtUp, false);
    wm.confirm(150n);
    assert.equal(wm.confirmed, 200n, "a lower confirmation is ignored");
  });

  it("caps_a_confirmation_beyond_what_was_delivered", () => {
    const wm = createAckWatermark(100n);
    wm.markDelivered(200n);
    wm.confirm(999n);
    assert.equal(wm.confirmed, 200n);
  });

  it("confirms_the_idle_position_only_when_caught_up_and_quiet", () => {
    const wm = createAckWatermark(100n);
    wm.markDelivered(200n);
    wm.confirm(200n);
    assert.equal(wm.advanceIdle(500n, false), false, "a transaction is open");
    assert.equal(wm.confirmed, 200n);
    assert.equal(wm.advanceIdle(500n, true), true);
    assert.equal(wm.confirmed, 500n);
    assert.equal(wm.advanceIdle(400n, true), false, "never backwards");
    assert.equal(wm.confirmed, 500n);
  });
});
