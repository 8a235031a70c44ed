import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type PostgresCluster, restartCluster, startCluster } from "../support/postgres_cluster.ts";
import type { TestDatabase } from "../support/postgres.ts";
import { type Capture, pub, startCapture } from "./capture_support.ts";

// A private cluster: restarting the shared one would disturb every other test.
describe("capture across a Postgres restart", () => {
  let cluster: PostgresCluster;
  let db: TestDatabase;
  let capture: Capture;
  before(async () => {
    cluster = await startCluster();
    const sql = postgres(cluster.url, { max: 2, onnotice: () => {} });
    await sql`CREATE TABLE items (id int PRIMARY KEY)`;
    db = {
      name: "postgres",
      url: cluster.url,
      slot: "restart_slot",
      publication: "restart_pub",
      sql,
      cluster: {
        url: cluster.url,
        port: cluster.port,
        dataDir: cluster.dataDir,
        binDir: cluster.binDir,
      },
      drop: async () => {},
    };
    capture = await startCapture(db, [pub("items")]);
    await capture.start.snapshot?.release();
  });
  after(async () => {
    await capture?.stop();
    await db?.sql.end({ timeout: 1 });
    cluster?.stop();
  });

  it("reconnects_after_a_restart_and_redelivers_what_was_unconfirmed", async () => {
    await db.sql`INSERT INTO items VALUES (1)`;
    await db.sql`INSERT INTO items VALUES (2)`;
    const [one, two] = await capture.transactions(2);
    capture.source.confirm(one.lsn);
    // Immediate: a fast shutdown waits for walsenders whose client has not confirmed
    // everything sent (up to wal_sender_timeout). What we received was flushed WAL, so a
    // crash restart keeps it.
    restartCluster(cluster, "immediate");
    // The test's own pooled connections died with the server too: retry until one is fresh.
    for (let attempt = 0;; attempt++) {
      try {
        await db.sql`INSERT INTO items VALUES (3)`;
        break;
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
    const txs = await capture.transactions(2, 60_000);
    assert.deepEqual(txs.map((t) => t.changes.map((c) => c.new?.id)), [["2"], ["3"]]);
    assert.equal(txs[0].lsn, two.lsn);
  });
});
