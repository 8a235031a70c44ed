/**
 * The standalone emulator (`deno task emulator --port 9200`, used by `make demo`): listens on
 * 127.0.0.1, prints its URL, and runs until SIGINT/SIGTERM.
 *
 *     deno run -A tests/support/opensearch/main.ts [--port 9200] [--max-content-length BYTES] [--no-log]
 */
import process from "node:process";
import { startEmulator } from "./emulator.ts";

function parseArgs(argv: string[]): { port: number; maxContentLength?: number; log: boolean } {
  const out: { port: number; maxContentLength?: number; log: boolean } = { port: 9200, log: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    if (flag === "--port") out.port = Number(value());
    else if (flag === "--max-content-length") out.maxContentLength = Number(value());
    else if (flag === "--no-log") out.log = false;
    else if (flag === "--help" || flag === "-h") {
      console.log("usage: main.ts [--port 9200] [--max-content-length BYTES] [--no-log]");
      process.exit(0);
    } else {
      console.error(`unknown argument: ${argv[i]}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) {
    console.error(`--port must be 0..65535, got ${out.port}`);
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
// `--no-log` for long demos: the request log (GET /_emulator/requests) only grows.
const emulator = await startEmulator({
  port: args.port,
  maxContentLength: args.maxContentLength,
  logRequests: args.log,
});
console.log(emulator.url);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    emulator.close().then(() => process.exit(0));
  });
}
