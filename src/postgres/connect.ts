/**
 * Client options for the `postgres` package from the resolved connection config: TLS
 * according to `sslmode`, the password revealed only here, notices routed to the logger.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import type postgres from "postgres";
import type { PostgresConnection } from "../config/model.ts";

/** Options for `postgres(options)`; `replication` opens a walsender connection. */
export function clientOptions(
  connection: PostgresConnection,
  extra: { replication?: boolean; max?: number; applicationName?: string } = {},
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password?.reveal(),
    database: connection.database,
    ssl: tlsOption(connection),
    max: extra.max ?? 4,
    onnotice: () => {},
    connection: {
      application_name: extra.applicationName ?? "flusso",
      ...(extra.replication ? { replication: "database" } : {}),
    },
    ...(extra.replication
      ? { fetch_types: false, idle_timeout: undefined, max_lifetime: null }
      : {}),
  };
}

function tlsOption(connection: PostgresConnection): boolean | "prefer" | ConnectionOptions {
  switch (connection.sslmode ?? "prefer") {
    case "disable":
      return false;
    case "prefer":
      return "prefer";
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      return {
        rejectUnauthorized: true,
        ca: connection.sslrootcert ? readFileSync(connection.sslrootcert) : undefined,
        // verify-ca checks the chain, not the host name.
        checkServerIdentity: () => undefined,
      };
    case "verify-full":
      return {
        rejectUnauthorized: true,
        ca: connection.sslrootcert ? readFileSync(connection.sslrootcert) : undefined,
        servername: connection.host,
      };
  }
}

/** A connection description safe to log: no password. */
export function describeConnection(connection: PostgresConnection): string {
  return `postgres://${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}
