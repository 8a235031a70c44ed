/**
 * TLS for the security tests: a throwaway certificate authority and a server certificate for
 * `localhost`/`127.0.0.1` made with the `openssl` CLI, and an HTTPS proxy (node:https) in front
 * of the OpenSearch emulator that also demands basic auth, as a secured cluster would.
 *
 *     const pki = makeTestPki(dir);                   // pki.caCert, pki.serverCert, pki.serverKey, pki.otherCaCert
 *     const proxy = await startTlsProxy({ target: emulator.url, pki, username: "u", password: "p" });
 *     proxy.url  // https://127.0.0.1:<port>
 */
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import { join } from "node:path";

/** Paths of the generated PEM files. */
export interface TestPki {
  /** The CA that signed the server certificate. */
  readonly caCert: string;
  /** A second, unrelated CA: trusting it instead must fail verification. */
  readonly otherCaCert: string;
  /** Server certificate (SAN: DNS localhost, IP 127.0.0.1) and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Generates the CA, a server certificate signed by it, and an unrelated CA, into `dir`. */
export function makeTestPki(dir: string): TestPki {
  const p = (name: string) => join(dir, name);
  for (const ca of ["ca", "other-ca"]) {
    openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=flusso test ${ca}`,
      "-keyout",
      p(`${ca}.key`),
      "-out",
      p(`${ca}.pem`),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
  }
  openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
  ], dir);
  writeFileSync(
    p("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  openssl([
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("server.ext"),
    "-out",
    p("server.pem"),
  ], dir);
  return {
    caCert: p("ca.pem"),
    otherCaCert: p("other-ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
  };
}

/** A running HTTPS proxy. */
export interface TlsProxy {
  /** `https://127.0.0.1:<port>` (the certificate names that IP) */
  readonly url: string;
  /** Requests that presented the right credentials, and those refused with 401. */
  readonly accepted: number;
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts an HTTPS proxy to `target` (plain HTTP) that requires `username`/`password`. */
export async function startTlsProxy(options: {
  readonly target: string;
  readonly pki: TestPki;
  readonly username: string;
  readonly password: string;
}): Promise<TlsProxy> {
  const expected = `Basic ${
    Buffer.from(`${options.username}:${options.password}`).toString("base64")
  }`;
  const target = new URL(options.target);
  let accepted = 0;
  let refused = 0;
  const server: Server = createServer({
    key: readFileSync(options.pki.serverKey),
    cert: readFileSync(options.pki.serverCert),
  }, (req, res) => {
    if (req.headers.authorization !== expected) {
      refused++;
      req.resume();
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": 'Basic realm="test"',
      });
      res.end(JSON.stringify({ error: "unauthorized", status: 401 }));
      return;
    }
    accepted++;
    const headers = { ...req.headers, host: target.host };
    delete headers.authorization;
    const upstream = httpRequest({
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
