"""Queued capture: statements that only create objects are queued in their own transaction and
recorded as commits by pggit.flush(), which every reader and every other DDL statement runs
first. These tests check that the history is the same as if each statement had been committed
at once: order, state of each commit, author, message, time, rollback, concurrency."""

from __future__ import annotations

import threading
import uuid

import psycopg
from psycopg import sql

from pggit import Client


def queued(server, db) -> int:
    with server.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0]


def table_columns(client: Client, ref: str, table: str) -> list[str]:
    import json

    row = client._rows(
        "SELECT b.detail FROM pggit.tree(%s) t JOIN pggit.blobs b ON b.hash = t.hash WHERE t.identity = %s",
        (ref, f"table {table}"))
    assert row, f"{table} not in tree of {ref}"
    detail = row[0]["detail"]
    if isinstance(detail, str):
        detail = json.loads(detail)
    return [c["name"] for c in detail["columns"]]


def test_create_is_queued_and_each_later_statement_sees_the_state_it_left(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        conn.execute("CREATE TABLE q1 (a int)")
        conn.execute("CREATE INDEX q1_a ON q1 (a)")
        assert conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0] == 2
        # an ALTER describes the queued statements first, so the CREATE's commit has one column;
        # the ALTER itself is described at once; the three commits wait for the next reader
        conn.execute("ALTER TABLE q1 ADD COLUMN b text")
        assert conn.execute("SELECT count(*) FILTER (WHERE changes IS NULL), count(*) FROM pggit.capture_queue").fetchone() == (0, 3)
    log = client.log(limit=4)
    assert [r["message"] for r in log[:3]] == [
        "ALTER TABLE q1 ADD COLUMN b text", "CREATE INDEX q1_a ON q1 (a)", "CREATE TABLE q1 (a int)"]
    assert table_columns(client, "HEAD~2", "public.q1") == ["a"]
    assert table_columns(client, "HEAD", "public.q1") == ["a", "b"]
    assert {r["identity"] for r in client.show("HEAD~1")} == {"index public.q1_a"}
    # one linear chain
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:3]))


def test_drop_and_rename_after_queued_create(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        conn.execute("CREATE SCHEMA s")
        conn.execute("CREATE TABLE s.t (a int)")
        conn.execute("ALTER SCHEMA s RENAME TO s2")
        conn.execute("CREATE TABLE s2.gone (a int)")
        conn.execute("DROP TABLE s2.gone")
    log = client.log(limit=6)
    assert [r["message"] for r in log[:5]] == [
        "DROP TABLE s2.gone", "CREATE TABLE s2.gone (a int)", "ALTER SCHEMA s RENAME TO s2",
        "CREATE TABLE s.t (a int)", "CREATE SCHEMA s"]
    assert "table s.t" in {r["identity"] for r in client.tree("HEAD~3")}
    head = {r["identity"] for r in client.tree()}
    assert "table s2.t" in head and "table s.t" not in head and "table s2.gone" not in head
    assert {(r["identity"], r["change"]) for r in client.show("HEAD")} == {("table s2.gone", "deleted")}


def test_rolled_back_create_leaves_nothing(repo):
    server, db, client = repo
    before = client.resolve("HEAD")
    with server.connect(db, autocommit=False) as conn:
        conn.execute("CREATE TABLE never (a int)")
        conn.rollback()
    assert queued(server, db) == 0
    assert client.resolve("HEAD") == before
    with server.connect(db, autocommit=False) as conn:
        conn.execute("CREATE TABLE kept (a int)")
        conn.execute("SAVEPOINT s")
        conn.execute("CREATE TABLE undone (a int)")
        conn.execute("ROLLBACK TO SAVEPOINT s")
        conn.commit()
    assert [r["message"] for r in client.log(limit=2)] == ["CREATE TABLE kept (a int)", "Initial import"]
    assert "table public.undone" not in {r["identity"] for r in client.tree()}


def test_untracked_objects_are_not_queued(repo):
    server, db, client = repo
    before = client.resolve("HEAD")
    with server.connect(db) as conn:
        conn.execute("CREATE TEMP TABLE scratch (a int)")
        conn.execute("CREATE INDEX ON scratch (a)")
        assert conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0] == 0
    assert client.resolve("HEAD") == before


def test_queued_capture_keeps_author_and_time_when_another_role_flushes(repo):
    server, db, client = repo
    role = f"pggit_q_{uuid.uuid4().hex[:8]}"
    with server.connect(db) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        with psycopg.connect(server.dsn_for(db), user=role, autocommit=True) as conn:
            at = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            conn.execute("CREATE TABLE by_role (a int)")
            after = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        top = client.log(limit=1)[0]  # the owner's session records it
        assert top["author"] == role and top["message"] == "CREATE TABLE by_role (a int)"
        assert at <= top["committed_at"] <= after
        audit = client._rows("SELECT role_name, args FROM pggit.audit_log WHERE operation = 'capture' ORDER BY id DESC LIMIT 1")[0]
        assert audit["role_name"] == role and audit["args"]["commit"] == top["commit_id"]
    finally:
        with server.connect(db) as conn:
            conn.execute("DROP TABLE IF EXISTS by_role")
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_grouped_statements_are_not_queued(repo):
    server, db, client = repo
    with server.connect(db, autocommit=False) as conn:
        conn.execute("CREATE TABLE before_group (a int)")
        conn.execute("SELECT pggit.begin_commit('two tables')")
        conn.execute("CREATE TABLE g1 (a int)")
        conn.execute("CREATE TABLE g2 (a int)")
        assert conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0] == 0
        conn.commit()
    log = client.log(limit=3)
    assert [r["message"] for r in log] == ["two tables", "CREATE TABLE before_group (a int)", "Initial import"]
    assert {r["identity"] for r in client.show("HEAD")} == {"table public.g1", "table public.g2"}


def test_read_only_transaction_reads_without_recording(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        conn.execute("CREATE TABLE ro (a int)")
    with server.connect(db, autocommit=False) as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        rows = conn.execute("SELECT message FROM pggit.log(NULL, 1)").fetchall()
        assert rows == [("Initial import",)]
        conn.rollback()
    assert queued(server, db) == 1
    assert client.log(limit=1)[0]["message"] == "CREATE TABLE ro (a int)"
    assert queued(server, db) == 0


def test_concurrent_creators_and_readers_lose_nothing(repo):
    server, db, client = repo
    sessions, per_session = 4, 25
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            with server.connect(db) as conn:
                for i in range(per_session):
                    conn.execute(f"CREATE TABLE c{n}_{i} (id int)")
                    if i % 10 == 9:
                        conn.execute(f"ALTER TABLE c{n}_{i} ADD COLUMN x int")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read() -> None:
        try:
            with Client(server.dsn_for(db)) as reader:
                for _ in range(15):
                    reader.log(limit=5)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(sessions)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    log = client.log(limit=1000)
    alters = sessions * (per_session // 10)
    assert len(log) == sessions * per_session + alters + 1
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:-1]))
    tables = {r["identity"] for r in client.tree() if r["kind"] == "table"}
    assert len(tables) == sessions * per_session
    assert queued(server, db) == 0


def live_map_mismatches(conn) -> list:
    """Objects whose live-map row (identity, address) differs from what the catalogs hold now."""
    conn.execute("SET search_path = pg_catalog, pg_temp")
    rows = conn.execute("""
        SELECT coalesce(l.identity, x.identity), l.objid, x.objid
          FROM pggit.live_objects l
          FULL JOIN (SELECT i.identity, r.classid, r.objid FROM pggit._all_roots() r, pggit._ident(r.classid, r.objid) i) x
            ON x.identity = l.identity
         WHERE (l.classid, l.objid) IS DISTINCT FROM (x.classid, x.objid)""").fetchall()
    conn.execute("RESET search_path")
    return rows


def test_alter_table_records_every_dependent_that_changed_and_only_those(repo):
    """ALTER TABLE describes the objects that depend on the table only when they can have changed
    (a rename, a type change, children, triggers): after each statement HEAD's tree equals the live
    schema (no drift) and the live map holds every object at its current address (an index rebuilt
    by ALTER COLUMN TYPE has a new one, and dropping it later must be recorded)."""
    server, db, client = repo
    setup = [
        "CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE)",
        "CREATE TABLE t (id int PRIMARY KEY, p_id int REFERENCES p, a int, b text, c int)",
        "CREATE INDEX t_a ON t (a)",
        "CREATE INDEX t_expr ON t ((a + 1))",
        "CREATE INDEX t_c ON t (c)",
        "CREATE VIEW v AS SELECT id, a, b FROM t",
        "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
        "CREATE TABLE u (id int, x int)",
        "CREATE TRIGGER u_trg BEFORE UPDATE OF x ON u FOR EACH ROW EXECUTE FUNCTION trg()",
        "CREATE POLICY u_pos ON u USING (x > 0)",
        "CREATE TABLE parent (a int)",
        "CREATE TABLE child (z int) INHERITS (parent)",
    ]
    steps = [
        "ALTER TABLE t ADD COLUMN d int",
        "ALTER TABLE t ALTER COLUMN d SET DEFAULT 1",
        "COMMENT ON COLUMN t.d IS 'd'",
        "ALTER TABLE t RENAME COLUMN a TO a2",
        "ALTER TABLE p RENAME COLUMN id TO pid",
        "ALTER TABLE t ALTER COLUMN c TYPE bigint",
        "ALTER TABLE t ALTER COLUMN c TYPE bigint",
        "DROP INDEX t_c",
        "ALTER TABLE u DISABLE TRIGGER u_trg",
        "ALTER TABLE u RENAME COLUMN x TO y",
        "ALTER TABLE u ADD COLUMN w int",
        "ALTER TABLE parent ADD COLUMN b int",
        "ALTER TABLE t RENAME TO t2",
        "ALTER TABLE t2 DROP COLUMN b CASCADE",
        "ALTER TABLE t2 ADD CONSTRAINT t2_c_check CHECK (c > 0), DROP COLUMN d",
        "ALTER TABLE p DROP CONSTRAINT p_pkey CASCADE",
        "ALTER TABLE p ALTER COLUMN code TYPE varchar(20)",
    ]
    with server.connect(db) as conn:
        conn.autocommit = True
        for s in setup:
            conn.execute(s)
        for i, s in enumerate(steps):
            conn.execute(s)
            assert client.drift() == [], (i, s)
            assert live_map_mismatches(conn) == [], (i, s)
    assert client.log(limit=1)[0]["message"] == steps[-1]


def test_comment_on_column_is_recorded_as_a_whole_description_would_record_it(repo):
    """COMMENT ON COLUMN patches the table's description the live map holds instead of reading
    every column again: the recorded definition must be the one a full description gives (no
    drift), for a new, changed and removed comment, an odd column name, an inherited column, and
    a table with dropped columns."""
    server, db, client = repo
    with server.connect(db) as conn:
        conn.autocommit = True
        conn.execute('CREATE TABLE w (a int, "Odd ""name""" text DEFAULT \'x\', gone int, c numeric(5,2) NOT NULL)')
        conn.execute("ALTER TABLE w DROP COLUMN gone")
        conn.execute("CREATE TABLE w_child (d int) INHERITS (w)")
        steps = [
            "COMMENT ON COLUMN w.a IS 'first'",
            'COMMENT ON COLUMN w."Odd ""name""" IS \'it''s odd\'',
            "COMMENT ON COLUMN w.a IS 'changed'",
            "COMMENT ON COLUMN w_child.a IS 'on the child'",
            "COMMENT ON COLUMN w.a IS NULL",
            "COMMENT ON COLUMN w.c IS 'c'",
        ]
        for i, s in enumerate(steps):
            conn.execute(s)
            assert client.drift() == [], (i, s)
        comments = conn.execute(
            "SELECT count(*) FROM pggit.commits WHERE message LIKE 'COMMENT ON COLUMN%'").fetchone()[0]
    assert comments == len(steps)
    assert client.log(limit=1)[0]["message"] == steps[-1]


def _recorded_matches_full_description(conn, table: str) -> bool:
    """Does the live map hold, for this table, the hash a full description of it gives?"""
    return conn.execute(
        "SELECT l.hash = pggit._sha256(d.definition || E'\\n' || d.detail::text)"
        "  FROM pggit.live_objects l, pggit._describe('pg_class'::regclass, %s::regclass) d"
        " WHERE l.identity = 'table public.' || %s",
        (table, table)).fetchone()[0]


def test_comment_on_a_wide_tables_column_records_what_a_full_description_would(repo):
    """COMMENT ON COLUMN of a wide table replaces only the comment statements of the recorded
    definition (and keeps the recorded owner and privileges when they are the live ones): after
    each statement the recorded hash is the one a full description gives, with comments on the
    table and its constraints, table and column privileges, a comment removed, and privileges
    changed with capture off (then the live ones are taken, as a full description takes them)."""
    server, db, client = repo
    with server.connect(db) as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE wide (" + ", ".join(f"c{j} integer" for j in range(300)) + ", CHECK (c1 > 0))")
        for j in range(250, 300, 5):
            conn.execute(f"ALTER TABLE wide DROP COLUMN c{j}")
        steps = [
            "COMMENT ON COLUMN wide.c3 IS 'three'",
            "COMMENT ON TABLE wide IS 'the table'",
            "COMMENT ON CONSTRAINT wide_c1_check ON wide IS 'positive'",
            "COMMENT ON COLUMN wide.c0 IS 'first'",
            "GRANT SELECT ON wide TO PUBLIC",
            "GRANT UPDATE (c7) ON wide TO PUBLIC",
            "COMMENT ON COLUMN wide.c299 IS 'it''s the last'",
            "COMMENT ON COLUMN wide.c3 IS 'three, changed'",
            "COMMENT ON COLUMN wide.c0 IS NULL",
        ]
        for i, s in enumerate(steps):
            conn.execute(s)
            assert _recorded_matches_full_description(conn, "wide"), (i, s)
        conn.execute("SET pggit.capture = off")
        conn.execute("GRANT INSERT ON wide TO PUBLIC")
        conn.execute("RESET pggit.capture")
        conn.execute("COMMENT ON COLUMN wide.c8 IS 'after a grant behind the engine''s back'")
        assert _recorded_matches_full_description(conn, "wide")
        assert client.drift() == []
        comments = conn.execute("SELECT count(*) FROM pggit.commits WHERE message LIKE 'COMMENT ON COLUMN%'").fetchone()[0]
    assert comments == 6


def test_a_rolled_back_comment_on_column_leaves_no_commit(repo):
    server, db, client = repo
    with server.connect(db) as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE rb (a int, b int)")
        conn.execute("COMMENT ON COLUMN rb.a IS 'kept'")
        conn.execute("SELECT pggit.flush()")
        before = conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
        hash_before = conn.execute("SELECT hash FROM pggit.live_objects WHERE identity = 'table public.rb'").fetchone()[0]
        with conn.transaction():
            conn.execute("COMMENT ON COLUMN rb.b IS 'rolled back'")
            assert conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0] == 1
            conn.execute("SELECT pggit.flush()")
            raise psycopg.Rollback()
        assert conn.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0] == 0
        conn.execute("SELECT pggit.flush()")
        assert conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] == before
        assert conn.execute("SELECT hash FROM pggit.live_objects WHERE identity = 'table public.rb'").fetchone()[0] == hash_before
    assert client.log(limit=1)[0]["message"] == "COMMENT ON COLUMN rb.a IS 'kept'"
    assert client.drift() == []
