"""The engine's SQL API: install and upgrade, grants, append-only history, capture by other
roles, branches, refs, trees read from snapshots, log, blame, concurrency, and the CLI."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pggit import Client, install as pginstall
from pggit.cli import main as cli_main
from pggit.errors import BranchExists, BranchIsHead, BranchNotMerged, InvalidName, RefNotFound


def run(pg_server, db, *statements):
    with pg_server.connect(db) as conn:
        for s in statements:
            conn.execute(s)


def commit_count(client: Client) -> int:
    client._value("SELECT pggit.flush()")
    return client._value("SELECT count(*) FROM pggit.commits")


# install --------------------------------------------------------------------------------


def test_install_imports_existing_schema_and_is_idempotent(pg_server, make_db):
    db = make_db()
    run(pg_server, db, "CREATE TABLE before_install (id int PRIMARY KEY)")
    client = Client(pg_server.dsn_for(db))
    assert client.install() == pginstall.current_version()
    assert client.version() == pginstall.current_version()
    assert client.current_branch() == "main"
    identities = {r["identity"] for r in client.tree()}
    assert "table public.before_install" in identities
    log = client.log()
    assert [r["message"] for r in log] == ["Initial import"]
    client.install()  # again: nothing changes
    assert commit_count(client) == 1
    assert client.log()[0]["commit_id"] == log[0]["commit_id"]


def test_failed_install_rolls_back_everything(pg_server, make_db, tmp_path):
    db = make_db()
    broken = tmp_path / "sql"
    shutil.copytree(pginstall.SQL_DIR, broken)
    (broken / "src" / "95_broken.sql").write_text("CREATE TABLE pggit.oops (;\n")
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            pginstall.install(conn, broken)
        assert conn.execute("SELECT to_regnamespace('pggit')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pggit%'").fetchone()[0] == 0


def test_upgrade_runs_update_scripts_and_keeps_history(repo, tmp_path):
    server, db, client = repo
    run(server, db, "CREATE TABLE kept (id int)")
    head_before = client.resolve("HEAD")
    newer = tmp_path / "sql"
    shutil.copytree(pginstall.SQL_DIR, newer)
    old = pginstall.current_version()
    major, minor, patch = (int(x) for x in old.split("."))
    new = f"{major}.{minor}.{patch + 1}"
    (newer / "VERSION").write_text(new + "\n")
    (newer / "updates" / f"pggit--{old}--{new}.sql").write_text(
        "CREATE TABLE pggit.upgrade_marker (note text);\n")
    with psycopg.connect(server.dsn_for(db)) as conn:
        assert pginstall.install(conn, newer) == (old, new)
        assert pginstall.install(conn, newer) == (new, new)  # second run: no-op
    assert client.version() == new
    assert client._value("SELECT to_regclass('pggit.upgrade_marker') IS NOT NULL")
    assert client.resolve("HEAD") == head_before
    assert "table public.kept" in {r["identity"] for r in client.tree()}
    run(server, db, "CREATE TABLE after_upgrade (id int)")  # capture still works
    assert client.log(limit=1)[0]["message"] == "CREATE TABLE after_upgrade (id int)"


def test_nothing_in_pggit_is_granted_to_public(repo):
    server, db, client = repo
    rows = client._rows("""
        SELECT c.relname AS name FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
         WHERE c.relnamespace = 'pggit'::regnamespace AND a.grantee = 0
        UNION ALL
        SELECT p.proname FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
         WHERE p.pronamespace = 'pggit'::regnamespace AND a.grantee = 0
        UNION ALL
        SELECT n.nspname FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
         WHERE n.nspname = 'pggit' AND a.grantee = 0""")
    assert rows == []


@pytest.mark.parametrize("statement", [
    "UPDATE pggit.commits SET message = 'rewritten'",
    "DELETE FROM pggit.changes",
    "DELETE FROM pggit.audit_log",
    "TRUNCATE pggit.blobs CASCADE",
    "UPDATE pggit.snapshots SET hash = hash",
])
def test_history_and_audit_are_append_only(repo, statement):
    server, db, client = repo
    run(server, db, "CREATE TABLE t (id int)")
    before = client._rows("SELECT commit_id, message FROM pggit.commits ORDER BY seq")
    with server.connect(db) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(statement)
    assert info.value.sqlstate == "PGG20"
    assert client._rows("SELECT commit_id, message FROM pggit.commits ORDER BY seq") == before


def test_ddl_by_another_role_is_captured_with_that_role_as_author(repo):
    server, db, client = repo
    role = f"pggit_dev_{uuid.uuid4().hex[:8]}"
    run(server, db, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)),
        sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        dsn = server.dsn_for(db)
        with psycopg.connect(dsn, user=role, autocommit=True) as conn:
            conn.execute("CREATE TABLE by_dev (id int)")
            # the role cannot read or write the engine's tables directly
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM pggit.commits")
        top = client.log(limit=1)[0]
        assert top["author"] == role
        assert top["message"] == "CREATE TABLE by_dev (id int)"
    finally:
        run(server, db, "DROP TABLE IF EXISTS by_dev",
            sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)),
            sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# branches and refs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["feature/x", "it's; DROP TABLE t; --", "日本語 ブランチ", "select", 'a "quoted" name'])
def test_branch_names_round_trip(repo, name):
    server, db, client = repo
    head = client.resolve("HEAD")
    assert client.create_branch(name) == head
    assert {b["name"]: b["head"] for b in client.branches()}[name] == head
    assert client.resolve(name) == head
    client.delete_branch(name)
    assert name not in {b["name"] for b in client.branches()}


@pytest.mark.parametrize("name", ["", "HEAD", " lead", "trail ", "-dash", "a~1", "a^", "a:b", "tab\tname", "x" * 201])
def test_invalid_branch_names_are_refused(repo, name):
    _, _, client = repo
    with pytest.raises(InvalidName):
        client.create_branch(name)
    assert [b["name"] for b in client.branches()] == ["main"]


def test_branch_errors(repo):
    server, db, client = repo
    client.create_branch("dev")
    with pytest.raises(BranchExists):
        client.create_branch("dev")
    with pytest.raises(BranchIsHead):
        client.delete_branch("main")
    with pytest.raises(RefNotFound):
        client.create_branch("x", "no-such-ref")
    with pytest.raises(RefNotFound):
        client.delete_branch("no-such-branch")
    # a branch whose head no other branch contains is unmerged
    main_head = client.resolve("main")
    run(server, db, "CREATE TABLE t1 (id int)")
    client._value("UPDATE pggit.head SET branch = 'dev' RETURNING branch")  # pretend HEAD moved to dev
    client._value("UPDATE pggit.head SET branch = 'main' RETURNING branch")
    assert client.resolve("dev") == main_head
    client.delete_branch("dev")  # dev's head is an ancestor of main: merged
    client.create_branch("side", client.resolve("main"))
    assert client.resolve("side") == client.resolve("main")


def test_unmerged_branch_needs_force(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE t1 (id int)")
    tip = client.resolve("HEAD")
    client.create_branch("old-tip", tip)
    # move main back so that nothing else contains old-tip's head
    client._value("UPDATE pggit.branches SET head = %s WHERE name = 'main' RETURNING name", (client.resolve("HEAD~1"),))
    with pytest.raises(BranchNotMerged):
        client.delete_branch("old-tip")
    assert client.delete_branch("old-tip", force=True) == tip


def test_refs_resolve_prefixes_and_ancestors(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
    log = client.log()
    assert client.resolve(log[0]["commit_id"][:10]) == log[0]["commit_id"]
    assert client.resolve("HEAD~1") == log[1]["commit_id"]
    assert client.resolve("main~2") == log[2]["commit_id"]
    with pytest.raises(RefNotFound):
        client.resolve("main~3")
    with pytest.raises(RefNotFound):
        client.resolve("abc")  # too short to be a prefix


# history --------------------------------------------------------------------------------


def test_log_show_blame_and_rollback(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE orders (id int)",
        "ALTER TABLE orders ADD COLUMN total numeric",
        "COMMENT ON TABLE orders IS 'orders'")
    with server.connect(db, autocommit=False) as conn:
        conn.execute("CREATE TABLE rolled_back (id int)")
        conn.rollback()
    log = client.log()
    assert [r["message"] for r in log] == [
        "COMMENT ON TABLE orders IS 'orders'", "ALTER TABLE orders ADD COLUMN total numeric",
        "CREATE TABLE orders (id int)", "Initial import"]
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:-1]))
    shown = client.show(log[1]["commit_id"])
    assert [(r["identity"], r["change"]) for r in shown] == [("table public.orders", "modified")]
    assert "total numeric" in shown[0]["new_definition"] and "total" not in shown[0]["old_definition"]
    blame = client.blame("table public.orders")
    assert [r["commit_id"] for r in blame] == [r["commit_id"] for r in log[:3]]
    assert [r["change"] for r in blame] == ["modified", "modified", "added"]
    assert "table public.rolled_back" not in {r["identity"] for r in client.tree()}


def test_grouped_commit_has_the_users_message(repo):
    server, db, client = repo
    with server.connect(db, autocommit=False) as conn:
        conn.execute("SELECT pggit.begin_commit('Add customers and orders')")
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE orders (id int, customer_id int REFERENCES customers)")
        conn.execute("ALTER TABLE orders ADD COLUMN note text")
        conn.commit()
    top = client.log(limit=1)[0]
    assert top["message"] == "Add customers and orders"
    assert commit_count(client) == 2
    changes = {r["identity"]: r["change"] for r in client.show()}
    assert changes == {"table public.customers": "added", "table public.orders": "added"}
    assert "note text" in {r["identity"]: r for r in client.tree()}["table public.orders"]["definition"]


def test_tree_of_old_commits_is_exact_across_snapshots(repo):
    """Enough commits to pass several snapshot points; every tree equals the set built by hand."""
    server, db, client = repo
    expected = {}
    with server.connect(db) as conn:
        for i in range(300):
            if i % 7 == 6:
                conn.execute(f"DROP TABLE t{i - 3}")
            else:
                conn.execute(f"CREATE TABLE t{i} (id int)")
            expected[client.resolve("HEAD")] = {r[0] for r in conn.execute(
                "SELECT 'table public.' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")}
    snapshots = client._value("SELECT count(*) FROM pggit.commits WHERE snapshot_id = commit_id")
    assert snapshots >= 2
    for commit, tables in list(expected.items())[::13]:
        assert {r["identity"] for r in client.tree(commit) if r["kind"] == "table"} == tables
    assert client._value("SELECT max(chain_commits) FROM pggit.commits") < 300


def test_concurrent_sessions_lose_no_commit(repo):
    server, db, client = repo
    sessions, per_session = 6, 15
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with server.connect(db) as conn:
                for i in range(per_session):
                    conn.execute(f"CREATE TABLE s{n}_{i} (id int)")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    log = client.log(limit=1000)
    assert len(log) == sessions * per_session + 1
    # one linear chain: every commit's parent is the next older one
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:-1]))
    assert len({r["identity"] for r in client.tree() if r["kind"] == "table"}) == sessions * per_session


# CLI ------------------------------------------------------------------------------------


def test_cli_commands(repo, capsys):
    server, db, client = repo
    dsn = server.dsn_for(db)
    run(server, db, "CREATE TABLE cli_t (id int)")
    assert cli_main(["--dsn", dsn, "init"]) == 0
    assert "already installed" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "status"]) == 0
    assert "On branch main" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "log"]) == 0
    assert "CREATE TABLE cli_t (id int)" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "branch", "topic"]) == 0
    capsys.readouterr()
    assert cli_main(["--dsn", dsn, "branch"]) == 0
    out = capsys.readouterr().out
    assert "* main" in out and "  topic" in out
    assert cli_main(["--dsn", dsn, "diff", "HEAD~1", "HEAD"]) == 0
    assert "added     table public.cli_t" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "migration", "-", "HEAD"]) == 0
    assert "CREATE TABLE public.cli_t" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "branch", "-d", "main"]) == 1
    assert "HEAD" in capsys.readouterr().err
    assert cli_main(["--dsn", dsn, "show", "nope-ref"]) == 1
    assert "unknown ref" in capsys.readouterr().err
