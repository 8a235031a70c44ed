/**
 * The examples/shop document models, written by hand exactly as
 * examples/shop/schemas/{customers,products}.schema.yml say, until tests can use the loader.
 */
import type {
  DocumentModel,
  Field,
  IndexConfig,
  ScalarField,
  ScalarType,
  SinkConfig,
  TableRef,
} from "../../src/config/model.ts";

const t = (name: string, schema = "public"): TableRef => ({ schema, name });

/** A scalar field with the loader's defaults. */
export function scalar(
  type: ScalarType,
  name: string,
  extra: Partial<Omit<ScalarField, "kind" | "type" | "name">> = {},
): ScalarField {
  return { kind: "scalar", type, name, column: name, required: false, transforms: [], ...extra };
}

const customersFields: Field[] = [
  scalar("long", "id"),
  scalar("text", "name"),
  scalar("keyword", "email", { transforms: ["lowercase", "trim"] }),
  scalar("keyword", "plan", { column: "plan_code", default: "free" }),
  scalar("timestamp", "created_at"),
  {
    kind: "belongs_to",
    name: "company",
    table: t("companies"),
    primaryKey: ["id"],
    column: ["company_id"],
    filters: [],
    orderBy: [],
    fields: [scalar("text", "name"), scalar("keyword", "country")],
  },
  {
    kind: "has_one",
    name: "address",
    table: t("addresses"),
    primaryKey: ["id"],
    foreignKey: ["customer_id"],
    filters: [{ column: "is_default", op: "eq", value: true }],
    orderBy: [],
    fields: [
      scalar("text", "city"),
      scalar("keyword", "country"),
      { kind: "geo", name: "location", lat: "lat", lon: "lon" },
    ],
  },
  {
    kind: "has_many",
    name: "orders",
    table: t("orders"),
    primaryKey: ["id"],
    foreignKey: ["customer_id"],
    filters: [],
    orderBy: [{ column: "created_at", direction: "desc" }],
    limit: 50,
    fields: [
      scalar("long", "id"),
      scalar("keyword", "status"),
      scalar("decimal", "total"),
      scalar("timestamp", "created_at"),
      {
        kind: "has_many",
        name: "items",
        table: t("order_items"),
        primaryKey: ["id"],
        foreignKey: ["order_id"],
        filters: [],
        orderBy: [{ column: "id", direction: "asc" }],
        fields: [
          scalar("integer", "quantity"),
          scalar("decimal", "price"),
          {
            kind: "belongs_to",
            name: "product",
            table: t("products"),
            primaryKey: ["id"],
            column: ["product_id"],
            filters: [],
            orderBy: [],
            fields: [scalar("keyword", "sku"), scalar("text", "name")],
          },
        ],
      },
    ],
  },
  {
    kind: "many_to_many",
    name: "tags",
    table: t("tags"),
    primaryKey: ["id"],
    through: { table: t("customer_tags"), leftKey: "customer_id", rightKey: "tag_id" },
    filters: [],
    orderBy: [{ column: "label", direction: "asc" }],
    fields: [scalar("keyword", "label")],
  },
  {
    kind: "aggregate",
    name: "order_count",
    fn: "count",
    table: t("orders"),
    primaryKey: ["id"],
    foreignKey: ["customer_id"],
    filters: [],
  },
  {
    kind: "aggregate",
    name: "lifetime_value",
    fn: "sum",
    table: t("orders"),
    primaryKey: ["id"],
    column: "total",
    valueType: "double",
    foreignKey: ["customer_id"],
    filters: [{ column: "status", op: "eq", value: "paid" }],
  },
];

/** examples/shop/schemas/customers.schema.yml */
export const customersModel: DocumentModel = {
  file: "examples/shop/schemas/customers.schema.yml",
  table: t("customers"),
  primaryKey: ["id"],
  softDelete: { column: "deleted_at" },
  filters: [],
  fields: customersFields,
};

/** examples/shop/schemas/products.schema.yml */
export const productsModel: DocumentModel = {
  file: "examples/shop/schemas/products.schema.yml",
  table: t("products"),
  primaryKey: ["id"],
  filters: [{ column: "active", op: "eq", value: true }],
  fields: [
    scalar("long", "id"),
    scalar("identifier", "sku"),
    scalar("text", "name"),
    scalar("decimal", "price", { scale: 100 }),
    scalar("json", "attributes"),
    {
      kind: "aggregate",
      name: "times_ordered",
      fn: "count",
      table: t("order_items"),
      primaryKey: ["id"],
      foreignKey: ["product_id"],
      filters: [],
    },
  ],
};

/** An [[index]] around a model, with the loader's defaults. */
export function indexOf(name: string, model: DocumentModel): IndexConfig {
  return { name, enabled: true, onError: "stop", sink: "search", model };
}

/** The shop's two indexes, as examples/shop/flusso.toml declares them. */
export const shopIndexes: readonly IndexConfig[] = [
  indexOf("customers", customersModel),
  { ...indexOf("products", productsModel), onError: "skip" },
];

/** The shop's sink (examples/shop/flusso.toml with the loader's defaults). */
export const shopSink: SinkConfig = {
  name: "search",
  type: "opensearch",
  url: "http://127.0.0.1:9200",
  tlsVerify: true,
  batchSize: 1000,
  maxBytes: 10 * 1024 * 1024,
  timeoutMs: 30_000,
  maxRetries: 8,
  numberOfShards: 1,
  numberOfReplicas: 0,
  refreshInterval: "1s",
  liveRefresh: "immediate",
};
