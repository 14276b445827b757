CREATE SCHEMA c;
CREATE SEQUENCE c.s1 AS bigint INCREMENT BY 10 MINVALUE 100 MAXVALUE 5000000 START WITH 100 CACHE 1 NO CYCLE;
CREATE SEQUENCE c.s2;
CREATE SEQUENCE c.s3 START WITH 7;
CREATE TABLE c.t (id integer PRIMARY KEY DEFAULT nextval('c.s1'), name text, tags text[], at timestamptz, n integer);
CREATE UNIQUE INDEX t_lower_name_idx ON c.t (lower(name));
CREATE INDEX t_tags_idx ON c.t USING gin (tags);
CREATE INDEX t_name_at_idx ON c.t (name, at) INCLUDE (n, tags);
CREATE INDEX t_at_brin ON c.t USING brin (at);
CREATE INDEX t_n_hash ON c.t USING hash (n);
-- rows: INSERT INTO c.t (name, tags, at, n) VALUES ('a', '{x}', now(), 1), ('b', NULL, NULL, 2)
