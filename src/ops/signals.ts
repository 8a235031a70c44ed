/**
 * Shutdown on SIGTERM/SIGINT: the first signal asks for a graceful stop (the engine finishes
 * or abandons its in-flight batch and confirms what was flushed); a second one exits at once,
 * for an operator who does not want to wait.
 */
import process from "node:process";

/** The signals that stop flusso. */
export type ShutdownSignal = "SIGTERM" | "SIGINT";

/** The part of `process` this needs, so tests can pass a fake. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: () => void): unknown;
  off(signal: ShutdownSignal, listener: () => void): unknown;
}

/** Where to listen and how to exit; `process` by default. */
export interface ShutdownSignalOptions {
  readonly source?: SignalSource;
  readonly exit?: (code: number) => void;
}

/** The exit code of a forced exit: 128 + the signal's number, as shells report it. */
export const forcedExitCode: Readonly<Record<ShutdownSignal, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
};

/**
 * Calls `onStop` on the first SIGTERM/SIGINT and exits immediately on the second. Returns a
 * function that removes the listeners (call it once the stop completed).
 */
export function onShutdownSignals(
  onStop: (signal: ShutdownSignal) => void,
  options: ShutdownSignalOptions = {},
): () => void {
  const source = options.source ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const listeners = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const listener = () => {
      if (stopping) return exit(forcedExitCode[signal]);
      stopping = true;
      onStop(signal);
    };
    source.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) source.off(signal, listener);
  };
}

/**
 * An `AbortSignal` that aborts on the first SIGTERM/SIGINT (its `reason` names the signal),
 * for `runEngine`; a second signal exits at once. `dispose` removes the listeners.
 */
export function abortOnShutdownSignals(
  options: ShutdownSignalOptions = {},
): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const dispose = onShutdownSignals((signal) => controller.abort(signal), options);
  return { signal: controller.signal, dispose };
}
