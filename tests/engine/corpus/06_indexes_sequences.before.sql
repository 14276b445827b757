-- Indexes (unique, partial, expression, INCLUDE, DESC, gin, brin) and sequences (options, OWNED BY).
CREATE SCHEMA c;
CREATE SEQUENCE c.s1 AS integer INCREMENT BY 5 MINVALUE 100 MAXVALUE 999999 START WITH 100 CACHE 1 CYCLE;
CREATE SEQUENCE c.s2;
CREATE SEQUENCE c.gone_seq;
CREATE TABLE c.t (id integer PRIMARY KEY DEFAULT nextval('c.s1'), name text, tags text[], at timestamptz, n integer);
ALTER SEQUENCE c.s2 OWNED BY c.t.n;
CREATE UNIQUE INDEX t_lower_name_idx ON c.t (lower(name)) WHERE name IS NOT NULL;
CREATE INDEX t_tags_idx ON c.t USING gin (tags);
CREATE INDEX t_name_at_idx ON c.t (name, at DESC NULLS LAST) INCLUDE (n);
CREATE INDEX t_at_brin ON c.t USING brin (at);
CREATE INDEX t_gone_idx ON c.t (n);
-- rows: INSERT INTO c.t (name, tags, at, n) VALUES ('a', '{x}', now(), 1), ('b', NULL, NULL, 2)
