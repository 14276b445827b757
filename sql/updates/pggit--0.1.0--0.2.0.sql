-- pgGit 0.1.0 -> 0.2.0: queued capture (statements that only create objects are queued and
-- recorded by pggit.flush()). Functions come from the installer's refresh of every engine
-- function after this script; this script carries the table, the new event trigger and the
-- function whose signature changed.

CREATE TABLE pggit.capture_queue (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author      text NOT NULL,
    captured_at timestamptz NOT NULL,
    message     text NOT NULL,
    classids    oid[] NOT NULL,
    objids      oid[] NOT NULL
);
REVOKE ALL ON pggit.capture_queue FROM PUBLIC;
REVOKE ALL ON SEQUENCE pggit.capture_queue_seq_seq FROM PUBLIC;

-- _audit gained two parameters with defaults: the old signature would make calls ambiguous
DROP FUNCTION pggit._audit(text, jsonb, text, text, timestamptz);

-- the event trigger needs its function now; the refresh gives it its real body
CREATE FUNCTION pggit._on_ddl_start() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER pggit_ddl_start ON ddl_command_start EXECUTE FUNCTION pggit._on_ddl_start();

-- nothing looks commits up by parent; the GIN index only slowed every commit (its pending list
-- is merged in one long insert now and then)
DROP INDEX pggit.commits_parent_idx;
