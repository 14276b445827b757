-- Inheritance: children gain and lose parents and columns; a parent's constraint reaches its children.
CREATE SCHEMA c;
CREATE TABLE c.events (id bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload jsonb,
                       CONSTRAINT events_id_check CHECK (id > 0));
CREATE TABLE c.login_events (agent text) INHERITS (c.events);
CREATE TABLE c.audit (who text);
CREATE TABLE c.click_events (x integer, y integer) INHERITS (c.events);
-- rows: INSERT INTO c.events (id, payload) VALUES (1, '{}')
-- rows: INSERT INTO c.login_events (id, agent) VALUES (2, 'curl')
