/**
 * Splits bulk operations into requests bounded by count and bytes, keeping their order.
 */

/** Limits of one bulk request. */
export interface ChunkLimits {
  /** Most operations per request (≥ 1). */
  readonly batchSize: number;
  /** Most body bytes per request; one larger operation still goes, alone. */
  readonly maxBytes: number;
}

/**
 * Chunks `items` in order: a chunk closes before the item that would exceed `maxBytes` or
 * when it holds `batchSize` items. An item larger than `maxBytes` forms a chunk of its own,
 * so nothing is ever dropped here (a server that refuses it answers 413 for that item alone).
 */
export function chunkByLimits<T extends { readonly bytes: number }>(
  items: readonly T[],
  limits: ChunkLimits,
): T[][] {
  const batchSize = Math.max(1, Math.floor(limits.batchSize));
  const maxBytes = Math.max(1, limits.maxBytes);
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const full = current.length >= batchSize || bytes + item.bytes > maxBytes;
    if (current.length > 0 && full) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
