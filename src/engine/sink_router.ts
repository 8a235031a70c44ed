/**
 * One `Sink` over several: each index is written to the sink its config names. Lets the
 * engine keep a single sink port while a deployment has several `[sinks.*]`.
 */
import type { DocKey, IndexDefinition, IndexStatus, Rejection, Sink, SinkWrite } from "./ports.ts";

/** Raised when an index has no sink routed to it: a wiring bug, not a user error. */
export class UnroutedIndexError extends Error {
  constructor(readonly index: string) {
    super(`no sink is routed for index "${index}"`);
    this.name = "UnroutedIndexError";
  }
}

/** A sink that sends each index's operations to `routes.get(index)`. */
export function routeSinks(routes: ReadonlyMap<string, Sink>): Sink {
  const sinkOf = (index: string): Sink => {
    const sink = routes.get(index);
    if (!sink) throw new UnroutedIndexError(index);
    return sink;
  };
  const distinct = () => [...new Set(routes.values())];
  const groupBy = <T>(items: readonly T[], indexOf: (item: T) => string) => {
    const groups = new Map<Sink, T[]>();
    for (const item of items) {
      const sink = sinkOf(indexOf(item));
      const group = groups.get(sink);
      if (group) group.push(item);
      else groups.set(sink, [item]);
    }
    return groups;
  };
  if (distinct().length === 1) return distinct()[0];
  return {
    async ensure(indexes: readonly IndexDefinition[]): Promise<IndexStatus[]> {
      const groups = groupBy(indexes, (d) => d.index);
      const results = await Promise.all([...groups].map(([sink, defs]) => sink.ensure(defs)));
      return results.flat();
    },
    async write(writes: readonly SinkWrite[], options): Promise<readonly Rejection[]> {
      const groups = groupBy(writes, (w) => w.index);
      const results = await Promise.all([...groups].map(([sink, ws]) => sink.write(ws, options)));
      return results.flat();
    },
    async quarantine(rejections: readonly Rejection[]): Promise<void> {
      const groups = groupBy(rejections, (r) => r.write.index);
      await Promise.all([...groups].map(([sink, rs]) => sink.quarantine(rs)));
    },
    saveBackfillCursor: async (index: string, key: DocKey) =>
      await sinkOf(index).saveBackfillCursor(index, key),
    markSeeded: async (index: string) => await sinkOf(index).markSeeded(index),
    startReindex: async (index: string) => await sinkOf(index).startReindex(index),
    async close(): Promise<void> {
      await Promise.all(distinct().map((sink) => sink.close()));
    },
  };
}
