/**
 * The dead-letter store: documents quarantined under the `skip` policy, kept in
 * `<prefix>flusso_dlq` with their index, id, reason, LSN and time, so an operator can list,
 * replay (rebuild from current rows) or purge them.
 */
import type { Client } from "@opensearch-project/opensearch";
import type { Rejection } from "../engine/ports.ts";
import { formatLsn } from "../engine/change.ts";
import { plainOperation } from "./bulk_body.ts";
import { type BulkWriterOptions, writeBulk } from "./bulk_writer.ts";
import { SinkRequestError } from "./errors.ts";
import { adminCall, createIndexIfMissing } from "./index_admin.ts";

/** One quarantined document. */
export interface DeadLetter {
  readonly index: string;
  readonly id: string;
  /** OpenSearch's error type, e.g. `mapper_parsing_exception`. */
  readonly type: string;
  readonly reason: string;
  /** Commit LSN of the refused write, as Postgres prints it (`16/B374D848`). */
  readonly lsn: string;
  /** The same LSN as the decimal external version that was sent. */
  readonly version: string;
  /** When it was quarantined (ISO 8601). */
  readonly time: string;
  /** The refused document when it was small enough to keep (absent for deletes). */
  readonly document?: Readonly<Record<string, unknown>>;
}

/** Operations on the dead-letter store. */
export interface DeadLetters {
  /** Creates the dead-letter index when missing. */
  ensure(): Promise<void>;
  /** Stores rejections; a document quarantined again replaces its earlier entry. */
  put(rejections: readonly Rejection[]): Promise<void>;
  /** Entries, newest first, optionally of one index. */
  list(options?: { readonly index?: string; readonly limit?: number }): Promise<DeadLetter[]>;
  /** Removes the given entries. */
  remove(entries: readonly { readonly index: string; readonly id: string }[]): Promise<void>;
  /** Removes every entry (of one index when given); returns how many. */
  purge(options?: { readonly index?: string }): Promise<number>;
}

/** Documents larger than this are not copied into the dead-letter entry. */
export const MAX_KEPT_DOCUMENT_BYTES = 64 * 1024;

/** The dead-letter index's body. */
export const DEAD_LETTER_INDEX_BODY = {
  settings: { number_of_shards: 1, auto_expand_replicas: "0-1" },
  mappings: {
    dynamic: false,
    properties: {
      index: { type: "keyword" },
      id: { type: "keyword" },
      type: { type: "keyword" },
      reason: { type: "text" },
      lsn: { type: "keyword" },
      version: { type: "keyword" },
      time: { type: "date" },
      document: { type: "object", enabled: false },
    },
  },
} as const;

/** The `_id` of an entry: index names cannot contain `:`, so the pair stays unambiguous. */
export function deadLetterId(index: string, id: string): string {
  return `${index}:${id}`;
}

/** The entry stored for a rejection. */
export function deadLetterOf(rejection: Rejection, time: Date): DeadLetter {
  const { write } = rejection;
  const document = write.document !== null &&
      JSON.stringify(write.document).length <= MAX_KEPT_DOCUMENT_BYTES
    ? write.document
    : undefined;
  return {
    index: write.index,
    id: write.id,
    type: rejection.type,
    reason: rejection.reason,
    lsn: formatLsn(write.version),
    version: write.version.toString(10),
    time: time.toISOString(),
    ...(document !== undefined ? { document } : {}),
  };
}

/**
 * A dead-letter store in `dlqIndex`, written through the bulk writer (with its retries) and
 * the sink's `_bulk` sender, read through the client. The writer's `send` must make a
 * write with `refresh` visible at once (`refresh=true`): operators look right after.
 */
export function createDeadLetters(options: {
  readonly client: Client;
  readonly dlqIndex: string;
  readonly writer: BulkWriterOptions;
  readonly now?: () => Date;
}): DeadLetters {
  const { client, dlqIndex } = options;
  const now = options.now ?? (() => new Date());
  const writeItems = async (items: ReturnType<typeof plainOperation>[]) => {
    const failures = await writeBulk(items, true, options.writer);
    if (failures.length > 0) {
      const first = failures[0];
      throw new SinkRequestError(
        `writing ${failures.length} dead-letter entr${failures.length === 1 ? "y" : "ies"}`,
        undefined,
        `${first.type}: ${first.reason} (entry ${first.item.id})`,
      );
    }
  };
  const search = async (index: string | undefined, size: number) => {
    const response = await adminCall(`reading dead letters`, () =>
      client.search({
        index: dlqIndex,
        body: {
          query: index === undefined ? { match_all: {} } : { term: { index } },
          sort: [{ time: { order: "desc" } }],
          size,
        },
      } as never, { ignore: [404] }));
    if (response.statusCode === 404) return [];
    const hits = (response.body as { hits?: { hits?: { _source?: DeadLetter }[] } }).hits?.hits ??
      [];
    return hits.flatMap((hit) => (hit._source !== undefined ? [hit._source] : []));
  };
  return {
    async ensure() {
      await createIndexIfMissing(client, dlqIndex, DEAD_LETTER_INDEX_BODY);
    },
    async put(rejections) {
      if (rejections.length === 0) return;
      const time = now();
      await writeItems(rejections.map((rejection) => {
        const entry = deadLetterOf(rejection, time);
        return plainOperation({
          target: dlqIndex,
          id: deadLetterId(entry.index, entry.id),
          document: entry as unknown as Record<string, unknown>,
        });
      }));
    },
    list(listOptions) {
      return search(listOptions?.index, listOptions?.limit ?? 100);
    },
    async remove(entries) {
      if (entries.length === 0) return;
      await writeItems(
        entries.map((entry) =>
          plainOperation({
            target: dlqIndex,
            id: deadLetterId(entry.index, entry.id),
            document: null,
          })
        ),
      );
    },
    async purge(purgeOptions) {
      let removed = 0;
      // Page by deleting what one search returns until nothing is left.
      for (;;) {
        const page = await search(purgeOptions?.index, 1000);
        if (page.length === 0) return removed;
        await this.remove(page);
        removed += page.length;
      }
    },
  };
}
