-- The example shop: the demo, the tests and the benchmarks share it.
-- customers ─┬─ belongs_to companies
--            ├─ has_one addresses (the default one)
--            ├─ has_many orders ── has_many order_items ── belongs_to products
--            └─ many_to_many tags (through customer_tags)
CREATE TABLE companies (
  id          bigint PRIMARY KEY,
  name        text NOT NULL,
  country     text NOT NULL
);

CREATE TABLE customers (
  id          bigint PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  plan_code   text,
  company_id  bigint REFERENCES companies (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);

CREATE TABLE addresses (
  id          bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  city        text NOT NULL,
  country     text NOT NULL,
  lat         double precision,
  lon         double precision,
  is_default  boolean NOT NULL DEFAULT false
);

CREATE TABLE products (
  id          bigint PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  price       numeric(12, 2) NOT NULL,
  attributes  jsonb NOT NULL DEFAULT '{}',
  active      boolean NOT NULL DEFAULT true
);

CREATE TABLE orders (
  id          bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  status      text NOT NULL,
  total       numeric(12, 2) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
  id          bigint PRIMARY KEY,
  order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id  bigint NOT NULL REFERENCES products (id),
  quantity    integer NOT NULL,
  price       numeric(12, 2) NOT NULL
);

CREATE TABLE tags (
  id          bigint PRIMARY KEY,
  label       text NOT NULL
);

CREATE TABLE customer_tags (
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  tag_id      bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
  PRIMARY KEY (customer_id, tag_id)
);

CREATE INDEX ON customers (company_id);
CREATE INDEX ON addresses (customer_id);
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON order_items (order_id);
CREATE INDEX ON order_items (product_id);
CREATE INDEX ON customer_tags (tag_id);

-- Child tables whose deletes and re-parenting must reach the old parent document.
ALTER TABLE addresses REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE order_items REPLICA IDENTITY FULL;
ALTER TABLE customer_tags REPLICA IDENTITY FULL;
ALTER TABLE customers REPLICA IDENTITY FULL;

-- shop_seed(n): n customers with their addresses, orders, items and tags; deterministic.
CREATE FUNCTION shop_seed(n integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO companies (id, name, country)
    SELECT i, 'Company ' || i, (ARRAY['IT','DE','FR','US','JP'])[1 + i % 5]
    FROM generate_series(1, greatest(n / 10, 1)) i;
  INSERT INTO products (id, sku, name, price, attributes, active)
    SELECT i, 'SKU-' || lpad(i::text, 6, '0'), 'Product ' || i, (i % 500) + 0.99,
           jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + i % 3]), i % 17 <> 0
    FROM generate_series(1, greatest(n / 5, 10)) i;
  INSERT INTO tags (id, label)
    SELECT i, 'tag-' || i FROM generate_series(1, 20) i;
  INSERT INTO customers (id, name, email, plan_code, company_id, created_at)
    SELECT i, 'Customer ' || i, ' Customer' || i || '@Example.com ',
           CASE WHEN i % 4 = 0 THEN NULL ELSE (ARRAY['free','pro','team'])[1 + i % 3] END,
           CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % greatest(n / 10, 1) END,
           timestamptz '2024-01-01 00:00:00+00' + make_interval(mins => i)
    FROM generate_series(1, n) i;
  INSERT INTO addresses (id, customer_id, city, country, lat, lon, is_default)
    SELECT i, 1 + (i - 1) % n, 'City ' || i, 'IT', 45 + (i % 100) / 100.0, 9 + (i % 100) / 100.0, i <= n
    FROM generate_series(1, n + n / 2) i;
  INSERT INTO orders (id, customer_id, status, total, created_at)
    SELECT i, 1 + (i * 7) % n, (ARRAY['paid','pending','refunded'])[1 + i % 3], (i % 1000) + 0.5,
           timestamptz '2024-06-01 00:00:00+00' + make_interval(mins => i)
    FROM generate_series(1, n * 2) i;
  INSERT INTO order_items (id, order_id, product_id, quantity, price)
    SELECT i, 1 + (i - 1) / 2, 1 + i % greatest(n / 5, 10), 1 + i % 4, (i % 200) + 0.25
    FROM generate_series(1, n * 4) i;
  INSERT INTO customer_tags (customer_id, tag_id)
    SELECT c, t FROM generate_series(1, n) c, generate_series(1, 20) t WHERE (c + t) % 7 = 0;
$$;
