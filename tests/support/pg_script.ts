/**
 * `make pg-start` / `make pg-stop`: a throwaway cluster shared by the test run, the demo and
 * the benchmarks. `start` writes the cluster's description to .pg/cluster.json (override
 * with FLUSSO_PG_STATE) and prints its URL; `stop` stops it and removes its data.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { startCluster } from "./postgres_cluster.ts";
import type { ClusterInfo } from "./postgres.ts";

const stateFile = process.env.FLUSSO_PG_STATE ?? ".pg/cluster.json";
const command = process.argv[2];

if (command === "start") {
  if (existsSync(stateFile)) {
    const info = JSON.parse(readFileSync(stateFile, "utf8")) as ClusterInfo;
    if (existsSync(`${info.dataDir}/data/postmaster.pid`)) {
      console.log(info.url);
      process.exit(0);
    }
  }
  const cluster = await startCluster();
  mkdirSync(dirname(stateFile), { recursive: true });
  const info: ClusterInfo = {
    url: cluster.url,
    port: cluster.port,
    dataDir: cluster.dataDir,
    binDir: cluster.binDir,
  };
  writeFileSync(stateFile, JSON.stringify(info, null, 2) + "\n");
  console.log(cluster.url);
} else if (command === "stop") {
  if (!existsSync(stateFile)) process.exit(0);
  const info = JSON.parse(readFileSync(stateFile, "utf8")) as ClusterInfo;
  const pgCtl = `${info.binDir}/pg_ctl`;
  const args = ["stop", "-m", "immediate", "-w", "-D", `${info.dataDir}/data`];
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  spawnSync(asRoot ? "runuser" : pgCtl, asRoot ? ["-u", "postgres", "--", pgCtl, ...args] : args, {
    stdio: "ignore",
  });
  rmSync(info.dataDir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
} else {
  console.error("usage: pg_script.ts start|stop");
  process.exit(2);
}
