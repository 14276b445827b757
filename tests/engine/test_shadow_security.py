"""SQL a person writes runs in the shadow database as an unprivileged role, whoever calls
(issue: least privilege).

The client here connects with a superuser DSN, as the web app and the CLI usually do. ``apply``,
custom conflict resolutions and the replays of recorded states must still run as the shadow
database's own role: no superuser, no attribute, no membership, owner of the shadow and nothing
else. Every attack below is refused with PostgreSQL's permission error and changes nothing.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from psycopg import sql

from pggit.cli import main as cli_main
from pggit.errors import ShadowReplayError, ShadowUnavailable

ATTACKS = {
    "copy to program": ("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", r"permission denied|must be superuser"),
    "read a server file": ("SELECT pg_read_file('/etc/passwd')", r"permission denied"),
    "create a superuser": ("CREATE ROLE {role} SUPERUSER LOGIN", r"permission denied|must be superuser"),
    "untrusted extension": ("CREATE EXTENSION dblink", r"permission denied|not available|could not open"),
    # (in the transaction that holds the person's SQL PostgreSQL refuses it before asking who runs
    # it; test_shadow_connection_is_not_a_superuser runs it alone, where the permission check says no)
    "alter system": ("ALTER SYSTEM SET work_mem = '1MB'", r"permission denied|must be superuser|cannot run inside"),
    "drop the live database": ("DROP DATABASE {live}", r"permission denied|must be owner|cannot (run|be executed) inside"),
}


def _run(server, db, *statements):
    with server.connect(db) as conn:
        for s in statements:
            conn.execute(s)


@pytest.fixture
def branch_repo(repo):
    server, db, client = repo
    _run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int, c int)", "INSERT INTO items VALUES (1, 2, 3)")
    client.create_branch("feature")
    marker = f"/tmp/pggit_attack_{uuid.uuid4().hex}"
    role = f"pggit_t_evil_{uuid.uuid4().hex[:8]}"
    yield server, db, client, marker, role
    if os.path.exists(marker):
        os.unlink(marker)
    with server.connect(db) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _attack_sql(name, marker, role, live):
    text, expected = ATTACKS[name]
    return text.format(marker=marker, role=sql.Identifier(role).as_string(), live=sql.Identifier(live).as_string()), expected


def _nothing_changed(server, db, client, marker, role, head_before, dump_before):
    assert not os.path.exists(marker)
    assert client.resolve("feature") == head_before
    assert server.dump_schema(db) == dump_before
    with server.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (db,)).fetchone()[0] == 1
        assert conn.execute("SELECT setting FROM pg_settings WHERE name = 'work_mem'").fetchone()[0] != "1024"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_apply_as_superuser_dsn_runs_as_the_shadow_role(branch_repo, attack):
    server, db, client, marker, role = branch_repo
    head_before, dump_before = client.resolve("feature"), server.dump_schema(db)
    text, expected = _attack_sql(attack, marker, role, db)
    with pytest.raises(ShadowReplayError, match=expected):
        client.apply("feature", f"CREATE TABLE harmless (x int); {text}")
    _nothing_changed(server, db, client, marker, role, head_before, dump_before)
    with server.connect(db) as conn:  # nothing persisted in ALTER SYSTEM's file either
        assert conn.execute("SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem' AND setting = '1MB'"
                            ).fetchone()[0] == 0


def test_shadow_connection_is_not_a_superuser(branch_repo):
    server, db, client, marker, role = branch_repo
    client.apply("feature", "CREATE TABLE t1 (x int)")
    shadow = client.apply_shadow
    with shadow.connect_untrusted() as conn:
        row = conn.execute(
            "SELECT current_user AS who, session_user AS login, r.rolsuper, r.rolcreatedb, r.rolcreaterole,"
            " r.rolreplication, r.rolbypassrls, pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') AS prog,"
            " pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') AS rd,"
            " (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) AS memberships,"
            " (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS owner"
            " FROM pg_roles r WHERE r.rolname = current_user").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # RESET ROLE leads nowhere
            conn.execute("RESET ROLE")
            conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # alone, outside a transaction block
            conn.execute("ALTER SYSTEM SET work_mem = '1MB'")
    assert row["who"] == row["login"] == shadow.role and row["owner"] == shadow.role
    assert not any(row[k] for k in ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls",
                                    "prog", "rd", "memberships"))
    with server.connect(db) as conn:  # NOLOGIN at rest: nobody logs in as it between our connections
        assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (shadow.role,)).fetchone()[0] is False


def test_custom_resolution_runs_as_the_shadow_role(branch_repo):
    server, db, client, marker, role = branch_repo
    client.create_branch("other")
    client.apply("feature", "ALTER TABLE items DROP COLUMN c")
    client.apply("other", "CREATE VIEW v AS SELECT id, c FROM items")
    result = client.merge("other", target="feature")
    assert result["status"] == "conflicts"
    merge_id = result["merge_id"]
    items_before = client.merge_items(merge_id)
    head_before, dump_before = client.resolve("feature"), server.dump_schema(db)
    for attack in sorted(ATTACKS):
        text, expected = _attack_sql(attack, marker, role, db)
        with pytest.raises(ShadowReplayError, match=expected):
            client.resolve_conflict(merge_id, "view public.v", "custom", f"{text}; CREATE VIEW v AS SELECT id FROM items")
    _nothing_changed(server, db, client, marker, role, head_before, dump_before)
    assert client.merge_items(merge_id) == items_before


def test_code_in_recorded_definitions_replays_as_the_shadow_role(branch_repo):
    """A function that runs OS commands, used by a materialized view created WITH NO DATA (so it
    could be recorded): replaying the branch (merge verification) creates the view WITH DATA and
    runs the function, as the shadow role, which is refused."""
    server, db, client, marker, role = branch_repo
    client.create_branch("target")
    client.apply("target", "CREATE TABLE on_target (x int)")
    commit = client.apply("feature", f"""
        CREATE FUNCTION public.evil() RETURNS integer LANGUAGE plpgsql AS $$
        BEGIN COPY (SELECT 1) TO PROGRAM 'touch {marker}'; RETURN 1; END $$;
        CREATE MATERIALIZED VIEW public.mv AS SELECT public.evil() AS x WITH NO DATA;""")
    assert commit is not None
    with pytest.raises(ShadowReplayError, match=r"permission denied|must be superuser"):
        client.shadow.verify(commit)
    target_head = client.resolve("target")
    result = client.merge("feature", target="target", message="merge")  # verified in the shadow
    assert result["status"] == "conflicts", result
    assert "materialized view public.mv" in {c["identity"] for c in result["conflicts"]}
    assert client.resolve("target") == target_head and not os.path.exists(marker)


def test_shadow_role_cannot_forge_the_marker(branch_repo):
    server, db, client, marker, role = branch_repo
    head = client.resolve("feature")
    client.shadow.verify(head)
    assert client.shadow.marker() == {"ref": head, "engine": False}
    for text in ("INSERT INTO pggit_shadow.state VALUES ('x', false)", "DELETE FROM pggit_shadow.state",
                 "DROP SCHEMA pggit_shadow CASCADE"):
        with pytest.raises(ShadowReplayError, match="permission denied|must be owner"):
            client.shadow._run_untrusted(text)
    assert client.shadow.marker() == {"ref": head, "engine": False}


def test_role_given_attributes_is_stripped_and_one_given_memberships_is_refused(branch_repo):
    server, db, client, marker, role = branch_repo
    client.apply("feature", "CREATE TABLE t1 (x int)")
    shadow_role = client.shadow.role
    with server.connect(db) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEDB CREATEROLE").format(sql.Identifier(shadow_role)))
    client.close()
    client.apply("feature", "CREATE TABLE t2 (x int)")  # a new client checks the role again
    with server.connect(db) as conn:
        assert conn.execute("SELECT rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = %s",
                            (shadow_role,)).fetchone()[0] is False
        conn.execute(sql.SQL("GRANT pg_read_server_files TO {}").format(sql.Identifier(shadow_role)))
    client.close()
    try:
        with pytest.raises(ShadowUnavailable, match="member of pg_read_server_files"):
            client.apply("feature", "CREATE TABLE t3 (x int)")
    finally:
        with server.connect(db) as conn:
            conn.execute(sql.SQL("REVOKE pg_read_server_files FROM {}").format(sql.Identifier(shadow_role)))
    assert "table public.t3" not in {r["identity"] for r in client.tree("feature")}


def test_cli_apply_is_unprivileged_unless_asked(branch_repo, capsys):
    server, db, client, marker, role = branch_repo
    dsn = server.dsn_for(db)
    guard = ("DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
             "RAISE EXCEPTION 'not privileged'; END IF; END $$; CREATE TABLE by_dba (x int);")
    code = cli_main(["--dsn", dsn, "apply", "feature", "--sql", f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'"])
    err = capsys.readouterr().err
    assert code == 1 and "pg_execute_server_program" in err
    assert not os.path.exists(marker)
    code = cli_main(["--dsn", dsn, "apply", "feature", "--sql", guard])
    assert code == 1 and "not privileged" in capsys.readouterr().err
    code = cli_main(["--dsn", dsn, "--privileged", "apply", "feature", "--sql", guard])
    assert code == 0, capsys.readouterr()
    assert "table public.by_dba" in {r["identity"] for r in client.tree("feature")}
