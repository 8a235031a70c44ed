/**
 * `flusso service install`: writes the systemd unit for this binary and an absolute config
 * path. It does not create users or run systemctl; it prints those steps instead, so it
 * never changes more of the system than one file. The command's definition is in
 * service_command.ts.
 */
import { existsSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import process from "node:process";
import { renderUnit, UnitOptionError } from "../ops/systemd_unit.ts";
import { ExitCode } from "./exit_codes.ts";

/** A failure of `service install` a user must fix (exit code 2 for options, 1 for I/O). */
export class ServiceInstallError extends Error {
  constructor(message: string, readonly usage: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServiceInstallError";
  }
}

/** What `installService` needs; every path may be relative (resolved against `cwd`). */
export interface InstallOptions {
  readonly config: string;
  readonly binary?: string;
  readonly user: string;
  readonly output: string;
  readonly dryRun: boolean;
  readonly environmentFile?: string;
  /** Default `process.execPath`. */
  readonly execPath?: string;
  readonly cwd?: string;
  /** Receives what would be printed to stdout. */
  readonly print: (text: string) => void;
}

/**
 * The binary to run: `--binary`, or this process when it is the compiled flusso (not a
 * deno/bun/node interpreter running the sources).
 */
export function resolveBinary(binary: string | undefined, execPath: string, cwd: string): string {
  if (binary !== undefined) return resolve(cwd, binary);
  if (/^(deno|bun|node)(\.exe)?$/.test(basename(execPath))) {
    throw new ServiceInstallError(
      `flusso runs from sources under ${basename(execPath)}; pass --binary with the path of ` +
        "the compiled flusso (make build writes dist/flusso)",
      true,
    );
  }
  return execPath;
}

/** Renders the unit and writes it (or prints it with `dryRun`). Returns the unit text. */
export function installService(options: InstallOptions): string {
  const cwd = options.cwd ?? process.cwd();
  const binary = resolveBinary(options.binary, options.execPath ?? process.execPath, cwd);
  const config = resolve(cwd, options.config);
  let unit: string;
  try {
    unit = renderUnit({
      binary,
      config,
      user: options.user,
      environmentFile: options.environmentFile === undefined
        ? undefined
        : resolve(cwd, options.environmentFile),
    });
  } catch (error) {
    if (error instanceof UnitOptionError) throw new ServiceInstallError(error.message, true);
    throw error;
  }
  if (options.dryRun) {
    options.print(unit);
    return unit;
  }
  const output = resolve(cwd, options.output);
  try {
    writeFileSync(output, unit, { mode: 0o644 });
  } catch (cause) {
    throw new ServiceInstallError(
      `cannot write ${output}: ${(cause as Error).message} (run as root, or pass --output)`,
      false,
      { cause },
    );
  }
  const unitName = basename(output);
  const notes = [
    `wrote ${output}`,
    ...(existsSync(config) ? [] : [`warning: ${config} does not exist yet`]),
    "next steps:",
    `  useradd --system --no-create-home --shell /usr/sbin/nologin ${options.user}   # once`,
    `  chown root:${options.user} ${config} && chmod 0640 ${config}`,
    `  systemctl daemon-reload && systemctl enable --now ${unitName}`,
    `  journalctl -u ${unitName} -f`,
  ];
  options.print(`${notes.join("\n")}\n`);
  return unit;
}

/**
 * `flusso service install` for its parsed options: installs, or prints why not and sets the
 * exit code (2 for options, 1 for I/O).
 */
export function runServiceInstall(options: Omit<InstallOptions, "print">): void {
  try {
    installService({ ...options, print: (text) => void process.stdout.write(text) });
  } catch (error) {
    if (error instanceof ServiceInstallError) {
      process.stderr.write(`flusso service install: ${error.message}\n`);
      process.exitCode = error.usage ? ExitCode.Usage : ExitCode.Failure;
      return;
    }
    throw error;
  }
}
