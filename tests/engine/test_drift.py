"""pggit.drift(): the live catalog compared with HEAD's tree."""

import psycopg


def test_no_drift_after_captured_ddl_and_every_uncaptured_change_listed(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id integer PRIMARY KEY, a text)")
        conn.execute("CREATE VIEW public.v AS SELECT id FROM public.t")
        conn.execute('CREATE FUNCTION public."odd name"() RETURNS integer LANGUAGE sql AS $$SELECT 1$$')
    assert client.drift() == []

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("ALTER TABLE public.t ADD COLUMN b integer")
        conn.execute("CREATE TABLE public.hidden (x integer)")
        conn.execute("DROP VIEW public.v")
    rows = {r["identity"]: r for r in client.drift()}
    assert {k: r["change"] for k, r in rows.items()} == {
        "table public.hidden": "added", "table public.t": "modified", "view public.v": "deleted"}
    assert "b integer" in rows["table public.t"]["live_definition"]
    assert "b integer" not in rows["table public.t"]["head_definition"]
    assert rows["view public.v"]["live_definition"] is None
    log_before = client.log(limit=5)
    assert client.log(limit=5) == log_before  # reading drift makes no commit


def test_a_change_made_with_capture_off_right_after_a_queued_create_is_drift(repo):
    """CREATE TABLE is captured lazily (queued); a change made to that table with capture off
    before anything read the queue must not be folded into the captured table."""
    server, dbname, client = repo
    with psycopg.connect(server.dsn_for(dbname), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.q (id integer)")
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("ALTER TABLE public.q ADD COLUMN behind integer")
    rows = {r["identity"]: r for r in client.drift()}
    assert list(rows) == ["table public.q"] and rows["table public.q"]["change"] == "modified"
    assert "behind" in rows["table public.q"]["live_definition"]
    assert "behind" not in rows["table public.q"]["head_definition"]


def _drift_behind_the_engines_back(db):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id integer PRIMARY KEY, a text)")
        conn.execute("CREATE TABLE public.gone (x integer)")
        conn.execute("CREATE VIEW public.\"v 'q'\" AS SELECT id FROM public.t")
        conn.execute("INSERT INTO public.t VALUES (1, 'kept')")
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("ALTER TABLE public.t ADD COLUMN b integer")
        conn.execute("DROP TABLE public.gone")
        conn.execute("CREATE TABLE public.hidden (x integer)")
        conn.execute("DROP VIEW public.\"v 'q'\"")


def test_commit_drift_records_every_drifted_object_in_one_commit(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    _drift_behind_the_engines_back(db)
    head = client.resolve("HEAD")
    commit = client.commit_drift("Made by hand ✓")
    assert commit is not None and client.log(limit=1)[0]["parent_ids"] == [head]
    assert client.log(limit=1)[0]["message"] == "Made by hand ✓"
    assert {c["identity"]: c["change"] for c in client.show(commit)} == {
        "table public.t": "modified", "table public.gone": "deleted", "table public.hidden": "added",
        "view public.\"v 'q'\"": "deleted"}
    assert client.drift() == []
    assert client.commit_drift() is None  # nothing left
    assert [a["operation"] for a in client.audit(limit=2)][0] == "commit_drift"


def test_discard_drift_brings_the_live_database_back_to_head(repo):
    server, dbname, client = repo
    db = server.dsn_for(dbname)
    _drift_behind_the_engines_back(db)
    head = client.resolve("HEAD")
    assert client.discard_drift() == head
    assert client.resolve("HEAD") == head and client.drift() == []
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('public.hidden'), to_regclass('public.gone') IS NOT NULL, "
                            "to_regclass('public.\"v ''q''\"') IS NOT NULL").fetchone() == (None, True, True)
        assert conn.execute("SELECT * FROM public.t").fetchall() == [(1, "kept")]
    assert client.discard_drift() is None


def test_discard_drift_that_would_lose_data_is_refused_unless_forced(repo):
    from pggit.errors import DataLossRefused
    import pytest

    server, dbname, client = repo
    db = server.dsn_for(dbname)
    _drift_behind_the_engines_back(db)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("INSERT INTO public.hidden VALUES (42)")
    head = client.resolve("HEAD")
    audit_before = client.audit(limit=1)
    drift_before = client.drift()
    # what undoing it would lose, named by the engine's own steps; asking changes nothing
    losses = client.drift_data_loss()
    assert [(r["identity"], r["statement"]) for r in losses] == [("table public.hidden", "DROP TABLE IF EXISTS public.hidden;")]
    assert client.resolve("HEAD") == head and client.drift() == drift_before and client.audit(limit=1) == audit_before
    with pytest.raises(DataLossRefused):
        client.discard_drift()
    assert client.resolve("HEAD") == head  # nothing recorded, nothing moved
    assert {d["identity"] for d in client.drift()} >= {"table public.hidden"}
    assert client.discard_drift(force=True) == head
    assert client.drift() == []
