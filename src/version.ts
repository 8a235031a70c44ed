/** flusso's version: the one place it is written. */
export const VERSION = "0.1.0";
