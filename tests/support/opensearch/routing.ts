/**
 * Shard routing as OpenSearch computes it: Murmur3 (x86, 32-bit, seed 0) over the routing
 * value's UTF-16LE bytes, then `floorMod(hash, routing_shards) / routing_factor`. The emulator
 * keeps one map per index, but a document written with a custom routing is only found again
 * when the lookup routes to the same shard — exactly when OpenSearch would find it.
 */

function murmur3(bytes: Uint8Array): number {
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  let h = 0;
  const len = bytes.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[blocks + 2] << 16;
    if (rest >= 2) k ^= bytes[blocks + 1] << 8;
    k ^= bytes[blocks];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** OpenSearch's Murmur3HashFunction.hash(String): the hash of the UTF-16LE code units. */
export function routingHash(routing: string): number {
  const bytes = new Uint8Array(routing.length * 2);
  for (let i = 0; i < routing.length; i++) {
    const c = routing.charCodeAt(i);
    bytes[i * 2] = c & 0xff;
    bytes[i * 2 + 1] = c >>> 8;
  }
  return murmur3(bytes);
}

/** The default `index.number_of_routing_shards`: shards doubled while it stays ≤ 1024. */
export function defaultRoutingShards(shards: number): number {
  let n = shards;
  while (n * 2 <= 1024) n *= 2;
  return n;
}

/** The shard a routing value (or, without one, the id) lands on. */
export function shardOf(routingOrId: string, shards: number, routingShards: number): number {
  if (shards <= 1) return 0;
  const factor = Math.max(1, Math.floor(routingShards / shards));
  const mod = ((routingHash(routingOrId) % routingShards) + routingShards) % routingShards;
  return Math.floor(mod / factor);
}

/**
 * The routing a bulk action or an mget entry names (`routing`, or the older `_routing`), else
 * `fallback` (the request's own).
 */
export function entryRouting(
  entry: { readonly routing?: unknown; readonly _routing?: unknown },
  fallback: string | undefined,
): string | undefined {
  if (entry.routing !== undefined) return String(entry.routing);
  if (entry._routing !== undefined) return String(entry._routing);
  return fallback;
}
