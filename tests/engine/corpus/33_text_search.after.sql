CREATE SCHEMA ts;
CREATE TEXT SEARCH DICTIONARY ts.en_stem (TEMPLATE = snowball, language = english);
CREATE TEXT SEARCH DICTIONARY ts.keep_all (TEMPLATE = simple, accept = false);
CREATE TEXT SEARCH CONFIGURATION ts.doc (PARSER = default);
ALTER TEXT SEARCH CONFIGURATION ts.doc ADD MAPPING FOR asciiword, word, hword WITH ts.en_stem;
ALTER TEXT SEARCH CONFIGURATION ts.doc ADD MAPPING FOR int WITH simple;
CREATE TEXT SEARCH CONFIGURATION ts.doc_copy (COPY = ts.doc);
ALTER TEXT SEARCH CONFIGURATION ts.doc_copy ALTER MAPPING FOR int WITH ts.keep_all;
CREATE TABLE ts.docs (id integer PRIMARY KEY, body text);
CREATE INDEX docs_body_idx ON ts.docs USING gin (to_tsvector('ts.doc'::regconfig, body));
-- rows: INSERT INTO ts.docs VALUES (1, 'some words')
