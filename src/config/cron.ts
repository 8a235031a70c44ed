/**
 * Validation of `verify` / `reindex` schedules with croner, the scheduler that will run
 * them, so a schedule accepted here is one the scheduler can run.
 */
import { Cron } from "croner";

/** The reason `expression` is not a valid schedule, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    const job = new Cron(expression, { paused: true });
    job.stop();
    return undefined;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).replace(/^CronPattern:\s*/, "");
  }
}
