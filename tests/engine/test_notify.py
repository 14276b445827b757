"""Engine events: NOTIFY pggit is sent by the transaction that captured a statement or wrote an
audit row, when it commits, and never by one that rolled back (the web app's listener)."""

from __future__ import annotations

import psycopg
import pytest


def _listener(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("LISTEN pggit")
    return conn


def _received(conn: psycopg.Connection, timeout: float = 0.5) -> list[str]:
    return [n.channel for n in conn.notifies(timeout=timeout, stop_after=50)]


def test_captured_statement_notifies_when_it_commits(repo):
    server, db, client = repo
    listener = _listener(server.dsn_for(db))
    try:
        with psycopg.connect(server.dsn_for(db)) as conn:
            conn.execute("CREATE TABLE notified (a int)")
            assert _received(listener, 0.3) == []  # not before the commit
            conn.commit()
        assert _received(listener) == ["pggit"]
        with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
            # while that statement waits in the queue, the next ones wake nobody again: whoever
            # flushes the queue looks at it again afterwards
            conn.execute("ALTER TABLE notified ADD COLUMN b text")
            conn.execute("COMMENT ON TABLE notified IS 'x'")
            assert _received(listener) == []
            assert conn.execute("SELECT pggit.capture_pending()").fetchone()[0] is True
            conn.execute("SELECT pggit.flush()")
            assert conn.execute("SELECT pggit.capture_pending()").fetchone()[0] is False
            assert _received(listener) == ["pggit"]  # the flush wrote their commits' audit rows
            # once flushed, a statement that changes an existing object (described at once) notifies
            conn.execute("ALTER TABLE notified ADD COLUMN c text")
        assert _received(listener) == ["pggit"]
    finally:
        listener.close()


def test_rolled_back_statement_notifies_nothing(repo):
    server, db, client = repo
    listener = _listener(server.dsn_for(db))
    try:
        with psycopg.connect(server.dsn_for(db)) as conn:
            conn.execute("CREATE TABLE never (a int)")
            conn.execute("COMMENT ON TABLE never IS 'x'")
            conn.rollback()
        assert _received(listener) == []
        assert client.log("HEAD")[0]["message"] != "COMMENT ON TABLE never IS 'x'"
    finally:
        listener.close()


def test_branch_operations_notify_and_the_log_has_them(repo):
    server, db, client = repo
    listener = _listener(server.dsn_for(db))
    try:
        client.create_branch("feature")
        assert _received(listener) == ["pggit"]
        with psycopg.connect(server.dsn_for(db)) as conn:
            ops = [r[0] for r in conn.execute("SELECT operation FROM pggit.audit_log ORDER BY id")]
        assert ops[-1] == "create_branch"
    finally:
        listener.close()


def test_notify_can_be_turned_off_for_two_phase_commit(repo):
    server, db, client = repo
    listener = _listener(server.dsn_for(db))
    try:
        with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
            assert conn.execute("SELECT pggit.configure_notify(false)").fetchone()[0] is False
            _received(listener, 0.2)
            conn.execute("CREATE TABLE quiet (a int)")
            conn.execute("SELECT pggit.flush()")
            assert _received(listener) == []
            assert conn.execute("SELECT pggit.configure_notify(true)").fetchone()[0] is True
            _received(listener, 0.2)
            conn.execute("SELECT pggit.flush()")  # (quiet's row: see above)
            _received(listener, 0.2)
            conn.execute("CREATE TABLE loud (a int)")
            assert _received(listener) == ["pggit"]
            with pytest.raises(psycopg.errors.NullValueNotAllowed):
                conn.execute("SELECT pggit.configure_notify(NULL)")
    finally:
        listener.close()
