-- pgGit 0.3.0 -> 0.4.0: capture's per-transaction state moves from settings any role could set
-- (pggit.dropped, pggit.absorb_*) to table pggit.tx_state, written only by the engine; turning
-- capture off is allowed only to the engine's owner, superusers and members of pggit_admin.
-- Functions are re-created from the sources by the installer.
CREATE TABLE pggit.tx_state (
    xid   xid8 NOT NULL,
    key   text NOT NULL,
    value text NOT NULL DEFAULT '',
    PRIMARY KEY (xid, key),
    CONSTRAINT tx_state_key_is_known CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped'))
);
REVOKE ALL ON pggit.tx_state FROM PUBLIC;

DO $$
BEGIN
    IF to_regrole('pggit_admin') IS NULL THEN
        CREATE ROLE pggit_admin NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'pgGit: role pggit_admin not created (CREATEROLE needed): only the engine''s owner and superusers may turn capture off';
END $$;
