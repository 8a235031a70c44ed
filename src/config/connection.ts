/**
 * `[source] connection_url` → PostgresConnection: from a postgres:// URL or from parts.
 * The URL is a secret (it may hold a password): errors say what is wrong with it without
 * repeating it.
 */
import type { PostgresConnection } from "./model.ts";
import { Secret } from "./secret.ts";
import { SSL_MODES } from "./shapes_deployment.ts";

type SslMode = typeof SSL_MODES[number];

/** Why a connection URL was refused (the message never contains the URL). */
export class ConnectionUrlError extends Error {
  override name = "ConnectionUrlError";
}

/** Parses `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…`. */
export function parseConnectionUrl(url: string): PostgresConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionUrlError(
      "not a valid URL; expected postgres://user:password@host:port/database",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new ConnectionUrlError(
      `unsupported scheme "${
        parsed.protocol.replace(/:$/, "")
      }"; expected postgres:// or postgresql://`,
    );
  }
  const sslmode = parsed.searchParams.get("sslmode") ?? undefined;
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new ConnectionUrlError(
      `unsupported sslmode "${sslmode}"; expected one of ${SSL_MODES.join(", ")}`,
    );
  }
  const port = parsed.port ? Number(parsed.port) : 5432;
  const user = decodeURIComponent(parsed.username) || "postgres";
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user;
  const sslrootcert = parsed.searchParams.get("sslrootcert") ?? undefined;
  return {
    host: decodeURIComponent(parsed.hostname.replace(/^\[(.*)\]$/, "$1")) || "localhost",
    port,
    user,
    ...(password !== undefined ? { password: new Secret(password) } : {}),
    database,
    ...(sslmode !== undefined ? { sslmode: sslmode as SslMode } : {}),
    ...(sslrootcert !== undefined ? { sslrootcert } : {}),
  };
}

/** Builds the connection from parts; the password is already resolved. */
export function connectionFromParts(parts: {
  host: string;
  port?: number;
  user: string;
  password?: Secret;
  database: string;
  sslmode?: SslMode;
  sslrootcert?: string;
}): PostgresConnection {
  return {
    host: parts.host,
    port: parts.port ?? 5432,
    user: parts.user,
    ...(parts.password ? { password: parts.password } : {}),
    database: parts.database,
    ...(parts.sslmode ? { sslmode: parts.sslmode } : {}),
    ...(parts.sslrootcert ? { sslrootcert: parts.sslrootcert } : {}),
  };
}
