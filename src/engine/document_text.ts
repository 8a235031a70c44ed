/**
 * Documents that arrive as JSON text (Postgres builds them server-side): the text is kept and
 * sent to the sink untouched, and the object is parsed only if someone reads `document`
 * (verify, dead letters, stdout). Parsing and re-serialising every document cost more CPU
 * than anything else flusso does per document.
 */
import type { Lsn } from "./change.ts";
import type { BuiltDocument, DocKey, JsonText, SinkWrite } from "./ports.ts";

const utf8 = new TextDecoder();

/** A document body as the ports carry it. */
export type DocumentBody = Readonly<Record<string, unknown>>;

/** Anything with a document and, maybe, its JSON text. */
export interface HasDocument {
  readonly document: DocumentBody | null;
  readonly json?: JsonText;
}

/** Parses on first read, then keeps the object (a prototype getter: cheap to create). */
abstract class TextDocument {
  #parsed: DocumentBody | undefined;
  constructor(readonly json: JsonText) {}
  get document(): DocumentBody {
    return this.#parsed ??= JSON.parse(jsonString(this.json)) as DocumentBody;
  }
}

/** A built document held as JSON text. */
export class TextBuiltDocument extends TextDocument implements BuiltDocument {
  constructor(
    readonly index: string,
    readonly key: DocKey,
    readonly id: string,
    json: JsonText,
  ) {
    super(json);
  }
}

/** A sink write whose document is JSON text. */
export class TextSinkWrite extends TextDocument implements SinkWrite {
  constructor(
    readonly index: string,
    readonly id: string,
    readonly version: Lsn,
    json: JsonText,
  ) {
    super(json);
  }
}

/** True for a delete; never parses a text document to find out. */
export function isDeleteDocument(value: HasDocument): boolean {
  return value.json === undefined && value.document === null;
}

/** The JSON text of a non-delete document: its own text when present, else serialised. */
export function documentJson(value: HasDocument): JsonText {
  return value.json ?? JSON.stringify(value.document);
}

/** JSON text as a string (bytes are decoded as UTF-8). */
export function jsonString(json: JsonText): string {
  return typeof json === "string" ? json : utf8.decode(json);
}
