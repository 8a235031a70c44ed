/**
 * Buffers for `_bulk` bodies, reused once the HTTP client no longer needs their bytes.
 *
 * Why: a backfill sends one body of about 300 KB per 1,000 documents. Allocating each one fresh
 * made JavaScriptCore account for hundreds of megabytes of short-lived buffers per million
 * documents, and its collector ran far more often for it: about a sixth of flusso's CPU in the
 * items backfill went to allocating and collecting bodies (bench/README.md, thirteenth pass).
 *
 * A buffer goes back to the pool only through `give`, which the sender calls when the socket
 * has handed every byte to the kernel (or dropped them). A body that is never given back is
 * simply collected. `give` takes only what `take` lent and not yet taken back, so a second
 * `give` of the same body cannot hand one buffer to two requests at once.
 */
import { Buffer } from "node:buffer";

/** Lends and takes back body buffers. */
export interface BodyPool {
  /** A buffer of exactly `size` bytes (a view of a pooled or new one), contents undefined. */
  take(size: number): Buffer;
  /** Returns what `take` lent (a view of it is enough); anything else is ignored. */
  give(body: Uint8Array): void;
}

/** How much the pool keeps while no request holds it. */
export interface BodyPoolLimits {
  /** Free buffers kept (default 8: two requests of each of two pages for two targets). */
  readonly buffers?: number;
  /** Their combined size in bytes (default 16 MiB); larger bodies are allocated and dropped. */
  readonly bytes?: number;
}

/** Sizes are rounded up to this, so a slightly larger next body still fits. */
const GRAIN = 64 * 1024;

/** Creates an empty pool. */
export function createBodyPool(limits: BodyPoolLimits = {}): BodyPool {
  const maxBuffers = limits.buffers ?? 8;
  const maxBytes = limits.bytes ?? 16 * 1024 * 1024;
  const free: ArrayBuffer[] = [];
  let freeBytes = 0;
  // Weak: a body whose sender never gives it back (its socket never reported the write) is
  // collected like any other buffer instead of being held here for good.
  const lent = new WeakSet<ArrayBuffer>();

  return {
    take(size) {
      let best = -1;
      for (let i = 0; i < free.length; i++) {
        const length = free[i].byteLength;
        if (length >= size && (best === -1 || length < free[best].byteLength)) best = i;
      }
      let space: ArrayBuffer;
      if (best === -1) {
        // Unpooled and not zeroed: every byte of a body is written before it is sent.
        space = Buffer.allocUnsafeSlow(Math.max(GRAIN, Math.ceil(size / GRAIN) * GRAIN))
          .buffer as ArrayBuffer;
      } else {
        space = free[best];
        free.splice(best, 1);
        freeBytes -= space.byteLength;
      }
      lent.add(space);
      return Buffer.from(space, 0, size);
    },
    give(body) {
      const space = body.buffer;
      if (!(space instanceof ArrayBuffer) || !lent.delete(space)) return;
      if (free.length >= maxBuffers || freeBytes + space.byteLength > maxBytes) return;
      free.push(space);
      freeBytes += space.byteLength;
    },
  };
}
