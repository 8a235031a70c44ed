/**
 * The index side of `flusso verify`: what the alias serves, read in bounded pages — documents
 * by id (`_mget`) and every id in `_id` order (`search_after`, no `_source`).
 */
import type { Client } from "@opensearch-project/opensearch";
import { adminCall, indexExists } from "../opensearch/index_admin.ts";

/** Reads one logical index through its alias. */
export interface IndexReader {
  /** The alias (or index) read. */
  readonly name: string;
  /** Whether the alias exists (the index was created by `flusso sync`). */
  exists(): Promise<boolean>;
  /** The `_source` of every id that exists; absent ids are not in the map. */
  get(ids: readonly string[]): Promise<Map<string, Readonly<Record<string, unknown>>>>;
  /** Up to `size` ids in ascending `_id` order, strictly after `after`. */
  idsAfter(after: string | undefined, size: number): Promise<string[]>;
}

/** A document the index could not return (a shard failure, a closed index). */
export class IndexReadError extends Error {
  constructor(readonly index: string, readonly id: string, reason: string) {
    super(`reading ${index}/${id} failed: ${reason}; check the cluster's health and retry`);
    this.name = "IndexReadError";
  }
}

interface MgetDoc {
  readonly _id: string;
  readonly found?: boolean;
  readonly _source?: Record<string, unknown>;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

interface SearchHit {
  readonly _id: string;
}

/** A reader of `alias` over the sink's client. */
export function openSearchIndexReader(client: Client, alias: string): IndexReader {
  return {
    name: alias,
    exists: () => indexExists(client, alias),
    async get(ids) {
      const found = new Map<string, Readonly<Record<string, unknown>>>();
      if (ids.length === 0) return found;
      const response = await adminCall(
        `reading ${ids.length} documents of ${alias}`,
        () => client.mget({ index: alias, body: { ids: [...ids] } } as never),
      );
      const docs = (response.body as { docs?: MgetDoc[] }).docs ?? [];
      for (const doc of docs) {
        if (doc.error !== undefined) {
          throw new IndexReadError(alias, doc._id, doc.error.reason ?? doc.error.type ?? "error");
        }
        if (doc.found === true) found.set(doc._id, doc._source ?? {});
      }
      return found;
    },
    async idsAfter(after, size) {
      // `_id` order is the one order every OpenSearch 2.x index offers without a mapped field;
      // search_after keeps each page a fresh, bounded query (no scroll context to expire).
      const response = await adminCall(
        `listing the ids of ${alias}`,
        () =>
          client.search({
            index: alias,
            body: {
              size,
              _source: false,
              track_total_hits: false,
              query: { match_all: {} },
              sort: [{ _id: "asc" }],
              ...(after === undefined ? {} : { search_after: [after] }),
            },
          } as never),
      );
      const hits = (response.body as { hits?: { hits?: SearchHit[] } }).hits?.hits ?? [];
      return hits.map((h) => h._id);
    },
  };
}
