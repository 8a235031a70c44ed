import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { routeSinks, UnroutedIndexError } from "../../src/engine/sink_router.ts";
import type { IndexStatus, Rejection, Sink, SinkWrite } from "../../src/engine/ports.ts";

function recordingSink(name: string, log: string[]): Sink {
  return {
    ensure: (defs) => {
      log.push(`${name}:ensure:${defs.map((d) => d.index).join(",")}`);
      return Promise.resolve(
        defs.map((d): IndexStatus => ({ index: d.index, seeded: true, generation: 1 })),
      );
    },
    write: (writes) => {
      log.push(`${name}:write:${writes.map((w) => w.id).join(",")}`);
      return Promise.resolve(
        writes.filter((w) => w.id === "bad").map((write): Rejection => ({
          write,
          type: "x",
          reason: "y",
        })),
      );
    },
    quarantine: (rs) => {
      log.push(`${name}:quarantine:${rs.length}`);
      return Promise.resolve();
    },
    saveBackfillCursor: (index) => {
      log.push(`${name}:cursor:${index}`);
      return Promise.resolve();
    },
    markSeeded: (index) => {
      log.push(`${name}:seeded:${index}`);
      return Promise.resolve();
    },
    startReindex: (index) => {
      log.push(`${name}:reindex:${index}`);
      return Promise.resolve();
    },
    close: () => {
      log.push(`${name}:close`);
      return Promise.resolve();
    },
  };
}

const write = (index: string, id: string): SinkWrite => ({ index, id, version: 1n, document: {} });

describe("sink router", () => {
  it("sends_each_index_only_to_its_own_sink", async () => {
    const log: string[] = [];
    const a = recordingSink("a", log);
    const b = recordingSink("b", log);
    const sink = routeSinks(new Map([["users", a], ["orders", b]]));
    const rejected = await sink.write([
      write("users", "1"),
      write("orders", "2"),
      write("users", "bad"),
    ], {
      caughtUp: true,
    });
    assert.deepEqual(log.sort(), ["a:write:1,bad", "b:write:2"]);
    assert.deepEqual(rejected.map((r) => r.write.id), ["bad"]);
    await sink.markSeeded("orders");
    await sink.close();
    assert.ok(log.includes("b:seeded:orders"));
    assert.equal(log.filter((l) => l.endsWith(":close")).length, 2, "every sink closes once");
  });

  it("refuses_an_index_without_a_route", async () => {
    const log: string[] = [];
    const sink = routeSinks(
      new Map([["users", recordingSink("a", log)], ["x", recordingSink("b", log)]]),
    );
    await assert.rejects(() => sink.markSeeded("nope"), UnroutedIndexError);
  });
});
