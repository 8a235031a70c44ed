/**
 * `flusso service install`: writes the systemd unit for this binary and an absolute config
 * path. It does not create users or run systemctl; it prints those steps instead, so it
 * never changes more of the system than one file.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { existsSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import process from "node:process";
import { DEFAULT_UNIT_OPTIONS, renderUnit, UnitOptionError } from "../ops/systemd_unit.ts";
import { ExitCode } from "./exit_codes.ts";

/** Where the unit goes unless `--output` says otherwise. */
export const DEFAULT_UNIT_PATH = "/etc/systemd/system/flusso.service";

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

/** The `service` command with its `install` subcommand. */
export function serviceCommand() {
  const install = new Command("install")
    .description("write a systemd unit (Type=notify, hardened) for this binary and config")
    .addOption(
      new Option("-c, --config <file>", "flusso.toml the service runs with")
        .default("flusso.toml")
        .env("FLUSSO_CONFIG"),
    )
    .addOption(
      new Option("--binary <path>", "the flusso binary (default: this one when compiled)")
        .env("FLUSSO_SERVICE_BINARY"),
    )
    .addOption(
      new Option("--user <name>", "the dedicated system user to run as")
        .default(DEFAULT_UNIT_OPTIONS.user)
        .env("FLUSSO_SERVICE_USER"),
    )
    .addOption(
      new Option(
        "--environment-file <path>",
        "an optional env file for secrets (DATABASE_URL, FLUSSO_TOKEN, …)",
      )
        .default(DEFAULT_UNIT_OPTIONS.environmentFile!)
        .env("FLUSSO_SERVICE_ENVIRONMENT_FILE"),
    )
    .addOption(
      new Option("-o, --output <path>", "where to write the unit")
        .default(DEFAULT_UNIT_PATH)
        .env("FLUSSO_SERVICE_OUTPUT"),
    )
    .addOption(
      new Option("--dry-run", "print the unit instead of writing it").env("FLUSSO_DRY_RUN"),
    )
    .action((opts) => {
      try {
        installService({
          config: opts.config,
          binary: opts.binary,
          user: opts.user,
          output: opts.output,
          environmentFile: opts.environmentFile,
          dryRun: opts.dryRun === true,
          print: (text) => void process.stdout.write(text),
        });
      } catch (error) {
        if (error instanceof ServiceInstallError) {
          process.stderr.write(`flusso service install: ${error.message}\n`);
          process.exitCode = error.usage ? ExitCode.Usage : ExitCode.Failure;
          return;
        }
        throw error;
      }
    });
  return new Command("service")
    .description("manage the systemd service")
    .addCommand(install);
}
