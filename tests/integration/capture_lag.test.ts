import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type PostgresCluster, startCluster } from "../support/postgres_cluster.ts";
import type { TestDatabase } from "../support/postgres.ts";
import { type Capture, eventually, pub, startCapture } from "./capture_support.ts";

// A private cluster: other test files' WAL in the shared one would keep lag above zero.
describe("slot lag on an idle database", () => {
  let cluster: PostgresCluster;
  let db: TestDatabase;
  let capture: Capture;
  before(async () => {
    cluster = await startCluster();
    const sql = postgres(cluster.url, { max: 2, onnotice: () => {} });
    await sql`CREATE TABLE items (id int PRIMARY KEY, v text)`;
    db = {
      name: "postgres",
      url: cluster.url,
      slot: "lag_slot",
      publication: "lag_pub",
      sql,
      cluster: {
        url: cluster.url,
        port: cluster.port,
        dataDir: cluster.dataDir,
        binDir: cluster.binDir,
      },
      drop: async () => {},
    };
    capture = await startCapture(db, [pub("items")], { heartbeatMs: 200 });
    await capture.start.snapshot?.release();
  });
  after(async () => {
    await capture?.stop();
    await db?.sql.end({ timeout: 1 });
    cluster?.stop();
  });

  it("returns_slot_lag_to_zero_after_a_burst_once_everything_is_confirmed", async () => {
    for (let i = 0; i < 20; i++) {
      await db.sql`INSERT INTO items SELECT g, 'v' FROM generate_series(${i * 100}::int, ${
        i * 100 + 99
      }::int) g`;
    }
    const txs = await capture.transactions(20);
    const during = await capture.source.lag();
    assert.ok(during.lagBytes > 0, "nothing is confirmed yet, so the slot lags");
    for (const tx of txs) capture.source.confirm(tx.lsn);
    await eventually(
      "slot lag to reach 0",
      async () => (await capture.source.lag()).lagBytes === 0,
    );
    const lag = await capture.source.lag();
    assert.equal(lag.walStatus, "reserved");
    assert.equal(lag.exists, true);
  });

  it("keeps_lag_at_zero_while_heartbeats_write_wal_on_an_idle_database", async () => {
    const before = (await capture.source.lag()).confirmedFlushLsn!;
    // Heartbeats move the WAL; the idle stream follows them.
    await eventually("the confirmed position to follow heartbeats", async () => {
      const lag = await capture.source.lag();
      return lag.confirmedFlushLsn! > before && lag.lagBytes === 0;
    });
  });
});
