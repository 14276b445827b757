CREATE SCHEMA c;
CREATE TABLE c.o (id bigint NOT NULL, d date NOT NULL, region text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE INDEX o_region_idx ON c.o (region);
CREATE TABLE c.o24 (id bigint NOT NULL, d date NOT NULL, region text, CONSTRAINT o24_pkey PRIMARY KEY (id, d));
CREATE TABLE c.loose PARTITION OF c.o FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
-- rows: INSERT INTO c.o VALUES (2, '2023-05-01', 'us')
-- rows: INSERT INTO c.o24 VALUES (1, '2024-05-01', 'eu')
