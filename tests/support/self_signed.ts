/**
 * A throwaway self-signed server certificate for TLS tests, made with the `openssl` CLI (it
 * serves as its own CA: trusting the certificate file trusts the server).
 *
 *     if (!hasOpenssl()) return t.skip("…");
 *     const names = ["DNS:localhost", "IP:127.0.0.1"];
 *     const { key, cert } = selfSignedCertificate(dir, "localhost", names);
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** Whether the `openssl` CLI is installed. */
export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Paths of the generated PEM files. */
export interface SelfSigned {
  readonly key: string;
  readonly cert: string;
}

/**
 * Writes `key.pem` and `cert.pem` into `dir`: an RSA key and a certificate for `commonName`
 * with the subject alternative names `altNames` (e.g. `IP:127.0.0.1`), valid for a day.
 */
export function selfSignedCertificate(
  dir: string,
  commonName: string,
  altNames: readonly string[],
): SelfSigned {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    `subjectAltName=${altNames.join(",")}`,
  ], { stdio: "ignore" });
  return { key, cert };
}
