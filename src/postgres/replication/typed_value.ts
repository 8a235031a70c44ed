/**
 * Typed views of text values for consumers that need typed keys. Rows stay text (what
 * `format('%s', col)` prints); this converts one value of a known type OID.
 */

/** Type OIDs of the key types flusso converts. */
export const TypeOid = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  bpchar: 1042,
  varchar: 1043,
  numeric: 1700,
  uuid: 2950,
} as const;

/** A typed key value: integers as number (int2/int4/oid) or bigint (int8), numeric as string. */
export type TypedValue = string | number | bigint | boolean | null;

/** Raised when a text value is not valid for its declared type. */
export class TypedValueError extends Error {
  constructor(typeOid: number, text: string) {
    super(`value ${JSON.stringify(text)} is not valid text output for type OID ${typeOid}`);
    this.name = "TypedValueError";
  }
}

/**
 * Converts `text` (Postgres text output) of type `typeOid` to a JS value: int2/int4/oid →
 * number, int8 → bigint, bool → boolean, numeric → string (exact), uuid/text/others → string.
 */
export function typedValue(typeOid: number, text: string | null): TypedValue {
  if (text === null) return null;
  switch (typeOid) {
    case TypeOid.int2:
    case TypeOid.int4:
    case TypeOid.oid:
      if (!/^-?\d+$/.test(text)) throw new TypedValueError(typeOid, text);
      return Number(text);
    case TypeOid.int8:
      if (!/^-?\d+$/.test(text)) throw new TypedValueError(typeOid, text);
      return BigInt(text);
    case TypeOid.bool:
      if (text === "t" || text === "true") return true;
      if (text === "f" || text === "false") return false;
      throw new TypedValueError(typeOid, text);
    case TypeOid.numeric:
      // Exact: a JS number would round; NaN and ±Infinity are valid numerics too.
      if (!/^(-?\d+(\.\d+)?|NaN|-?Infinity)$/.test(text)) throw new TypedValueError(typeOid, text);
      return text;
    case TypeOid.uuid:
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) {
        throw new TypedValueError(typeOid, text);
      }
      return text.toLowerCase();
    default:
      return text;
  }
}
