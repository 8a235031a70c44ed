/**
 * A throwaway PostgreSQL cluster for tests, the demo and benchmarks: `wal_level=logical`,
 * trust auth on 127.0.0.1, `fsync=off`, a free port, a temp data directory. When running as
 * root the server runs as the `postgres` user (initdb refuses root). When the server
 * binaries are missing, Debian's `postgresql` package is installed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A running cluster. */
export interface PostgresCluster {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly binDir: string;
  /** Stops the server and removes its data directory. Idempotent; synchronous so it can run at exit. */
  stop(): void;
}

/** Raised when the cluster cannot be started; says which step failed and its output. */
export class ClusterStartError extends Error {
  constructor(step: string, output: string) {
    super(`could not start the test PostgreSQL (${step}): ${output.trim()}`);
    this.name = "ClusterStartError";
  }
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** The bin directory of the newest installed PostgreSQL, installing Debian's package if none. */
export function postgresBinDir(): string {
  const found = findBinDir();
  if (found) return found;
  if (!isRoot()) {
    throw new ClusterStartError(
      "find initdb",
      "PostgreSQL is not installed: apt-get install postgresql",
    );
  }
  // policy-rc.d keeps apt from starting (and so initialising) a default cluster.
  const policy = "/usr/sbin/policy-rc.d";
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    run("apt-get", ["update", "-qq"], {});
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "postgresql"], {
      DEBIAN_FRONTEND: "noninteractive",
    });
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
  const bin = findBinDir();
  if (!bin) {
    throw new ClusterStartError("install postgresql", "initdb still missing after apt-get install");
  }
  return bin;
}

function findBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : undefined;
}

function run(cmd: string, args: string[], env: Record<string, string>, asPostgres = false): string {
  const [file, argv] = asPostgres && isRoot()
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
  const result = spawnSync(file, argv, { env: { ...process.env, ...env }, encoding: "utf8" });
  if (result.status !== 0) {
    throw new ClusterStartError(
      `${cmd} ${args[0] ?? ""}`,
      `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`,
    );
  }
  return result.stdout;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port"))
      );
    });
  });
}

/** Extra server settings a caller may need (e.g. a small `max_slot_wal_keep_size`). */
export type ServerSettings = Record<string, string | number>;

/** Starts a fresh cluster. */
export async function startCluster(settings: ServerSettings = {}): Promise<PostgresCluster> {
  const binDir = postgresBinDir();
  const dataDir = mkdtempSync(join(tmpdir(), "flusso-pg-"));
  if (isRoot()) execFileSync("chown", ["-R", "postgres:postgres", dataDir]);
  const port = await freePort();
  run(
    join(binDir, "initdb"),
    [
      "-D",
      join(dataDir, "data"),
      "-U",
      "postgres",
      "-A",
      "trust",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ],
    {},
    true,
  );
  const conf = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${dataDir}'`,
    wal_level: "logical",
    max_replication_slots: 64,
    max_wal_senders: 64,
    max_connections: 200,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "256MB",
    logging_collector: "off",
    ...settings,
  };
  const lines = Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join("\n");
  execFileSync("bash", ["-c", `cat >> '${join(dataDir, "data", "postgresql.conf")}'`], {
    input: `\n${lines}\n`,
  });
  const logFile = join(dataDir, "server.log");
  run(
    join(binDir, "pg_ctl"),
    ["start", "-w", "-t", "60", "-D", join(dataDir, "data"), "-l", logFile],
    {},
    true,
  );
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    binDir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run(
          join(binDir, "pg_ctl"),
          ["stop", "-m", "immediate", "-w", "-D", join(dataDir, "data")],
          {},
          true,
        );
      } catch {
        // already gone
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Restarts a cluster's server in place (same port and data), e.g. to test reconnects. */
export function restartCluster(
  cluster: PostgresCluster,
  mode: "fast" | "immediate" = "fast",
): void {
  run(
    join(cluster.binDir, "pg_ctl"),
    [
      "restart",
      "-m",
      mode,
      "-w",
      "-t",
      "60",
      "-D",
      join(cluster.dataDir, "data"),
      "-l",
      join(cluster.dataDir, "server.log"),
    ],
    {},
    true,
  );
}
