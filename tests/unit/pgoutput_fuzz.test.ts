import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodePgoutput } from "../../src/postgres/replication/decoder.ts";
import { PgoutputDecodeError } from "../../src/postgres/replication/errors.ts";
import { parseCopyData } from "../../src/postgres/replication/standby_status.ts";
import * as enc from "./pgoutput_encode.ts";

/** mulberry32: a small seeded PRNG, so a failure reproduces from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TAGS = "BCORYIUDTMSEcA".split("").map((c) => c.charCodeAt(0));
const T = Date.UTC(2026, 0, 1);
const VALID = [
  enc.begin(1n, T, 1),
  enc.commit(1n, 2n, T),
  enc.relation(1, "s", "t", [{ name: "a", key: true }, { name: "b" }], "f"),
  enc.insert(1, ["x", null, { unchanged: true }]),
  enc.update(1, ["x", "y"], { kind: "K", cols: ["y", null] }),
  enc.del(1, "O", ["x", "z"]),
  enc.truncate([1, 2, 3], 1),
  enc.message(true, 1n, "p", "body"),
  enc.origin(3n, "o"),
  enc.type(1, "s", "t"),
  enc.streamStart(9, false),
  enc.streamStop(),
  enc.streamCommit(9, 1n, 2n, T),
  enc.streamAbort(9, 10),
];

/** Decodes or throws the typed error; anything else (a crash, a RangeError) fails the test. */
function decodesOrRejects(bytes: Uint8Array, inStream: boolean, seed: number): void {
  try {
    decodePgoutput(bytes, inStream);
  } catch (error) {
    if (!(error instanceof PgoutputDecodeError)) {
      assert.fail(`seed ${seed}: ${error} for bytes [${Array.from(bytes)}]`);
    }
  }
}

describe("pgoutput decoder on hostile input", () => {
  it("decodes_or_throws_a_typed_error_on_random_bytes", () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const rand = prng(seed);
      const length = Math.floor(rand() * 80);
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(rand() * 256);
      // Mostly valid type tags, so decoding goes past the first byte.
      if (length > 0 && rand() < 0.9) bytes[0] = TAGS[Math.floor(rand() * TAGS.length)];
      decodesOrRejects(bytes, rand() < 0.5, seed);
    }
  });

  it("decodes_or_throws_a_typed_error_on_mutated_valid_messages", () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const rand = prng(seed);
      const base = VALID[Math.floor(rand() * VALID.length)];
      const bytes = Array.from(base);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (bytes.length + 1));
        const kind = rand();
        if (kind < 0.4 && bytes.length > 1) bytes[at % bytes.length] = Math.floor(rand() * 256);
        else if (kind < 0.6) bytes.splice(at, 0, Math.floor(rand() * 256));
        else if (kind < 0.8) bytes.length = Math.max(1, at);
        // Large or negative lengths and counts are the classic decoder killers.
        else bytes.splice(at, 0, 0x7f, 0xff, 0xff, 0xff);
      }
      decodesOrRejects(Uint8Array.from(bytes), rand() < 0.5, seed);
    }
  });

  it("decodes_every_message_of_the_valid_corpus", () => {
    // The corpus itself decodes (with the xid prefix only where it was encoded).
    for (const bytes of VALID) assert.doesNotThrow(() => decodePgoutput(bytes, false));
  });

  it("parses_or_rejects_random_copy_data_with_a_typed_error", () => {
    for (let seed = 1; seed <= 5_000; seed++) {
      const rand = prng(seed);
      const bytes = new Uint8Array(Math.floor(rand() * 40));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      if (bytes.length > 0) bytes[0] = rand() < 0.5 ? 0x77 : 0x6b;
      try {
        parseCopyData(bytes);
      } catch (error) {
        assert.ok(error instanceof PgoutputDecodeError, `seed ${seed}: ${error}`);
      }
    }
  });
});
