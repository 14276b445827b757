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
