/**
 * Figure 3 — backfill throughput (and figure 5's backfill peak RSS). A fresh config (no slot,
 * no index) over a seeded database: the time from starting flusso until every index alias
 * exists — flusso points an alias only once its generation is fully seeded — then a count
 * check. Anchor: Postgres building the same documents alone, `COPY (<document query>) TO
 * STDOUT` into /dev/null (harness/backfill_anchor.ts). Two datasets: `items` at 1M rows and
 * the example shop at 200k customers.
 */
import process from "node:process";
import { copyToDevNull, documentQuery } from "./harness/backfill_anchor.ts";
import { RSS_CEILING_MIB } from "./harness/drain.ts";
import { scaled } from "./harness/env.ts";
import { writeFlussoConfig } from "./harness/flusso_process.ts";
import { type BenchDatabase, benchDatabase } from "./harness/postgres.ts";
import { canRunFlusso, pendingRow, sinkCpuRow, startLive } from "./harness/scenario.ts";
import { countDocuments, startBenchSink } from "./harness/sink.ts";
import {
  ceilingVerdict,
  formatMiB,
  formatRate,
  formatRatio,
  ratioVerdict,
} from "./harness/stats.ts";
import type { Benchmark, BenchRow } from "./harness/suite.ts";
import {
  itemsSchemaYaml,
  itemsSetupSql,
  seedItems,
  seedShop,
  shopSchemaFiles,
  shopSetupSql,
  shopTables,
} from "./harness/workloads.ts";

interface BackfillDataset {
  readonly label: string;
  readonly figure: string;
  readonly short: string;
  readonly setupSql: string;
  readonly tables: readonly string[];
  readonly indexes: Readonly<Record<string, string>>;
  seed(db: BenchDatabase): Promise<void>;
  /** Documents each index must end up with. */
  expected(db: BenchDatabase): Promise<Record<string, number>>;
}

async function measureBackfill(d: BackfillDataset): Promise<BenchRow[]> {
  const target = "≥ 0.5× anchor";
  const db = await benchDatabase(d.label, d.setupSql);
  const sink = canRunFlusso() ? await startBenchSink() : undefined;
  const publication = `${db.name}_pub`;
  const config = sink
    ? await writeFlussoConfig({
      slot: `${db.name}_slot`,
      publication,
      prefix: `${db.name}_`,
      indexes: d.indexes,
    })
    : undefined;
  try {
    await d.seed(db);
    await db.sql.unsafe(
      `CREATE PUBLICATION "${publication}" FOR TABLE ${d.tables.map((t) => `"${t}"`).join(", ")}`,
    );
    const expected = await d.expected(db);
    const documents = Object.values(expected).reduce((a, b) => a + b, 0);
    let anchorSeconds = 0;
    for (const [index, schema] of Object.entries(d.indexes)) {
      anchorSeconds +=
        (await copyToDevNull(db.binDir, db.url, await documentQuery(db.sql, index, schema)))
          .seconds;
    }
    const anchorRate = documents / anchorSeconds;
    const anchorText = `${formatRate(anchorRate)} (COPY document query)`;
    const figure = `${d.figure} (${documents.toLocaleString("en-US")} docs)`;
    if (!sink || !config) {
      return [
        pendingRow(figure, anchorText, target),
        pendingRow(`5. peak RSS, ${d.short}`, "-", `≤ ${RSS_CEILING_MIB} MiB`),
      ];
    }

    const cpuBefore = sink.cpuMs();
    const { flusso, seededAt } = await startLive({
      config,
      databaseUrl: db.url,
      sinkUrl: sink.url,
      sql: db.sql,
      indexes: Object.keys(d.indexes),
      pollMs: 50,
    });
    const seconds = (seededAt - flusso.startedAt) / 1000;
    const cpuAfter = sink.cpuMs();
    const stats = await flusso.stop();
    const shortfalls: string[] = [];
    for (const [index, count] of Object.entries(expected)) {
      const got = await countDocuments(sink.url, `${config.prefix}${index}`);
      if (got !== count) shortfalls.push(`${index}: ${got} of ${count} docs`);
    }
    const rate = documents / seconds;
    const ratio = rate / anchorRate;
    const throughput = ratioVerdict(ratio, 0.5);
    const memory = ceilingVerdict(stats.peakRssBytes / 2 ** 20, RSS_CEILING_MIB, "MiB");
    return [
      {
        figure,
        flusso: `${formatRate(rate)} (CPU ${(stats.cpuMs / 1000).toFixed(1)} s)${
          shortfalls.length ? ` INCOMPLETE ${shortfalls.join(", ")}` : ""
        }`,
        anchor: anchorText,
        ratio: formatRatio(ratio),
        target: throughput.note,
        verdict: shortfalls.length ? "missed" : throughput.verdict,
      },
      {
        figure: `5. peak RSS, ${d.short}`,
        flusso: formatMiB(stats.peakRssBytes),
        anchor: "-",
        ratio: "-",
        target: memory.note,
        verdict: memory.verdict,
      },
      sinkCpuRow(
        `7. emulator CPU, ${d.short}`,
        cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
        seconds,
      ),
    ];
  } finally {
    await sink?.stop();
    config?.remove();
    await db.drop();
  }
}

const count = async (db: BenchDatabase, query: string) =>
  Number((await db.sql.unsafe<{ n: string }[]>(query))[0].n);

/** `backfill`: figure 3 for both datasets (+ their rows of figures 5 and 7). */
export const backfillBenchmark: Benchmark = {
  name: "backfill",
  async run(): Promise<BenchRow[]> {
    const rows = scaled(1_000_000, 1000);
    const customers = scaled(200_000, 100);
    const schemas = shopSchemaFiles();
    // FLUSSO_BENCH_BACKFILL=items (or shop) runs one dataset only.
    const only = process.env.FLUSSO_BENCH_BACKFILL;
    return [
      ...only === "shop" ? [] : await measureBackfill({
        label: "backfill_items",
        figure: "3. backfill, items",
        short: "backfill items",
        setupSql: itemsSetupSql(),
        tables: ["items"],
        indexes: { items: itemsSchemaYaml },
        seed: (db) => seedItems(db.binDir, db.url, rows),
        expected: async (db) => ({ items: await count(db, "SELECT count(*) AS n FROM items") }),
      }),
      ...only === "items" ? [] : await measureBackfill({
        label: "backfill_shop",
        figure: `3. backfill, shop ${customers.toLocaleString("en-US")} customers`,
        short: "backfill shop",
        setupSql: shopSetupSql(),
        tables: shopTables,
        indexes: {
          customers: schemas["customers.schema.yml"],
          products: schemas["products.schema.yml"],
        },
        seed: (db) => seedShop(db.binDir, db.url, customers),
        expected: async (db) => ({
          customers: await count(
            db,
            "SELECT count(*) AS n FROM customers WHERE deleted_at IS NULL",
          ),
          products: await count(db, "SELECT count(*) AS n FROM products WHERE active"),
        }),
      }),
    ];
  },
};
