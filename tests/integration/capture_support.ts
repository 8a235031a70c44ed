/**
 * Helpers shared by the capture_* integration tests: start a Postgres change source over a
 * test database and pull whole transactions from it.
 */
import assert from "node:assert/strict";
import type { TableRef } from "../../src/config/model.ts";
import type { Change, Lsn } from "../../src/engine/change.ts";
import type { SourceStart } from "../../src/engine/ports.ts";
import {
  createPostgresChangeSource,
  type PostgresChangeSource,
  type PostgresChangeSourceOptions,
} from "../../src/postgres/change_source.ts";
import { connectionOf, type TestDatabase } from "../support/postgres.ts";

/** One committed transaction as the source delivered it. */
export interface Transaction {
  readonly lsn: Lsn;
  readonly changes: Change[];
}

/** A running capture over a test database. */
export interface Capture {
  readonly source: PostgresChangeSource;
  readonly start: SourceStart;
  /** Pulls until `count` more transactions committed (fails after `timeoutMs`). */
  transactions(count: number, timeoutMs?: number): Promise<Transaction[]>;
  /** Stops the stream and closes the source. */
  stop(): Promise<void>;
}

/** Opens a source on `db` over `tables` (slot and publication named after the database). */
export async function startCapture(
  db: TestDatabase,
  tables: readonly TableRef[],
  extra: Partial<PostgresChangeSourceOptions> = {},
): Promise<Capture> {
  const source = createPostgresChangeSource({
    connection: connectionOf(db.url),
    slot: db.slot,
    publication: db.publication,
    managePublication: true,
    tables,
    statusIntervalMs: 100,
    reconnect: { initialMs: 50, maxMs: 500 },
    ...extra,
  });
  const start = await source.open();
  const abort = new AbortController();
  // A background pump pulls continuously, as the engine does: keepalives are read only
  // while someone pulls.
  const done: Transaction[] = [];
  let failure: unknown;
  let wake: (() => void) | undefined;
  const pump = (async () => {
    let pending: Change[] = [];
    try {
      for await (const run of source.events(abort.signal)) {
        assert.ok(run.length > 0, "the source handed out an empty run");
        for (const event of run) {
          if (event.kind === "change") pending.push(event.change);
          else {
            done.push({ lsn: event.lsn, changes: pending });
            pending = [];
            wake?.();
          }
        }
      }
    } catch (error) {
      failure = error;
      wake?.();
    }
  })();
  return {
    source,
    start,
    async transactions(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (done.length < count) {
        if (failure) throw failure;
        if (Date.now() > deadline) {
          throw new Error(`only ${done.length} of ${count} transactions arrived`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return done.splice(0, count);
    },
    async stop() {
      abort.abort();
      await source.close();
      await pump;
    },
  };
}

/** A table in `public`. */
export const pub = (name: string): TableRef => ({ schema: "public", name });

/** Polls `probe` until it returns true (fails after `timeoutMs`). */
export async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
