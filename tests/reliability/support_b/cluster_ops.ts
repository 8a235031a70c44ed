/**
 * What an operator (or the network) does to a private test cluster: stop its server (every
 * connection attempt is then refused), start it again, reload its configuration, terminate
 * the walsender of a slot, drop a slot out from under its consumer.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import type postgres from "postgres";
import type { PostgresCluster } from "../../support/postgres_cluster.ts";

/** A pg_ctl (or other server command) that failed; carries its output. */
export class ClusterCommandError extends Error {
  constructor(command: string, output: string) {
    super(`${command} failed: ${output.trim()}`);
    this.name = "ClusterCommandError";
  }
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/**
 * Runs `pg_ctl <args> -D <data>` as the cluster's owner. Asynchronous on purpose: the
 * emulator runs in the test process, and a blocked event loop would freeze it (flusso could
 * then not flush, which is not the fault under test).
 */
export function pgCtl(cluster: PostgresCluster, args: readonly string[]): Promise<void> {
  const data = join(cluster.dataDir, "data");
  const cmd = join(cluster.binDir, "pg_ctl");
  const argv = [...args, "-D", data];
  const [file, fileArgs] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", cmd, ...argv]]
    : [cmd, argv];
  return new Promise((resolve, reject) => {
    execFile(file, fileArgs, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) {
        reject(new ClusterCommandError(`pg_ctl ${args.join(" ")}`, `${stdout}${stderr}${error}`));
      } else resolve();
    });
  });
}

/**
 * Stops the server (`fast`: clients are disconnected, new connections are refused), giving
 * the shutdown `seconds`; when it does not finish in time the server is stopped with
 * `-m immediate` and ServerStopTimeoutError is thrown (the server is down either way).
 */
export async function stopServer(cluster: PostgresCluster, seconds = 60): Promise<void> {
  try {
    await pgCtl(cluster, ["stop", "-m", "fast", "-w", "-t", String(seconds)]);
  } catch (error) {
    await stopImmediately(cluster);
    throw new ServerStopTimeoutError("fast", seconds, String((error as Error).message));
  }
}

/**
 * `pg_ctl stop -m immediate`, after a slower stop gave up: that stop may still have finished
 * in the meantime, and a server already down is what this wants.
 */
async function stopImmediately(cluster: PostgresCluster): Promise<void> {
  try {
    await pgCtl(cluster, ["stop", "-m", "immediate", "-w", "-t", "60"]);
  } catch (error) {
    if (!/PID file .* does not exist/.test(String((error as Error).message))) throw error;
  }
}

/** Starts the server again on the same port and data. */
export function startServer(cluster: PostgresCluster): Promise<void> {
  return pgCtl(cluster, ["start", "-w", "-t", "60", "-l", join(cluster.dataDir, "server.log")]);
}

/** Re-reads postgresql.conf and pg_hba.conf. */
export function reloadServer(cluster: PostgresCluster): Promise<void> {
  return pgCtl(cluster, ["reload"]);
}

/** The pid of the walsender streaming from `slot`, or null when nobody streams from it. */
export async function slotActivePid(sql: postgres.Sql, slot: string): Promise<number | null> {
  const rows = await sql<{ pid: number | null }[]>`
    SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = ${slot}`;
  return rows[0]?.pid ?? null;
}

/** Waits (bounded) until someone streams from `slot` with a pid other than `not`. */
export async function waitForStreamer(
  sql: postgres.Sql,
  slot: string,
  not: number | null,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await slotActivePid(sql, slot);
    if (pid !== null && pid !== not) return pid;
    if (Date.now() > deadline) {
      throw new Error(`nobody streamed from slot ${slot} again within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Terminates the walsender of `slot`; resolves with its pid (null when none was active). */
export async function terminateWalsender(sql: postgres.Sql, slot: string): Promise<number | null> {
  const pid = await slotActivePid(sql, slot);
  if (pid !== null) await sql`SELECT pg_terminate_backend(${pid}::int)`;
  return pid;
}

/**
 * Drops `slot` as an operator would while its consumer keeps reconnecting: terminate the
 * walsender, then drop, until the drop wins the race. Resolves with the attempts it took.
 */
export async function dropSlotUnderConsumer(
  sql: postgres.Sql,
  slot: string,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1;; attempt++) {
    await terminateWalsender(sql, slot);
    try {
      await sql`SELECT pg_drop_replication_slot(${slot})`;
      return attempt;
    } catch (error) {
      // 55006: still active (the walsender has not exited yet, or the consumer reconnected).
      if ((error as { code?: string }).code !== "55006" || Date.now() > deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The server did not stop within the allotted time (a client kept it from shutting down). */
export class ServerStopTimeoutError extends Error {
  constructor(mode: string, seconds: number, detail: string) {
    super(
      `pg_ctl stop -m ${mode} did not finish within ${seconds} s (${detail.trim()}); a ` +
        `walsender whose client never confirms the end of WAL keeps a ${mode} shutdown waiting. ` +
        `The server was stopped with -m immediate instead and started again.`,
    );
    this.name = "ServerStopTimeoutError";
  }
}

/**
 * Restarts the server as an operator would (`fast`: clean, `immediate`: a crash), giving the
 * shutdown `seconds`. Whatever happens, the server is running again when this returns; a
 * shutdown that did not finish in time is reported as ServerStopTimeoutError afterwards.
 */
export async function bounceServer(
  cluster: PostgresCluster,
  mode: "fast" | "immediate",
  seconds: number,
): Promise<void> {
  let failure: ServerStopTimeoutError | undefined;
  try {
    await pgCtl(cluster, ["stop", "-m", mode, "-w", "-t", String(seconds)]);
  } catch (error) {
    failure = new ServerStopTimeoutError(mode, seconds, String((error as Error).message));
    await stopImmediately(cluster);
  }
  await startServer(cluster);
  if (failure) throw failure;
}
