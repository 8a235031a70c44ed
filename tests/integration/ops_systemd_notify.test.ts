/**
 * The real path: `systemd-notify` sending to a fake NOTIFY_SOCKET that a python3 helper
 * receives on (Deno and Node cannot bind unix datagram sockets). Skipped with a reason when
 * either program is missing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { createSystemdNotifier } from "../../src/ops/systemd_notify.ts";
import { silentLogger } from "../../src/ops/logger.ts";

const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;

function missing(): string | undefined {
  for (const [bin, arg] of [["python3", "--version"], ["systemd-notify", "--version"]]) {
    try {
      execFileSync(bin, [arg], { stdio: "ignore" });
    } catch {
      return `${bin} is not available`;
    }
  }
  return undefined;
}

const skip = missing();

describe("ops systemd notify over a fake NOTIFY_SOCKET", { skip }, () => {
  let dir: string;
  let socketPath: string;
  let receiver: ChildProcess;
  const received: string[] = [];
  let waiters: (() => void)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "flusso-notify-"));
    socketPath = join(dir, "notify.sock");
    receiver = spawn("python3", ["-c", RECEIVER, socketPath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: receiver.stdout! });
    await new Promise<void>((resolve, reject) => {
      receiver.once("error", reject);
      lines.on("line", (line) => {
        const message = JSON.parse(line) as string;
        if (message === "bound") return resolve();
        received.push(message);
        const current = waiters;
        waiters = [];
        current.forEach((w) => w());
      });
    });
  });

  after(() => {
    receiver?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // systemd-notify follows each message with a BARRIER=1 handshake; only ours matter here.
  const messages = () => received.filter((m) => m !== "BARRIER=1");
  async function until(count: number) {
    while (messages().length < count) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }

  it("delivers_ready_status_watchdog_and_stopping_to_the_notify_socket", async () => {
    const notifier = createSystemdNotifier({
      logger: silentLogger,
      env: { NOTIFY_SOCKET: socketPath },
    });
    assert.equal(notifier.enabled, true);
    await notifier.ready("live");
    await notifier.status("lag 0 bytes");
    await notifier.watchdog();
    await notifier.stopping();
    await until(4);
    const pid = `MAINPID=${process.pid}`;
    assert.deepEqual(messages(), [
      `${pid}\nREADY=1\nSTATUS=live`,
      `${pid}\nSTATUS=lag 0 bytes`,
      `${pid}\nWATCHDOG=1`,
      `${pid}\nSTOPPING=1`,
    ]);
  });
});
