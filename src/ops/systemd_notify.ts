/**
 * sd_notify for a `Type=notify` unit: READY=1 once live, STATUS= lines, WATCHDOG=1 pings while
 * healthy, STOPPING=1 on shutdown. Node and Bun cannot open unix datagram sockets, so
 * messages go through the `systemd-notify` binary with `--pid=<our pid>`; the unit therefore
 * needs `NotifyAccess=all`. Without NOTIFY_SOCKET (not under systemd) everything is a no-op;
 * without the binary, too, after one debug line.
 */
import { execFile } from "node:child_process";
import process from "node:process";
import type { Logger } from "./logger.ts";

/** Delivers one notification (newline-separated `KEY=VALUE` assignments). */
export type NotifyTransport = (assignments: readonly string[]) => Promise<void>;

/** Tells systemd how the service is doing; every method is safe to call anywhere. */
export interface SystemdNotifier {
  /** True when running under systemd with a notify socket. */
  readonly enabled: boolean;
  /** How often `startWatchdog` pings (half of WATCHDOG_USEC), or undefined without a watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1, with an optional STATUS= line. */
  ready(status?: string): Promise<void>;
  /** A free-form one-line status shown by `systemctl status`. */
  status(text: string): Promise<void>;
  /** WATCHDOG=1. */
  watchdog(): Promise<void>;
  /** STOPPING=1, with an optional STATUS= line. */
  stopping(status?: string): Promise<void>;
  /**
   * Pings WATCHDOG=1 every `watchdogIntervalMs` while `isHealthy()` holds; a wedged process
   * stops pinging and systemd restarts it. Returns a function that stops the pings.
   */
  startWatchdog(isHealthy: () => boolean): () => void;
}

/** Options of `createSystemdNotifier`. */
export interface SystemdNotifierOptions {
  readonly logger: Logger;
  /** Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.pid`. */
  readonly pid?: number;
  /** Default: the `systemd-notify` binary. */
  readonly transport?: NotifyTransport;
}

/** Creates a notifier from the environment systemd gives the service. */
export function createSystemdNotifier(options: SystemdNotifierOptions): SystemdNotifier {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const socket = env.NOTIFY_SOCKET;
  const enabled = socket !== undefined && socket !== "";
  const watchdogIntervalMs = watchdogInterval(env, pid);
  const transport = options.transport ??
    (enabled ? systemdNotifyBinary({ socket: socket!, pid, logger: options.logger }) : undefined);

  // Sends run one after another so READY is never overtaken by a later STATUS.
  let chain: Promise<void> = Promise.resolve();
  const send = (assignments: readonly string[]): Promise<void> => {
    if (!enabled || transport === undefined) return Promise.resolve();
    chain = chain.then(() => transport(assignments)).catch((error) => {
      options.logger.debug("sd_notify failed", { error, assignments: assignments.join(" ") });
    });
    return chain;
  };
  const statusLine = (text: string) => `STATUS=${text.replace(/[\r\n]+/g, " ")}`;

  return {
    enabled,
    watchdogIntervalMs: enabled ? watchdogIntervalMs : undefined,
    ready: (status) => send(["READY=1", ...(status === undefined ? [] : [statusLine(status)])]),
    status: (text) => send([statusLine(text)]),
    watchdog: () => send(["WATCHDOG=1"]),
    stopping: (status) =>
      send(["STOPPING=1", ...(status === undefined ? [] : [statusLine(status)])]),
    startWatchdog(isHealthy) {
      if (!enabled || watchdogIntervalMs === undefined) return () => {};
      const timer = setInterval(() => {
        if (isHealthy()) void send(["WATCHDOG=1"]);
      }, watchdogIntervalMs);
      // The watchdog must never be what keeps the process alive.
      (timer as { unref?: () => void }).unref?.();
      return () => clearInterval(timer);
    },
  };
}

/**
 * Half of WATCHDOG_USEC in milliseconds (systemd's advice), or undefined when no watchdog is
 * armed or it is armed for another process (WATCHDOG_PID).
 */
export function watchdogInterval(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (
    env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid
  ) {
    return undefined;
  }
  return Math.max(1, Math.floor(usec / 2000));
}

/**
 * A transport that runs `systemd-notify --pid=<pid> KEY=VALUE…`. When the binary is missing
 * it logs once at debug level and becomes a no-op.
 */
export function systemdNotifyBinary(options: {
  readonly socket: string;
  readonly pid: number;
  readonly logger: Logger;
  readonly binary?: string;
}): NotifyTransport {
  const binary = options.binary ?? "systemd-notify";
  let available = true;
  return (assignments) => {
    if (!available) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      execFile(
        binary,
        [`--pid=${options.pid}`, ...assignments],
        { env: { ...process.env, NOTIFY_SOCKET: options.socket }, timeout: 5_000 },
        (error) => {
          if (error && (error as { code?: unknown }).code === "ENOENT") {
            available = false;
            options.logger.debug(
              `${binary} is not installed; systemd notifications are disabled`,
            );
            resolve();
          } else if (error) {
            reject(error);
          } else {
            resolve();
          }
        },
      );
    });
  };
}
