/**
 * Failure policies as a pure decision: which rejections stop the pipeline and which are
 * quarantined. A per-index `on_error` wins over the global one (resolved by the caller).
 */
import type { OnError } from "../config/model.ts";
import type { Rejection } from "./ports.ts";

/** The rejections of one flush, sorted by what the policy does with them. */
export interface PolicyDecision {
  /** The first rejection in an index whose policy is `stop`, if any: the pipeline halts. */
  readonly stop?: Rejection;
  /** Rejections in `skip` indexes: quarantine them and carry on. */
  readonly quarantine: readonly Rejection[];
}

/** Applies `policyOf` to each rejection. */
export function decide(
  rejections: readonly Rejection[],
  policyOf: (index: string) => OnError,
): PolicyDecision {
  const stop = rejections.find((r) => policyOf(r.write.index) === "stop");
  if (stop) return { stop, quarantine: [] };
  return { quarantine: rejections };
}
