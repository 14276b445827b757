"""Author and committer: a client names the person it acts for (``pggit.author``, the client's
``person``); commits, branches and audit rows record that person as author and the database role
as committer. Forced operations record what they dropped with the data in their audit row."""

from __future__ import annotations

import psycopg
import pytest

from pggit import Client

PERSON = "Zoë O'Hara \"ops\"; DROP TABLE x"  # quotes, unicode and SQL: only a name


def _role(conn) -> str:
    return conn.execute("SELECT current_user").fetchone()[0]


def test_commits_name_the_person_as_author_and_the_role_as_committer(repo):
    server, db, client = repo
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        role = _role(conn)
        conn.execute("CREATE TABLE plain (a int)")  # no person: the role is the author
        with conn.transaction():
            conn.execute("SELECT set_config('pggit.author', %s, true)", (PERSON,))
            conn.execute("CREATE TABLE queued (a int)")          # queued, described at the flush
            conn.execute("ALTER TABLE plain ADD COLUMN b text")  # described at once
        # another session without a person flushes the queued statement: it keeps its author
        conn.execute("SELECT pggit.flush()")
        log = conn.execute("SELECT message, author, committer FROM pggit.log('HEAD', 3)").fetchall()
    assert log == [("ALTER TABLE plain ADD COLUMN b text", PERSON, role),
                   ("CREATE TABLE queued (a int)", PERSON, role),
                   ("CREATE TABLE plain (a int)", role, None)]
    audit = client.audit(limit=3)
    assert [(a["operation"], a["role_name"], a["person"]) for a in audit] == [
        ("capture", role, PERSON), ("capture", role, PERSON), ("capture", role, None)]


def test_the_person_is_part_of_the_commit_id(repo):
    """Two commits that differ only by their author have different ids (content hash)."""
    server, db, client = repo
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        conn.execute("SELECT pggit.create_branch('a')")
        conn.execute("SELECT pggit.create_branch('b')")
        head = client.resolve("main")
        ids = []
        for branch, person in (("a", "ann"), ("b", "bob")):
            with conn.transaction():
                conn.execute("SELECT set_config('pggit.author', %s, true)", (person,))
                conn.execute("SELECT pggit._lock_branch(%s)", (branch,))
                ids.append(conn.execute(
                    "SELECT pggit._make_commit(%s, ARRAY[%s], current_user, 'same', '{}', "
                    "'2026-01-01 00:00:00+00'::timestamptz)", (branch, head)).fetchone()[0])
        assert ids[0] != ids[1]
        assert conn.execute("SELECT author FROM pggit.commits WHERE commit_id = ANY (%s) ORDER BY author",
                            (ids,)).fetchall() == [("ann",), ("bob",)]


def test_grouped_commit_keeps_the_person_named_when_it_began(repo):
    server, db, client = repo
    with psycopg.connect(server.dsn_for(db)) as conn:
        role = _role(conn)
        conn.execute("SELECT set_config('pggit.author', 'grace', true)")
        conn.execute("SELECT pggit.begin_commit('two tables')")
        conn.execute("CREATE TABLE g1 (a int)")
        conn.execute("SELECT set_config('pggit.author', 'mallory', true)")  # too late to change it
        conn.execute("CREATE TABLE g2 (a int)")
        conn.commit()
    top = client.log("HEAD", 1)[0]
    assert (top["message"], top["author"], top["committer"]) == ("two tables", "grace", role)


def test_client_person_names_branches_merges_and_applies(repo):
    server, db, _ = repo
    with Client(server.dsn_for(db), person="carol") as carol:
        role = carol._value("SELECT current_user")
        carol.create_branch("feature")
        commit = carol.apply("feature", "CREATE TABLE applied (a int)", "on the branch")
        result = carol.merge("feature", "main")
        branches = {b["name"]: b for b in carol.branches()}
        info = carol.commit_info([commit])[commit]
        log = carol.log("main", 2)
        carol.drop_shadow()
    assert (branches["feature"]["created_by"], branches["feature"]["created_by_role"]) == ("carol", role)
    assert (branches["main"]["created_by"], branches["main"]["created_by_role"]) == (role, None)
    assert result["status"] in ("fast_forward", "merged")
    applied = [r for r in log if r["commit_id"] == commit]
    assert applied and (applied[0]["author"], applied[0]["committer"]) == ("carol", role)
    assert (info["author"], info["committer"]) == ("carol", role)


@pytest.mark.parametrize("bad", ["line\nbreak", "tab\there", "x" * 201])
def test_an_unreadable_person_is_refused_and_nothing_is_recorded(repo, bad):
    server, db, client = repo
    before = client.resolve("HEAD")
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        conn.execute("SELECT set_config('pggit.author', %s, false)", (bad,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="pggit.author"):
            conn.execute("CREATE TABLE refused (a int)")
        assert conn.execute("SELECT to_regclass('refused')").fetchone()[0] is None
    assert client.resolve("HEAD") == before


def test_forced_merge_records_force_and_the_data_it_dropped(repo):
    server, db, client = repo
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE doomed (a int)")
        conn.execute("CREATE TABLE kept (a int, gone text)")
        conn.execute("INSERT INTO doomed VALUES (1)")
        conn.execute("INSERT INTO kept VALUES (1, 'x')")
        conn.execute("SELECT pggit.create_branch('cleanup')")
    client.apply("cleanup", "DROP TABLE doomed; ALTER TABLE kept DROP COLUMN gone", "drop them")
    client.apply("cleanup", "CREATE TABLE other (a int)", "diverge")
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE on_main (a int)")  # a real (not fast-forward) merge
    refused = client.merge("cleanup", "main")
    assert refused["status"] == "ready" and "lose data" in (refused.get("error") or "")
    done = client.complete_merge(refused["merge_id"], force=True)
    assert done["status"] == "merged"
    merge_rows = [a for a in client.audit(limit=10) if a["operation"] == "merge" and a["outcome"] == "ok"]
    assert merge_rows[0]["args"]["force"] is True
    assert merge_rows[0]["args"]["data_loss"] == ["table public.doomed", "table public.kept"]
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pggit.tx_state WHERE key = 'accepted_loss'").fetchone()[0] == 0
        assert conn.execute("SELECT to_regclass('public.doomed')").fetchone()[0] is None


def test_unforced_operations_record_force_false(repo):
    server, db, client = repo
    client.create_branch("side")
    client.switch_branch("side")
    client.switch_branch("main")
    switches = [a for a in client.audit(limit=5) if a["operation"] == "switch"]
    assert [s["args"]["force"] for s in switches] == [False, False]
    assert all("data_loss" not in s["args"] for s in switches)
