-- Text search dictionaries and configurations are objects: a configuration is its parser and
-- the dictionaries of each token type; an index over to_tsvector of a configuration is made after
-- it and made again when it is.
CREATE SCHEMA ts;
CREATE TEXT SEARCH DICTIONARY ts.en_stem (TEMPLATE = snowball, language = english);
CREATE TEXT SEARCH DICTIONARY ts.keep_all (TEMPLATE = simple, accept = true);
COMMENT ON TEXT SEARCH DICTIONARY ts.keep_all IS 'every word';
CREATE TEXT SEARCH CONFIGURATION ts.doc (PARSER = default);
ALTER TEXT SEARCH CONFIGURATION ts.doc ADD MAPPING FOR asciiword, word WITH ts.en_stem;
ALTER TEXT SEARCH CONFIGURATION ts.doc ADD MAPPING FOR int, uint WITH ts.keep_all, simple;
COMMENT ON TEXT SEARCH CONFIGURATION ts.doc IS 'documents';
CREATE TABLE ts.docs (id integer PRIMARY KEY, body text);
CREATE INDEX docs_body_idx ON ts.docs USING gin (to_tsvector('ts.doc'::regconfig, body));
-- rows: INSERT INTO ts.docs VALUES (1, 'some words')
