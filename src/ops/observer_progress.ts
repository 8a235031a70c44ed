/**
 * Backfill events shown on a progress board: bars on a terminal, progress logs otherwise.
 */
import type { Observer } from "../engine/observer.ts";

/** The subset of a progress board the backfill observer needs. */
export interface ProgressSink {
  track(label: string, total: number): { update(done: number): void; finish(): void };
}

/** An observer that shows backfills on a progress board (bars on a TTY, logs otherwise). */
export function createBackfillProgressObserver(board: ProgressSink): Observer {
  const tracks = new Map<string, ReturnType<ProgressSink["track"]>>();
  return {
    emit(event) {
      switch (event.type) {
        case "backfill_started":
          tracks.get(event.index)?.finish();
          tracks.set(event.index, board.track(event.index, event.estimatedRows));
          return;
        case "backfill_progress":
          tracks.get(event.index)?.update(event.rowsDone);
          return;
        case "backfill_finished": {
          const track = tracks.get(event.index);
          track?.update(event.rows);
          track?.finish();
          tracks.delete(event.index);
          return;
        }
        default:
          return;
      }
    },
  };
}
