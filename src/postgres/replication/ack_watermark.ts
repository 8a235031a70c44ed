/**
 * The position the source may report to Postgres. It only moves when the consumer confirms a
 * delivered commit, or — when every delivered commit is confirmed and nothing is open or
 * buffered — to the server's idle position, so slot lag returns to zero on an idle database.
 */
import type { Lsn } from "../../engine/change.ts";

/** Tracks delivered and confirmed commits. */
export interface AckWatermark {
  /** The safe position: never past an unconfirmed delivered commit. */
  readonly confirmed: Lsn;
  /** The highest commit LSN handed to the consumer. */
  readonly delivered: Lsn;
  /** Records that the commit at `lsn` was handed to the consumer. */
  markDelivered(lsn: Lsn): void;
  /** The consumer made every commit ≤ `lsn` durable. Monotonic; lower values are ignored. */
  confirm(lsn: Lsn): void;
  /** Whether every delivered commit is confirmed. */
  readonly caughtUp: boolean;
  /**
   * Moves to the server's position `walEnd` when caught up and `quiet` (no open transaction,
   * nothing buffered). Returns whether the position moved.
   */
  advanceIdle(walEnd: Lsn, quiet: boolean): boolean;
}

/** A watermark starting at the slot's confirmed position. */
export function createAckWatermark(start: Lsn): AckWatermark {
  let confirmed = start;
  let delivered = start;
  return {
    get confirmed() {
      return confirmed;
    },
    get delivered() {
      return delivered;
    },
    markDelivered(lsn) {
      if (lsn > delivered) delivered = lsn;
    },
    confirm(lsn) {
      // A confirmation past what was delivered cannot be true; cap it.
      const capped = lsn < delivered ? lsn : delivered;
      if (capped > confirmed) confirmed = capped;
    },
    get caughtUp() {
      return confirmed >= delivered;
    },
    advanceIdle(walEnd, quiet) {
      if (!quiet || confirmed < delivered || walEnd <= confirmed) return false;
      confirmed = walEnd;
      delivered = walEnd;
      return true;
    },
  };
}
