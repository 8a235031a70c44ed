/**
 * The OpenSearch client for one sink: URL, basic auth, TLS (`ca_file`, `tls_verify`) and the
 * request timeout. The client's own retries are off: the bulk writer retries with its own
 * backoff, and other calls surface their failure.
 */
import { readFileSync } from "node:fs";
import { Client } from "@opensearch-project/opensearch";
import type { SinkConfig } from "../config/model.ts";
import { SinkConfigError } from "./errors.ts";

/** What the client needs from the sink configuration. */
export type ClientConfig = Pick<
  SinkConfig,
  "name" | "url" | "username" | "password" | "tlsVerify" | "caFile" | "timeoutMs"
>;

/**
 * The PEM text of the sink's `ca_file`, or undefined without one; throws `SinkConfigError`
 * when the file cannot be read.
 */
export function readCaFile(config: Pick<ClientConfig, "name" | "caFile">): string | undefined {
  if (config.caFile === undefined) return undefined;
  try {
    return readFileSync(config.caFile, "utf8");
  } catch (error) {
    throw new SinkConfigError(
      `sink ${JSON.stringify(config.name)}: cannot read ca_file ${JSON.stringify(config.caFile)}: ${
        (error as Error).message
      } (point ca_file at the PEM certificate of the cluster's CA)`,
      { cause: error },
    );
  }
}

/** Builds the client with the CA text `ca` (see `readCaFile`). */
export function createClient(config: ClientConfig, ca: string | undefined): Client {
  const isHttps = config.url.toLowerCase().startsWith("https:");
  return new Client({
    node: config.url,
    auth: config.username !== undefined
      ? { username: config.username, password: config.password?.reveal() ?? "" }
      : undefined,
    ssl: isHttps
      ? { rejectUnauthorized: config.tlsVerify, ...(ca !== undefined ? { ca } : {}) }
      : undefined,
    requestTimeout: config.timeoutMs,
    maxRetries: 0,
    // Versions and LSNs flow as strings we write ourselves; nothing here needs big numbers.
    enableLongNumeralSupport: false,
    // Responses are read field by field, never merged into other objects, so a `__proto__`
    // key in one is inert: the regex scan of every response body for one (a few percent of
    // flusso's CPU while writing) buys nothing here.
    disablePrototypePoisoningProtection: true,
  });
}
