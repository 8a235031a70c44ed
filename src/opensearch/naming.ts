/**
 * Names of everything flusso creates in OpenSearch. Every logical index `name` is read through
 * the alias `<prefix><name>` over generation indexes `<prefix><name>_<hash8>_<gen>`; internal
 * state lives in `<prefix>flusso_meta` and dead letters in `<prefix>flusso_dlq`.
 */

/** Length of the schema-hash fragment in a generation index name. */
export const HASH_LENGTH = 8;

/** The alias applications search: `<prefix><name>`. */
export function aliasName(prefix: string, index: string): string {
  return `${prefix}${index}`;
}

/** The short schema hash used in generation names: lowercase, at most 8 characters. */
export function shortHash(schemaHash: string): string {
  const cleaned = schemaHash.toLowerCase().replace(/[^0-9a-z]/g, "");
  if (cleaned.length === 0) {
    throw new RangeError(
      `schema hash ${JSON.stringify(schemaHash)} has no letters or digits; expected a hex digest`,
    );
  }
  return cleaned.slice(0, HASH_LENGTH);
}

/** One generation's concrete index: `<prefix><name>_<hash8>_<gen>`. */
export function generationIndexName(
  prefix: string,
  index: string,
  schemaHash: string,
  generation: number,
): string {
  if (!Number.isInteger(generation) || generation < 1) {
    throw new RangeError(`generation must be a positive integer, got ${generation}`);
  }
  return `${prefix}${index}_${shortHash(schemaHash)}_${generation}`;
}

/** The index holding one lifecycle record per logical index. */
export function metaIndexName(prefix: string): string {
  return `${prefix}flusso_meta`;
}

/** The dead-letter index. */
export function deadLetterIndexName(prefix: string): string {
  return `${prefix}flusso_dlq`;
}
