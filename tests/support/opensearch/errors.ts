/**
 * OpenSearch's error vocabulary. Every failure the emulator reports is an `OpenSearchError`
 * carrying the exception type, reason and HTTP status OpenSearch itself would answer with, so
 * clients see `{"error":{"root_cause":[...],"type":...,"reason":...},"status":...}`.
 */

/** Extra fields OpenSearch attaches to an error object (`index`, `index_uuid`, `shard`, ...). */
export type ErrorFields = Record<string, unknown>;

/** A failure as OpenSearch reports it: exception type, reason, HTTP status and extra fields. */
export class OpenSearchError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string,
    readonly fields: ErrorFields = {},
    readonly causedBy?: OpenSearchError,
  ) {
    super(`${type}: ${reason}`);
    this.name = "OpenSearchError";
  }

  /** The error object as it appears in a bulk item or inside `error` (no root_cause). */
  toItemError(): Record<string, unknown> {
    const out: Record<string, unknown> = { type: this.type, reason: this.reason, ...this.fields };
    if (this.causedBy) out.caused_by = this.causedBy.toItemError();
    return out;
  }

  /** The whole response body of a failed request. */
  toBody(): Record<string, unknown> {
    const root = this.toItemError();
    delete root.caused_by;
    return { error: { root_cause: [root], ...this.toItemError() }, status: this.status };
  }
}

const NA = "_na_";

/** `index_not_found_exception` (404) for a missing index or alias. */
export function indexNotFound(name: string, suffix = ""): OpenSearchError {
  return new OpenSearchError(404, "index_not_found_exception", `no such index [${name}]${suffix}`, {
    "resource.type": "index_or_alias",
    "resource.id": name,
    index_uuid: NA,
    index: name,
  });
}

/** `illegal_argument_exception` (400). */
export function illegalArgument(reason: string, causedBy?: OpenSearchError): OpenSearchError {
  return new OpenSearchError(400, "illegal_argument_exception", reason, {}, causedBy);
}

/** `action_request_validation_exception` (400) with OpenSearch's numbered message. */
export function validationFailed(...errors: string[]): OpenSearchError {
  const list = errors.map((e, i) => `${i + 1}: ${e};`).join("");
  return new OpenSearchError(
    400,
    "action_request_validation_exception",
    `Validation Failed: ${list}`,
  );
}

/** `parsing_exception` (400) for malformed query DSL. */
export function parsingError(reason: string): OpenSearchError {
  return new OpenSearchError(400, "parsing_exception", reason, { line: 1, col: 1 });
}

/** `version_conflict_engine_exception` (409). */
export function versionConflict(
  index: string,
  uuid: string,
  id: string,
  detail: string,
): OpenSearchError {
  return new OpenSearchError(
    409,
    "version_conflict_engine_exception",
    `[${id}]: version conflict, ${detail}`,
    { index, shard: "0", index_uuid: uuid },
  );
}

/** `mapper_parsing_exception` (400). */
export function mapperParsing(reason: string, causedBy?: OpenSearchError): OpenSearchError {
  return new OpenSearchError(400, "mapper_parsing_exception", reason, {}, causedBy);
}

/** `strict_dynamic_mapping_exception` (400): a field unknown to a `dynamic: strict` mapping. */
export function strictDynamic(field: string, within: string): OpenSearchError {
  return new OpenSearchError(
    400,
    "strict_dynamic_mapping_exception",
    `mapping set to strict, dynamic introduction of [${field}] within [${within}] is not allowed`,
  );
}

/**
 * A 429 rejection, the write path's back-pressure. OpenSearch 2.x names it
 * `rejected_execution_exception` (Elasticsearch said `es_rejected_execution_exception`).
 */
export function rejectedExecution(): OpenSearchError {
  return new OpenSearchError(
    429,
    "rejected_execution_exception",
    "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, " +
      "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]",
  );
}
