-- A standalone table is attached to a partitioned parent with CHECK constraints (it gains them:
-- one it already has, under the parent's name, merges), and a partition whose parent gains a
-- CHECK constraint changes bounds (detached and attached again).
CREATE SCHEMA c;
CREATE TABLE c.o (id bigint NOT NULL, d date NOT NULL, qty integer,
                  CONSTRAINT o_qty_check CHECK (qty > 0), CONSTRAINT "o d check" CHECK (d >= '2000-01-01')) PARTITION BY RANGE (d);
CREATE TABLE c.o24 PARTITION OF c.o FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE c.o25 PARTITION OF c.o FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE TABLE c.loose (id bigint NOT NULL, d date NOT NULL, qty integer,
                      CONSTRAINT o_qty_check CHECK (qty > 0), CONSTRAINT loose_id_check CHECK (id < 1000));
-- rows: INSERT INTO c.o VALUES (1, '2024-05-01', 3), (2, '2025-05-01', 4)
-- rows: INSERT INTO c.loose VALUES (3, '2023-05-01', 5)
