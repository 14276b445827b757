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
