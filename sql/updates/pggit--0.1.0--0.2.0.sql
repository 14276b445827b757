-- pgGit 0.1.0 -> 0.2.0: merges, checkout, revert, reset; queued capture (statements that only create objects are queued and
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

-- merges (see docs/merge.md)
-- One row per merge: what was merged into what, how, and where it stands.
CREATE TABLE pggit.merges (
    merge_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,              -- the source ref as given
    target        text NOT NULL,              -- the target branch
    source_commit text NOT NULL,
    target_commit text NOT NULL,              -- the target's head when the merge was prepared
    base_commit   text,
    strategy      text NOT NULL,
    message       text,
    status        text NOT NULL,
    result_commit text,
    error         text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    CONSTRAINT merges_strategy_is_known CHECK (strategy IN ('auto', 'source_wins', 'target_wins', 'union', 'manual_review')),
    CONSTRAINT merges_status_is_known CHECK (status IN ('conflicts', 'ready', 'merged', 'fast_forward', 'up_to_date', 'aborted'))
);

-- The objects a merge decides: every object whose source and target versions differ, and any
-- object whose replay failed. result_hash NULL with a resolution = absent from the result.
CREATE TABLE pggit.merge_items (
    merge_id        bigint NOT NULL REFERENCES pggit.merges,
    identity        text NOT NULL,
    kind            text NOT NULL,
    conflict_type   text NOT NULL,
    auto_resolvable boolean NOT NULL,
    base_hash       text REFERENCES pggit.blobs,
    source_hash     text REFERENCES pggit.blobs,
    target_hash     text REFERENCES pggit.blobs,
    result_hash     text REFERENCES pggit.blobs,
    resolution      text,                      -- NULL while open
    error           text,                      -- PostgreSQL's error when the result was rejected
    resolved_by     text,
    resolved_at     timestamptz,
    PRIMARY KEY (merge_id, identity),
    CONSTRAINT merge_items_class_is_known CHECK (conflict_type IN (
        'NO_CONFLICT', 'SOURCE_MODIFIED', 'TARGET_MODIFIED', 'BOTH_MODIFIED', 'DELETED_SOURCE', 'DELETED_TARGET',
        'BOTH_ADDED', 'SEMANTIC')),
    CONSTRAINT merge_items_resolution_is_known CHECK (resolution IN ('auto', 'source', 'target', 'base', 'custom', 'union'))
);
REVOKE ALL ON pggit.merges, pggit.merge_items FROM PUBLIC;
REVOKE ALL ON SEQUENCE pggit.merges_merge_id_seq FROM PUBLIC;
