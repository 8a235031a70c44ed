/**
 * What `flusso status`, `flusso indexes` and `flusso reindex` share at run time: turning their
 * options (see instance_options.ts) into a target, and failures into an exit code.
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { loadConfig } from "../config/load.ts";
import { Secret } from "../config/secret.ts";
import type { ServerConfig } from "../config/model.ts";
import {
  type InstanceTarget,
  OpsClientError,
  resolveTarget,
  type Surface,
} from "../ops/ops_client.ts";
import { ExitCode } from "./exit_codes.ts";
import { DEFAULT_CONFIG } from "./instance_options.ts";

/** Parsed instance options. */
export interface InstanceFlags {
  readonly config?: string;
  readonly url?: string;
  readonly token?: string;
}

/** The `[server]` section to use, or undefined when there is no config to read. */
export async function serverConfigFor(
  flags: InstanceFlags,
  load: (path: string) => Promise<{ readonly server: ServerConfig }> = loadConfig,
): Promise<ServerConfig | undefined> {
  const path = flags.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  // With both a URL and a token there is nothing to read from the config.
  if (path === undefined || (flags.url !== undefined && flags.token !== undefined)) {
    return undefined;
  }
  return (await load(path)).server;
}

/** Resolves flags (and the config, when needed) into a target. */
export async function targetFor(
  surface: Surface,
  flags: InstanceFlags,
  load?: (path: string) => Promise<{ readonly server: ServerConfig }>,
): Promise<InstanceTarget> {
  const needsConfig = flags.url === undefined ||
    (surface === "private" && flags.token === undefined);
  const server = needsConfig ? await serverConfigFor(flags, load) : undefined;
  return resolveTarget({
    surface,
    url: flags.url,
    token: flags.token === undefined || flags.token === "" ? undefined : new Secret(flags.token),
    server,
  });
}

/** Runs a client command body, turning failures into a message and an exit code. */
export async function runClient(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof OpsClientError) {
      process.stderr.write(`flusso: ${error.message}\n`);
      process.exitCode = ExitCode.Failure;
      return;
    }
    throw error;
  }
}
