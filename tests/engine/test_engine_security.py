"""Engine state that no role can forge (issue: least privilege).

A role that owns only its own schema must not be able to make the engine record a change that
did not happen (the dropped-object list, the absorb mode), nor skip capture; the audit log stays
append-only. Every test connects as a real unprivileged login role.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo


@pytest.fixture
def attacker(repo):
    """(dsn, role): a login role with no attribute, owning schema ``att`` and nothing else.
    ``public.customers`` (owned by the engine's owner) is in HEAD's tree."""
    server, dbname, client = repo
    role = f"pggit_t_att_{uuid.uuid4().hex[:8]}"
    with server.connect(dbname) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE SCHEMA att AUTHORIZATION {}").format(sql.Identifier(role)))
        conn.execute("CREATE TABLE public.customers (id integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO public.customers VALUES (1, 'x')")
    yield make_conninfo(server.dsn_for(dbname), user=role), role
    with server.connect(dbname) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _tree(client) -> set[str]:
    return {r["identity"] for r in client.tree()}


def test_forged_dropped_list_records_no_false_drop(repo, attacker):
    server, dbname, client = repo
    dsn, role = attacker
    oid = client.conn.execute("SELECT 'public.customers'::regclass::oid AS o").fetchone()["o"]
    head = client.resolve("HEAD")
    with psycopg.connect(dsn) as conn:  # one transaction: the forged value, then DDL
        assert conn.execute("SELECT current_user").fetchone()[0] == role
        conn.execute("SELECT set_config('pggit.dropped', %s, true)", (f"D1259/{oid}",))
        conn.execute("CREATE TABLE att.t1 (a integer)")
        conn.execute("ALTER TABLE att.t1 ADD COLUMN b text")  # a directly captured statement
    with psycopg.connect(dsn, autocommit=True) as conn:  # the absorb mode's lists, forged too
        conn.execute("SET pggit.capture = 'absorb'")
        conn.execute("SET pggit.absorb_dropped = %s" % psycopg.sql.quote(f"1259/{oid}"))
        conn.execute("ALTER TABLE att.t1 ADD COLUMN c text")
    tree = _tree(client)
    assert "table public.customers" in tree
    assert "table att.t1" in tree
    changes = {c["identity"]: c["change"] for c in client.diff(head, "HEAD")}
    assert "table public.customers" not in changes
    assert changes["table att.t1"] == "added"
    assert not any("customers" in s for s in client.migration(head, "HEAD"))
    assert client.drift() == []
    # the t1 columns were captured although the session claimed absorb mode
    definition = next(r for r in client.show() if r["identity"] == "table att.t1")
    assert "c text" in str(definition)


def test_capture_off_from_a_non_admin_role_is_ignored(repo, attacker):
    server, dbname, client = repo
    dsn, role = attacker
    before = client.resolve("HEAD")
    notices: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("CREATE TABLE att.hidden (x integer)")
        conn.execute("CREATE VIEW att.v AS SELECT x FROM att.hidden")
    assert client.resolve("HEAD") != before
    assert {"table att.hidden", "view att.v"} <= _tree(client)
    assert client.drift() == []
    assert any("pggit.capture = off is ignored" in n for n in notices)
    log = client.log(limit=5)
    assert any(c["author"] == role for c in log)


def test_capture_off_by_a_pggit_admin_member_shows_as_drift(repo, attacker):
    server, dbname, client = repo
    dsn, role = attacker
    with server.connect(dbname) as conn:
        conn.execute(sql.SQL("GRANT pggit_admin TO {}").format(sql.Identifier(role)))
    before = client.resolve("HEAD")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("CREATE TABLE att.untracked (x integer)")
    assert client.resolve("HEAD") == before
    assert "table att.untracked" not in _tree(client)
    assert {r["identity"]: r["change"] for r in client.drift()} == {"table att.untracked": "added"}


def test_tx_state_and_audit_log_are_out_of_reach(repo, attacker):
    server, dbname, client = repo
    dsn, role = attacker
    client.create_branch("b1")
    n = client.conn.execute("SELECT count(*) AS n FROM pggit.audit_log").fetchone()["n"]
    assert n > 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for stmt in ("DELETE FROM pggit.audit_log", "TRUNCATE pggit.audit_log",
                     "INSERT INTO pggit.tx_state (xid, key, value) VALUES (pg_current_xact_id(), 'dropped', 'D1/1')",
                     "SELECT pggit._tx_append('dropped', 'D1259/1')",
                     "UPDATE pggit.branches SET head = NULL"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)
    with pytest.raises(psycopg.Error, match="append-only"):  # the owner neither
        with client.conn.transaction():
            client.conn.execute("DELETE FROM pggit.audit_log")
    assert client.conn.execute("SELECT count(*) AS n FROM pggit.audit_log").fetchone()["n"] == n
    # no per-transaction state is left behind by captured drops
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE att.gone (x integer)")
        conn.execute("DROP TABLE att.gone")
    assert client.conn.execute("SELECT count(*) AS n FROM pggit.tx_state").fetchone()["n"] == 0
    assert "table att.gone" not in _tree(client)
