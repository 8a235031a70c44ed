/**
 * A test-side pgoutput encoder: builds the byte messages a walsender would send, so decoder
 * tests can state inputs as values.
 */

/** Accumulates big-endian fields. */
export class Bytes {
  #parts: number[] = [];
  u8(v: number): this {
    this.#parts.push(v & 0xff);
    return this;
  }
  char(c: string): this {
    return this.u8(c.charCodeAt(0));
  }
  i16(v: number): this {
    return this.u8(v >> 8).u8(v);
  }
  i32(v: number): this {
    return this.u8(v >>> 24).u8(v >>> 16).u8(v >>> 8).u8(v);
  }
  u64(v: bigint): this {
    for (let shift = 56n; shift >= 0n; shift -= 8n) this.u8(Number((v >> shift) & 0xffn));
    return this;
  }
  cstring(s: string): this {
    for (const b of new TextEncoder().encode(s)) this.u8(b);
    return this.u8(0);
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.u8(b);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/** A tuple column for `tuple()`: text, null, or unchanged TOAST. */
export type Col = string | null | { unchanged: true };

/** Appends TupleData. */
export function tuple(b: Bytes, cols: readonly Col[]): Bytes {
  b.i16(cols.length);
  for (const c of cols) {
    if (c === null) b.char("n");
    else if (typeof c === "object") b.char("u");
    else {
      const bytes = new TextEncoder().encode(c);
      b.char("t").i32(bytes.length).raw(bytes);
    }
  }
  return b;
}

/** Microseconds since 2000-01-01 for a JS time. */
export const pgTime = (ms: number) => BigInt(ms - 946_684_800_000) * 1000n;

export const begin = (finalLsn: bigint, ms: number, xid: number) =>
  new Bytes().char("B").u64(finalLsn).u64(pgTime(ms)).i32(xid).done();

export const commit = (commitLsn: bigint, endLsn: bigint, ms: number) =>
  new Bytes().char("C").u8(0).u64(commitLsn).u64(endLsn).u64(pgTime(ms)).done();

export interface RelCol {
  name: string;
  key?: boolean;
  oid?: number;
}

export const relation = (
  id: number,
  schema: string,
  name: string,
  cols: readonly RelCol[],
  identity = "d",
  xid?: number,
) => {
  const b = new Bytes().char("R");
  if (xid !== undefined) b.i32(xid);
  b.i32(id).cstring(schema).cstring(name).char(identity).i16(cols.length);
  for (const c of cols) b.u8(c.key ? 1 : 0).cstring(c.name).i32(c.oid ?? 25).i32(-1);
  return b.done();
};

export const insert = (rel: number, cols: readonly Col[], xid?: number) => {
  const b = new Bytes().char("I");
  if (xid !== undefined) b.i32(xid);
  return tuple(b.i32(rel).char("N"), cols).done();
};

export const update = (
  rel: number,
  newCols: readonly Col[],
  old?: { kind: "K" | "O"; cols: readonly Col[] },
  xid?: number,
) => {
  const b = new Bytes().char("U");
  if (xid !== undefined) b.i32(xid);
  b.i32(rel);
  if (old) tuple(b.char(old.kind), old.cols);
  return tuple(b.char("N"), newCols).done();
};

export const del = (rel: number, kind: "K" | "O", cols: readonly Col[], xid?: number) => {
  const b = new Bytes().char("D");
  if (xid !== undefined) b.i32(xid);
  return tuple(b.i32(rel).char(kind), cols).done();
};

export const truncate = (rels: readonly number[], options = 0, xid?: number) => {
  const b = new Bytes().char("T");
  if (xid !== undefined) b.i32(xid);
  b.i32(rels.length).u8(options);
  for (const r of rels) b.i32(r);
  return b.done();
};

export const message = (
  transactional: boolean,
  lsn: bigint,
  prefix: string,
  content: string,
  xid?: number,
) => {
  const b = new Bytes().char("M");
  if (xid !== undefined) b.i32(xid);
  const bytes = new TextEncoder().encode(content);
  return b.u8(transactional ? 1 : 0).u64(lsn).cstring(prefix).i32(bytes.length).raw(bytes).done();
};

export const origin = (lsn: bigint, name: string) =>
  new Bytes().char("O").u64(lsn).cstring(name).done();

export const type = (oid: number, schema: string, name: string, xid?: number) => {
  const b = new Bytes().char("Y");
  if (xid !== undefined) b.i32(xid);
  return b.i32(oid).cstring(schema).cstring(name).done();
};

export const streamStart = (xid: number, first: boolean) =>
  new Bytes().char("S").i32(xid).u8(first ? 1 : 0).done();
export const streamStop = () => new Bytes().char("E").done();
export const streamCommit = (xid: number, commitLsn: bigint, endLsn: bigint, ms: number) =>
  new Bytes().char("c").i32(xid).u8(0).u64(commitLsn).u64(endLsn).u64(pgTime(ms)).done();
export const streamAbort = (xid: number, subXid: number) =>
  new Bytes().char("A").i32(xid).i32(subXid).done();
