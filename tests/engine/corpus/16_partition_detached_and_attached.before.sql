-- A partition is detached (it keeps its own primary key, loses the parent's index) and a
-- standalone table is attached (it gains the parent's primary key and index).
CREATE SCHEMA c;
CREATE TABLE c.o (id bigint NOT NULL, d date NOT NULL, region text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE INDEX o_region_idx ON c.o (region);
CREATE TABLE c.o24 PARTITION OF c.o FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE c.loose (id bigint NOT NULL, d date NOT NULL, region text);
-- rows: INSERT INTO c.o VALUES (1, '2024-05-01', 'eu')
-- rows: INSERT INTO c.loose VALUES (2, '2023-05-01', 'us')
