/**
 * Failures of one request of the sink's own HTTP client (bulk_http.ts). Each class carries
 * the name of the official client's error for the same failure, so `classifyRequestError`
 * (retry.ts) decides alike whichever client sent the request. Messages name the host, never
 * the credentials.
 */

/** The connection failed or ended before the answer was complete (refused, reset, TLS). */
export class HttpConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/** No complete answer within the sink's `timeout_secs`. */
export class HttpTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

/** OpenSearch answered with a status outside 2xx. */
export class HttpResponseError extends Error {
  /** The HTTP status. */
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = "ResponseError";
    this.statusCode = statusCode;
  }
}

/** A 2xx answer whose body is not the JSON it should be (a connection cut mid-body, a proxy). */
export class HttpDeserializationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeserializationError";
  }
}
