"""Reads the web pages use: ahead_behind, object_history, commit_info (engine 0.3.0)."""

import psycopg


def test_ahead_behind_counts_each_side_and_marks_lower_bounds(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    client.create_branch("feat")
    for i in range(3):
        client.apply("feat", f"CREATE TABLE public.f{i} (id integer)")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.m1 (id integer)")
        conn.execute("CREATE TABLE public.m2 (id integer)")
    assert client.ahead_behind("feat", "main") == {"ahead": 3, "behind": 2, "ahead_more": False, "behind_more": False}
    capped = client.ahead_behind("feat", "main", 2)  # counts stop at the limit: lower bounds
    assert (capped["ahead"], capped["ahead_more"], capped["behind_more"]) == (2, True, True) and capped["behind"] <= 2
    assert client.ahead_behind("main", "main")["ahead"] == 0
    client.merge("feat", "main")
    assert client.ahead_behind("feat", "main") == {"ahead": 0, "behind": 3, "ahead_more": False, "behind_more": False}


def test_object_history_gives_each_version_with_the_one_it_replaced(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute('CREATE TABLE public."Odd ""t""" (id integer)')
        conn.execute('ALTER TABLE public."Odd ""t""" ADD COLUMN b text')
        conn.execute('DROP TABLE public."Odd ""t"""')
    rows = client.object_history('table public."Odd ""t"""')
    assert [r["change"] for r in rows] == ["deleted", "modified", "added"]
    assert rows[0]["definition"] is None and "b text" in rows[0]["previous_definition"]
    assert "b text" in rows[1]["definition"] and "b text" not in rows[1]["previous_definition"]
    assert rows[2]["previous_definition"] is None
    assert [r["commit_id"] for r in rows] == [r["commit_id"] for r in client.blame('table public."Odd ""t"""')]


def test_object_history_reads_the_versions_reachable_from_each_ref_one_page_at_a_time(repo):
    """Versions on several branches, a merge, and a branch that never merged: from each ref the
    versions are exactly those of the commits a walk of its ancestry finds, newest first, and
    pages (limit, offset) are slices of that list with its total."""
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    ident = "table public.t"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id integer)")
        conn.execute("ALTER TABLE public.t ADD COLUMN m1 int")
    client.create_branch("side")
    client.create_branch("lone")
    client.apply("side", "ALTER TABLE public.t ADD COLUMN s1 int")
    client.apply("side", "ALTER TABLE public.t ADD COLUMN s2 int")
    client.apply("lone", "ALTER TABLE public.t ADD COLUMN l1 int")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.t ADD COLUMN m2 int")
        conn.execute("CREATE TABLE public.other (id int)")
    assert client.merge("side", "main", strategy="union")["status"] == "merged"
    client.apply("side", "ALTER TABLE public.t ADD COLUMN s3 int")
    with psycopg.connect(db) as conn:
        walk = """WITH RECURSIVE w(id) AS (SELECT pggit._resolve(%s) UNION
                                         SELECT unnest(c.parent_ids) FROM w JOIN pggit.commits c ON c.commit_id = w.id)
                  SELECT x.commit_id FROM pggit.changes x JOIN w ON w.id = x.commit_id
                    JOIN pggit.commits c ON c.commit_id = x.commit_id
                   WHERE x.identity = %s ORDER BY c.generation DESC, c.seq DESC"""
        for ref, count in (("main", 6), ("side", 5), ("lone", 3)):
            expected = [r[0] for r in conn.execute(walk, (ref, ident)).fetchall()]
            rows = client.object_history(ident, ref)
            assert [r["commit_id"] for r in rows] == expected and len(expected) == count, ref
            assert {r["total"] for r in rows} == {count}
            page = client.object_history(ident, ref, 2, 1)
            assert [r["commit_id"] for r in page] == expected[1:3] and {r["total"] for r in page} == {count}
            assert client.object_history(ident, ref, 2, 10) == []
    assert client.object_history("table public.never") == []


def test_commit_info_reads_commits_by_ref(repo):
    server, dbname, client = repo
    client.create_branch("b'x")
    info = client.commit_info(["main", "b'x", client.resolve("main")])
    assert set(info) == {"main", "b'x", client.resolve("main")}
    assert info["main"]["commit_id"] == client.resolve("main") and info["main"]["message"] == "Initial import"


def test_migration_review_is_the_migration_and_its_data_loss_steps_at_once(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id integer PRIMARY KEY, a text, b integer)")
        conn.execute("INSERT INTO public.t VALUES (1, 'x', 2)")
    client.create_branch("slim")
    client.apply("slim", "ALTER TABLE public.t DROP COLUMN a; CREATE TABLE public.u (id integer)")
    steps, loss = client.migration_review("main", "slim")
    assert steps == client.migration_steps("main", "slim")
    assert [s["statement"] for s in steps] == client.migration("main", "slim")
    by_identity = {s["identity"]: s for s in steps}
    assert by_identity["table public.u"]["kind"] == "table" and by_identity["table public.u"]["reason"] == "added"
    assert by_identity["table public.t"]["reason"] == "changed"
    assert loss == client.data_loss_steps("main", "slim")
    assert [r["identity"] for r in loss] == ["table public.t"] and "drops column a" in loss[0]["reason"]
    assert client.migration_review("main", "main") == ([], [])
