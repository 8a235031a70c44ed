/**
 * The systemd unit flusso runs under, rendered for a given binary, config and user.
 * `deploy/flusso.service` is this function's output for the default install paths; a test
 * keeps the two identical.
 */

/** What the unit is rendered for. */
export interface UnitOptions {
  /** Absolute path of the flusso binary. */
  readonly binary: string;
  /** Absolute path of flusso.toml. */
  readonly config: string;
  /** The dedicated system user (and group) the service runs as. */
  readonly user: string;
  /** Optional environment file for secrets (DATABASE_URL, FLUSSO_TOKEN, …); "-" prefix added. */
  readonly environmentFile?: string;
}

/** The paths `deploy/flusso.service` is written for. */
export const DEFAULT_UNIT_OPTIONS: UnitOptions = {
  binary: "/usr/local/bin/flusso",
  config: "/etc/flusso/flusso.toml",
  user: "flusso",
  environmentFile: "/etc/flusso/flusso.env",
};

/** A unit option that cannot be written safely (relative path, bad user name). */
export class UnitOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnitOptionError";
  }
}

/** Renders the unit file text. */
export function renderUnit(options: UnitOptions): string {
  for (const [what, path] of [["binary", options.binary], ["config", options.config]] as const) {
    if (!path.startsWith("/")) {
      throw new UnitOptionError(`the ${what} path must be absolute, got ${JSON.stringify(path)}`);
    }
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(options.user)) {
    throw new UnitOptionError(
      `${JSON.stringify(options.user)} is not a valid system user name (lowercase, ≤ 32 chars)`,
    );
  }
  // ProtectHome=yes would hide a config or binary kept under /home or /root.
  const underHome = [options.binary, options.config].some((p) => /^\/(home|root)(\/|$)/.test(p));
  const env = options.environmentFile === undefined
    ? []
    : [`EnvironmentFile=-${escapeValue(options.environmentFile)}`];
  return [
    "# flusso: keeps OpenSearch indexes in sync with PostgreSQL.",
    "# Written by `flusso service install`; see the README, section systemd.",
    "[Unit]",
    "Description=flusso: keeps OpenSearch indexes in sync with PostgreSQL",
    "Wants=network-online.target",
    "After=network-online.target postgresql.service",
    "",
    "[Service]",
    "Type=notify",
    "# flusso sends READY/STATUS/WATCHDOG through the systemd-notify helper, a child process.",
    "NotifyAccess=all",
    `ExecStart=${quoteArg(options.binary)} sync --config ${quoteArg(options.config)}`,
    `User=${options.user}`,
    `Group=${options.user}`,
    ...env,
    "Environment=FLUSSO_LOG_FORMAT=json",
    "Restart=on-failure",
    "RestartSec=5s",
    "# Exit code 2 is a usage or configuration error: restarting cannot fix it.",
    "RestartPreventExitStatus=2",
    "WatchdogSec=30s",
    "# Creating the slot waits for running transactions; the backfill runs after READY.",
    "TimeoutStartSec=10min",
    "# On SIGTERM flusso finishes or drops the in-flight batch and confirms what is flushed.",
    "TimeoutStopSec=60s",
    "LimitNOFILE=65536",
    "",
    "# Hardening: flusso only reads its config and talks to Postgres and OpenSearch.",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ProtectHome=${underHome ? "read-only" : "yes"}`,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "UMask=0077",
    "# No MemoryDenyWriteExecute: the JavaScript JIT needs writable executable memory.",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** `%` starts a specifier and `$` a variable in unit files; both are doubled. */
function escapeValue(text: string): string {
  return text.replace(/%/g, "%%").replace(/\$/g, "$$$$");
}

/** One ExecStart= argument: quoted when it has spaces or quotes, specifiers escaped. */
function quoteArg(arg: string): string {
  const escaped = escapeValue(arg);
  if (!/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
