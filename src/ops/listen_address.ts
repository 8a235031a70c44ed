/**
 * Parsing `[server]` addresses (`127.0.0.1:9464`, `[::1]:9464`, `:9464`, `9464`). A missing
 * host means loopback: flusso never listens on every interface unless told to.
 */

/** A host and port to listen on. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The host used when an address names only a port. */
export const DEFAULT_HOST = "127.0.0.1";

/** An address that is not `host:port`. */
export class ListenAddressError extends Error {
  constructor(readonly address: string, reason: string) {
    super(
      `invalid listen address ${JSON.stringify(address)}: ${reason} ` +
        `(expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464)`,
    );
    this.name = "ListenAddressError";
  }
}

/** Parses `host:port`; port 0 asks the OS for a free port. */
export function parseListenAddress(address: string): ListenAddress {
  const text = address.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/.exec(text);
  if (v6) {
    [, host, portText] = v6;
  } else if (/^\d+$/.test(text)) {
    host = DEFAULT_HOST;
    portText = text;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw new ListenAddressError(address, "no port");
    host = text.slice(0, colon) || DEFAULT_HOST;
    portText = text.slice(colon + 1);
    if (host.includes(":")) throw new ListenAddressError(address, "IPv6 hosts need [brackets]");
  }
  if (!/^\d+$/.test(portText)) throw new ListenAddressError(address, "the port is not a number");
  const port = Number(portText);
  if (port > 65535) throw new ListenAddressError(address, "the port is above 65535");
  return { host, port };
}

/** `host:port`, bracketing IPv6 hosts, as a URL authority. */
export function formatAuthority(address: ListenAddress): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
