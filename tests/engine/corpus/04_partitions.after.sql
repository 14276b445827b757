CREATE SCHEMA c;
CREATE TABLE c.orders (id bigint NOT NULL, d date NOT NULL, region text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE c.orders_2024 PARTITION OF c.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE c.orders_2025 PARTITION OF c.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE c.orders_2026 PARTITION OF c.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE c.orders_default PARTITION OF c.orders DEFAULT;
CREATE TABLE c.moves (id bigint, region text NOT NULL, qty integer) PARTITION BY LIST (region);
CREATE TABLE c.moves_eu PARTITION OF c.moves FOR VALUES IN ('eu', 'uk', 'ie');
CREATE TABLE c.moves_us PARTITION OF c.moves FOR VALUES IN ('us') PARTITION BY RANGE (qty);
CREATE TABLE c.moves_us_small PARTITION OF c.moves_us FOR VALUES FROM (0) TO (100);
CREATE TABLE c.moves_us_big PARTITION OF c.moves_us FOR VALUES FROM (100) TO (MAXVALUE);
CREATE TABLE c.loose (id bigint NOT NULL, d date NOT NULL, region text);
CREATE INDEX orders_region_idx ON c.orders (region);
-- rows: INSERT INTO c.orders VALUES (1, '2024-05-01', 'eu'), (2, '2025-05-01', 'us'), (3, '2030-01-01', NULL)
-- rows: INSERT INTO c.moves VALUES (1, 'eu', 5), (2, 'us', 50)
