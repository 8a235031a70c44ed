/**
 * Byte sizes as written in config files: `"16MiB"`, `"10MB"`, `"512KiB"`, `"100B"`, or a
 * plain integer number of bytes. Binary units (KiB, MiB, GiB) are powers of 1024, decimal
 * ones (KB, MB, GB) powers of 1000.
 */

/** The accepted string form, also used as the JSON Schema pattern. */
export const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)\s*$/;

const UNIT_BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
};

/** Why a size could not be read: a message that says what a valid one looks like. */
export class SizeFormatError extends Error {
  override name = "SizeFormatError";
  constructor(readonly input: unknown) {
    super(
      `invalid size ${JSON.stringify(input)}: expected bytes as an integer or a number followed ` +
        `by B, KB, KiB, MB, MiB, GB or GiB, e.g. "16MiB"`,
    );
  }
}

/** Bytes in a size; throws SizeFormatError. Rounds down to whole bytes. */
export function parseSize(input: unknown): number {
  if (typeof input === "number" && Number.isSafeInteger(input) && input >= 0) return input;
  if (typeof input !== "string") throw new SizeFormatError(input);
  const match = SIZE_PATTERN.exec(input);
  if (!match) throw new SizeFormatError(input);
  return Math.floor(Number(match[1]) * UNIT_BYTES[match[2]]);
}
