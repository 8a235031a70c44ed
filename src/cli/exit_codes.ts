/**
 * Process exit codes, documented in the README.
 *
 * 0: success. 1: a runtime failure a retry could not fix (slot lost, a `stop` policy halted
 * the pipeline, findings with errors). 2: a usage or configuration error.
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
} as const;

/** One of the documented exit codes. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];
