CREATE SCHEMA c;
CREATE TABLE c.o (id bigint NOT NULL, d date NOT NULL, qty integer,
                  CONSTRAINT o_qty_check CHECK (qty > 0), CONSTRAINT "o d check" CHECK (d >= '2000-01-01'),
                  CONSTRAINT o_id_check CHECK (id > 0)) PARTITION BY RANGE (d);
CREATE TABLE c.o24 PARTITION OF c.o FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE c.o25 PARTITION OF c.o FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE c.loose PARTITION OF c.o (CONSTRAINT loose_id_check CHECK (id < 1000)) FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
-- rows: INSERT INTO c.o VALUES (1, '2024-05-01', 3), (2, '2025-05-01', 4), (3, '2023-05-01', 5)
