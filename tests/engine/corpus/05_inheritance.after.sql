CREATE SCHEMA c;
CREATE TABLE c.events (id bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload jsonb, source text,
                       CONSTRAINT events_id_check CHECK (id > 0));
CREATE TABLE c.login_events (agent text) INHERITS (c.events);
CREATE TABLE c.audit (who text);
CREATE TABLE c.click_events (id bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload jsonb, x integer, y integer);
CREATE TABLE c.audit_login (note text) INHERITS (c.login_events, c.audit);
-- rows: INSERT INTO c.events (id, payload, source) VALUES (1, '{}', 'app')
-- rows: INSERT INTO c.login_events (id, agent) VALUES (2, 'curl')
