/**
 * A bounds-checked cursor over one binary message. Every read checks the remaining length
 * first, so truncated or hostile input ends in a `PgoutputDecodeError`, never in a read past
 * the end or a hang.
 */
import { PgoutputDecodeError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Up to this many bytes, ASCII text is built without the TextDecoder. */
const SHORT_TEXT = 32;

/** Reads big-endian integers, C strings and byte runs from a payload. */
export class BufferReader {
  /** Current byte offset. */
  offset: number;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.offset;
  }

  #need(n: number, what: string): void {
    if (n < 0 || this.remaining < n) {
      throw new PgoutputDecodeError(
        `truncated ${what}: need ${n} bytes, have ${Math.max(0, this.remaining)}`,
        this.offset,
      );
    }
  }

  /** One unsigned byte. */
  u8(what = "byte"): number {
    this.#need(1, what);
    return this.#bytes[this.offset++];
  }

  /** A signed 16-bit integer. */
  i16(what = "int16"): number {
    this.#need(2, what);
    const v = this.#view.getInt16(this.offset);
    this.offset += 2;
    return v;
  }

  /** A signed 32-bit integer. */
  i32(what = "int32"): number {
    this.#need(4, what);
    const v = this.#view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  /** An unsigned 32-bit integer (OIDs, xids). */
  u32(what = "uint32"): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** An unsigned 64-bit integer (LSNs). */
  u64(what = "uint64"): bigint {
    this.#need(8, what);
    const v = this.#view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  /** A signed 64-bit integer (timestamps). */
  i64(what = "int64"): bigint {
    this.#need(8, what);
    const v = this.#view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(what = "string"): string {
    const end = this.#bytes.indexOf(0, this.offset);
    if (end < 0) {
      throw new PgoutputDecodeError(`unterminated ${what}`, this.offset);
    }
    const s = utf8.decode(this.#bytes.subarray(this.offset, end));
    this.offset = end + 1;
    return s;
  }

  /** `n` raw bytes, as a view (no copy). */
  bytes(n: number, what = "bytes"): Uint8Array {
    this.#need(n, what);
    const v = this.#bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** `n` bytes decoded as UTF-8 text. */
  text(n: number, what = "text"): string {
    const bytes = this.bytes(n, what);
    // Keys are mostly short ASCII (ids, numbers): building those directly skips the decoder
    // call, which costs more than the decoding itself at this size.
    if (n <= SHORT_TEXT) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (bytes[i] >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    return utf8.decode(bytes);
  }

  /** Steps over `n` bytes. */
  skip(n: number, what = "bytes"): void {
    this.#need(n, what);
    this.offset += n;
  }
}
