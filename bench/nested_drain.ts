/**
 * Figure 2 — nested drain throughput. The example shop (customers with belongs_to company,
 * has_one address, has_many orders → has_many items → belongs_to product, many_to_many tags,
 * count and sum aggregates; products with a count aggregate), seeded with 20k customers, then
 * a ~200k-change backlog spread over every table (see workloads.ts `shopMixPerTxn`), timed
 * like figure 1 against the same pg_recvlogical anchor.
 */
import { scaled } from "./harness/env.ts";
import { measureDrain } from "./harness/drain.ts";
import type { Benchmark } from "./harness/suite.ts";
import {
  loadShopBacklog,
  seedShop,
  shopChangesPerTxn,
  shopSchemaFiles,
  shopSetupSql,
  shopTables,
} from "./harness/workloads.ts";

/** `nested_drain`: figure 2 (+ its rows of figures 5 and 7). */
export const nestedDrainBenchmark: Benchmark = {
  name: "nested_drain",
  run() {
    const txns = Math.max(10, Math.round(scaled(200_000, 1000) / shopChangesPerTxn));
    // shop_backlog needs 2 customers per transaction for its distinct tag links.
    const customers = Math.max(scaled(20_000, 100), 2 * txns);
    const schemas = shopSchemaFiles();
    const changes = txns * shopChangesPerTxn;
    return measureDrain({
      label: "nested_drain",
      figure: `2. nested drain, shop (${changes.toLocaleString("en-US")} changes, ${
        customers.toLocaleString("en-US")
      } customers)`,
      short: "nested drain",
      setupSql: shopSetupSql(),
      tables: shopTables,
      indexes: {
        customers: schemas["customers.schema.yml"],
        products: schemas["products.schema.yml"],
      },
      seed: (db) => seedShop(db.binDir, db.url, customers),
      loadBacklog: (db) => loadShopBacklog(db.binDir, db.url, txns),
      changes,
      floor: 0.2,
    });
  },
};
