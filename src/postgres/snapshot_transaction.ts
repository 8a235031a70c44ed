/**
 * Reading as of an exported snapshot: a REPEATABLE READ, read-only transaction whose first
 * statement imports the snapshot (`pg_export_snapshot()` of the slot's creation), so backfill
 * reads see exactly the rows the replication stream starts after.
 */
import type postgres from "postgres";
import { quoteLiteral } from "./identifiers.ts";

/**
 * Runs `run` in a REPEATABLE READ READ ONLY transaction, under `snapshot` when given (else
 * under the transaction's own consistent snapshot).
 */
export async function inSnapshot<T>(
  sql: postgres.Sql,
  snapshot: string | undefined,
  run: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    // Importing a snapshot must be the transaction's first statement.
    if (snapshot) await tx.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    return await run(tx);
  }) as T;
}
