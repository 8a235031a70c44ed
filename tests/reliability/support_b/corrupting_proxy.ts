/**
 * A TCP proxy in front of Postgres that can corrupt the replication stream: it forwards every
 * byte unchanged, except that, when armed, it rewrites the pgoutput message inside the next
 * XLogData carrying an Insert on a replication connection. The frame keeps its length, so the
 * client's protocol layer accepts it and only the pgoutput decoder can notice.
 *
 *     const proxy = await startCorruptingProxy({ port: cluster.port });
 *     proxy.armInsertCorruption(1);      // the next Insert decoded by a replication client
 *     ... DATABASE_URL = proxy.url(db) (sslmode=disable: the proxy must see plain frames)
 *     await proxy.close();
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";

/** A running proxy. */
export interface CorruptingProxy {
  readonly port: number;
  /** `url` with host and port replaced by the proxy's, and `sslmode=disable`. */
  urlFor(url: string): string;
  /** Corrupts the next `count` Insert messages sent to replication clients. */
  armInsertCorruption(count: number): void;
  /** How many messages were corrupted so far. */
  readonly corrupted: number;
  close(): Promise<void>;
}

/** Byte offset of the pgoutput message inside an XLogData CopyData payload ('w' + 3 × 8). */
const XLOG_HEADER = 25;
/** The tag written over 'I': no pgoutput message type uses 'Z'. */
const BAD_TAG = 0x5a;

/** Starts the proxy on 127.0.0.1 (a free port) in front of 127.0.0.1:`port`. */
export async function startCorruptingProxy(options: { port: number }): Promise<CorruptingProxy> {
  let armed = 0;
  let corrupted = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(options.port, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    let replication: boolean | undefined;
    let pending: Buffer = Buffer.alloc(0);

    client.on("data", (chunk: Buffer) => {
      // The startup packet names the replication mode; everything after is forwarded as is.
      if (replication === undefined) replication = chunk.includes("replication\0database");
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!replication) {
        client.write(chunk);
        return;
      }
      // Re-frame the server's messages (type byte + int32 length) to find CopyData frames.
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 5) {
        const length = pending.readInt32BE(at + 1);
        if (pending.length - at < 1 + length) break;
        const type = pending[at];
        const body = at + 5;
        if (
          armed > 0 && type === 0x64 && pending[body] === 0x77 &&
          length - 4 > XLOG_HEADER && pending[body + XLOG_HEADER] === 0x49
        ) {
          pending[body + XLOG_HEADER] = BAD_TAG;
          armed--;
          corrupted++;
        }
        at += 1 + length;
      }
      if (at > 0) {
        client.write(pending.subarray(0, at));
        pending = Buffer.from(pending.subarray(at));
      }
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    urlFor(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      u.searchParams.set("sslmode", "disable");
      return u.toString();
    },
    armInsertCorruption(count) {
      armed = count;
    },
    get corrupted() {
      return corrupted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
