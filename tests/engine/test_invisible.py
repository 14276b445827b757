"""The engine is invisible in the DDL path: what a session's own SQL sees after DDL is what it
would see without the engine. Here: lastval(), which nextval on any sequence changes, so capture
keys its rows without sequences (pggit._xact_key); and those keys stay unique and ordered when
many sessions capture at once."""

from __future__ import annotations

import threading
from contextlib import nullcontext

import psycopg
import pytest

UNDEFINED = "lastval is not yet defined in this session"


def lastval(conn: psycopg.Connection):
    """lastval() in this session, or the error's SQLSTATE and message."""
    try:
        with conn.transaction():
            return conn.execute("SELECT lastval()").fetchone()[0]
    except psycopg.Error as exc:
        return (exc.sqlstate, exc.diag.message_primary)


# each case: statements run in one session before lastval(); a list inside is one transaction
CASES = {
    "create_table_queued": ["CREATE TABLE t1 (a int)"],
    "alter_table_direct": ["CREATE TABLE t1 (a int)", "ALTER TABLE t1 ADD COLUMN b text"],
    "drop": ["CREATE TABLE t1 (a int)", "DROP TABLE t1"],
    "grouped_commit": [["SELECT pggit.begin_commit('grouped')", "CREATE TABLE t1 (a int)",
                        "CREATE INDEX t1_a ON t1 (a)", "ALTER TABLE t1 ADD COLUMN b int"]],
    "queued_in_one_transaction": [["CREATE TABLE t1 (a int)", "CREATE TABLE t2 (a int)"], "ALTER TABLE t1 ADD b int"],
    "drop_sequence": ["CREATE SEQUENCE s1", "SELECT nextval('s1')", "DROP SEQUENCE s1"],
}


def run(conn: psycopg.Connection, steps, engine: bool = True) -> None:
    """Run the steps; without the engine, its calls (begin_commit) are left out."""
    for step in steps:
        with conn.transaction() if isinstance(step, list) else nullcontext():
            for stmt in (step if isinstance(step, list) else [step]):
                if engine or "pggit." not in stmt:
                    conn.execute(stmt)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lastval_after_ddl_is_what_it_is_without_the_engine(repo, make_db, case):
    server, db, client = repo
    plain = make_db()
    with server.connect(plain) as conn:
        run(conn, CASES[case], engine=False)
        expected = lastval(conn)
    with server.connect(db) as conn:
        commits = client.log(limit=1000)
        run(conn, CASES[case])
        got = lastval(conn)
    assert expected == ("55000", UNDEFINED)
    assert got == expected
    assert len(client.log(limit=1000)) > len(commits), "the DDL was captured"


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE other (a int)",                               # queued
    "ALTER TABLE items ADD COLUMN note text",                   # direct (flushes the queue first)
    "DROP TABLE dropped",
    "DROP TABLE items",                                         # drops the sequence lastval() used
    ["SELECT pggit.begin_commit('grouped')", "CREATE TABLE g1 (a int)", "ALTER TABLE items ADD COLUMN g int"],
])
def test_lastval_keeps_the_users_value_after_insert_then_ddl(repo, make_db, ddl):
    server, db, client = repo
    steps = ["CREATE TABLE items (id serial PRIMARY KEY, v int)", "CREATE TABLE dropped (a int)",
             "CREATE TABLE queued_before (a int)",  # still queued when the DDL below runs
             "INSERT INTO items (v) VALUES (1), (2), (3)", ddl,
             "SELECT pggit.flush()", "CREATE TABLE queued_again (a int)",
             "SELECT count(*) FROM pggit.log()"]    # a history read flushes first

    def seen(dbname: str, engine: bool) -> list:
        with server.connect(dbname) as conn:
            out = []
            for step in steps:
                run(conn, [step], engine)
                out.append(lastval(conn))
            return out

    expected = seen(make_db(), False)
    assert expected[3] == 3
    assert seen(db, True) == expected
    messages = [r["message"] for r in client.log(limit=10)]
    assert "CREATE TABLE queued_before (a int)" in messages and "CREATE TABLE queued_again (a int)" in messages


def test_no_sequence_is_used_in_the_ddl_path(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        seqs = conn.execute(
            "SELECT s.relname, pg_sequence_last_value(s.oid) FROM pg_class s"
            " WHERE s.relkind = 'S' AND s.relnamespace = 'pggit'::regnamespace ORDER BY 1").fetchall()
        assert [r[0] for r in seqs] == ["merges_merge_id_seq"]
        conn.execute("CREATE TABLE t1 (a int)")
        conn.execute("ALTER TABLE t1 ADD b int")
        with conn.transaction():
            conn.execute("SELECT pggit.begin_commit('g')")
            conn.execute("CREATE TABLE t2 (a int)")
        assert conn.execute(
            "SELECT pg_sequence_last_value('pggit.merges_merge_id_seq')").fetchone()[0] == seqs[0][1]


def test_keys_follow_the_order_of_recording(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        with conn.transaction():
            for i in range(3):
                conn.execute(f"CREATE TABLE k{i} (a int)")
            xid = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
            keys = [r[0] for r in conn.execute("SELECT seq FROM pggit.capture_queue ORDER BY captured_at, seq")]
        assert keys == [xid * 2**20 + i for i in range(3)]
        conn.execute("ALTER TABLE k0 ADD b int")
        conn.execute("ALTER TABLE k1 ADD b int")
    client._rows("SELECT pggit.flush()")  # (the ALTERs' commits are written by the next reader)
    rows = client._rows("SELECT c.message, c.seq FROM pggit.commits c ORDER BY c.seq")
    assert [r["message"] for r in rows][-5:] == [
        "CREATE TABLE k0 (a int)", "CREATE TABLE k1 (a int)", "CREATE TABLE k2 (a int)",
        "ALTER TABLE k0 ADD b int", "ALTER TABLE k1 ADD b int"]
    audit = client._rows("SELECT args->>'commit' AS c FROM pggit.audit_log WHERE operation = 'capture' ORDER BY id")
    by_seq = client._rows("SELECT commit_id FROM pggit.commits ORDER BY seq")
    assert [r["c"] for r in audit][-5:] == [r["commit_id"] for r in by_seq][-5:]


def test_concurrent_sessions_capture_everything_with_unique_keys(repo):
    server, db, client = repo
    before = len(client.log(limit=10000))
    audit_before = client._rows("SELECT count(*) AS n FROM pggit.audit_log WHERE operation = 'capture'")[0]["n"]
    rounds = 12
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(n: int) -> None:
        try:
            with server.connect(db) as conn:
                barrier.wait()
                for i in range(rounds):
                    with conn.transaction():                                  # two queued rows in one transaction
                        conn.execute(f"CREATE TABLE c{n}_{i} (id serial, a int)")
                        conn.execute(f"CREATE INDEX c{n}_{i}_a ON c{n}_{i} (a)")
                    conn.execute(f"INSERT INTO c{n}_{i} (a) VALUES (1)")
                    conn.execute(f"ALTER TABLE c{n}_{i} ADD COLUMN b{n} int")  # direct
                    with conn.transaction():                                  # grouped
                        conn.execute(f"SELECT pggit.begin_commit('group {n} {i}')")
                        conn.execute(f"COMMENT ON TABLE c{n}_{i} IS 'session {n}'")
                    assert lastval(conn) == 1, "the session's own lastval"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    log = client.log(limit=10000)
    per_round = 4  # CREATE TABLE, CREATE INDEX, ALTER, the group
    assert len(log) == before + 2 * rounds * per_round, "every statement became a commit"
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:-1])), "one linear chain"
    for n in range(2):
        mine = [r["message"] for r in reversed(log) if f"c{n}_" in r["message"] or r["message"].startswith(f"group {n} ")]
        assert mine == [m for i in range(rounds) for m in (
            f"CREATE TABLE c{n}_{i} (id serial, a int)", f"CREATE INDEX c{n}_{i}_a ON c{n}_{i} (a)",
            f"ALTER TABLE c{n}_{i} ADD COLUMN b{n} int", f"group {n} {i}")], "each session's order kept"
    counts = client._rows(
        "SELECT (SELECT count(*) FROM pggit.audit_log WHERE operation = 'capture') AS audit,"
        "       (SELECT count(DISTINCT id) FROM pggit.audit_log) = (SELECT count(*) FROM pggit.audit_log) AS audit_unique,"
        "       (SELECT count(DISTINCT seq) FROM pggit.commits) = (SELECT count(*) FROM pggit.commits) AS seq_unique,"
        "       (SELECT count(*) FROM pggit.capture_queue) AS queued")[0]
    assert counts == {"audit": audit_before + 2 * rounds * per_round, "audit_unique": True,
                      "seq_unique": True, "queued": 0}
    # within each transaction keys grow in the order its rows were written
    assert client._rows(
        "SELECT count(*) AS n FROM pggit.commits c JOIN pggit.commits p ON p.commit_id = c.parent_ids[1]"
        " WHERE c.seq >> 20 = p.seq >> 20 AND c.seq <= p.seq")[0]["n"] == 0
