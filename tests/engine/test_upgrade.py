"""Upgrading a released engine to the current sources.

On every server under test: install the kept 0.1.0 release script (``sql/releases``) the way
0.1.0's installer did, make some history, run today's ``install()``, then check that the version
moved, history and capture survived (read through the SQL API only), and that schema ``pggit``
has exactly the structure of a fresh install of the current version.
"""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest

import pgtools
from pggit import install as pginstall

RELEASE = "0.1.0"
_LOCK_KEY_0_1_0 = 0x7067676974


def install_release(conn: psycopg.Connection, version: str) -> None:
    """Install a kept release script as that release's installer did (pggit/install.py at 0.1.0)."""
    script = pginstall.release_script(version).read_text()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY_0_1_0,))
        conn.execute("SELECT set_config('pggit.capture', 'off', true)")
        conn.execute("SET LOCAL check_function_bodies = off")
        conn.execute(script.encode())
        conn.execute(
            "INSERT INTO pggit.meta (key, value) VALUES ('version', %s),"
            " ('installed_server_version', current_setting('server_version_num'))",
            (version,),
        )
        conn.execute("SELECT set_config('pggit.capture', '', true)")
        conn.execute("SELECT pggit._initial_import()")
        conn.execute("SELECT set_config('pggit.capture', '', true)")


def rows(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def history(conn: psycopg.Connection) -> dict:
    """Everything the SQL API says about history: branches, each branch's log, HEAD's tree."""
    branches = rows(conn, "SELECT name, head, is_head FROM pggit.list_branches() ORDER BY name")
    return {
        "branches": branches,
        "logs": {
            name: rows(conn, "SELECT commit_id, parent_ids, author, message, committed_at FROM pggit.log(%s, 10000)", (name,))
            for name, _, _ in branches
        },
        "tree": rows(conn, "SELECT kind, identity, hash FROM pggit.tree() ORDER BY identity"),
    }


@pytest.fixture
def upgraded(pg_server, make_db):
    """A database where 0.1.0 was installed, used, then upgraded: (dbname, history before)."""
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, RELEASE)
    with pg_server.connect(db) as conn:  # autocommit: one commit per statement
        for statement in (
            "CREATE TABLE public.items (id int PRIMARY KEY, name text)",
            "CREATE INDEX items_name_idx ON public.items (name)",
            "SELECT pggit.create_branch('feature')",
            "ALTER TABLE public.items ADD COLUMN price numeric",
            "CREATE VIEW public.cheap AS SELECT id, name FROM public.items WHERE price < 10",
            "CREATE FUNCTION public.item_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.items $$",
            "COMMENT ON TABLE public.items IS 'things we sell'",
        ):
            conn.execute(statement)
        before = history(conn)
    assert len(before["logs"]["main"]) == 7  # initial import + 6 captured statements
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        assert pginstall.install(conn) == (RELEASE, pginstall.current_version())
    return db, before


def test_upgrade_keeps_history_and_capture(pg_server, upgraded):
    db, before = upgraded
    with pg_server.connect(db) as conn:
        assert conn.execute("SELECT pggit.version()").fetchone()[0] == pginstall.current_version()
        assert history(conn) == before

        statement = "CREATE TABLE public.after_upgrade (id int)"
        conn.execute(statement)
        after = history(conn)
        old_head = before["logs"]["main"][0][0]
        new = after["logs"]["main"][0]
        assert new[3] == statement and new[1] == [old_head]
        assert after["logs"]["main"][1:] == before["logs"]["main"]
        assert after["logs"]["feature"] == before["logs"]["feature"]
        assert "table public.after_upgrade" in {identity for _, identity, _ in after["tree"]}


# --------------------------------------------------------------------------- structure


def dump_engine(server: pgtools.PgServer, dbname: str) -> str:
    """Schema ``pggit`` as ``pg_dump --schema-only -n pggit`` sees it (with privileges), plus the
    event triggers (which belong to no schema, so ``-n`` leaves them out).

    The dump is cut into its TOC entries; each is normalized with ``pgtools.normalize_dump``,
    headed by its TOC name and type, and the entries are sorted, so pg_dump's ordering ties
    (decided by OID) do not count. Everything else (columns in order, constraints, indexes,
    triggers, function definitions, ACLs) is compared as is.
    """
    proc = subprocess.run(
        [str(server.pg_dump_path), "--schema-only", "-n", "pggit", "-d", server.dsn_for(dbname)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"pg_dump of {server.id}/{dbname} failed:\n{proc.stderr}")
    raw = proc.stdout
    headers = list(pgtools._TOC_HEADER.finditer(raw))
    entries = []
    for i, h in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(raw)
        body = pgtools.normalize_dump(raw[h.start() : end])
        entries.append(f"-- {h.group('type')} {h.group('name')}\n{body}")
    with server.connect(dbname) as conn:
        for name, event, function, enabled, tags, comment in conn.execute("""
                SELECT evtname, evtevent, evtfoid::regprocedure::text, evtenabled, evttags,
                       obj_description(oid, 'pg_event_trigger')
                  FROM pg_event_trigger ORDER BY evtname""").fetchall():
            entries.append(
                f"-- EVENT TRIGGER {name}\nON {event} EXECUTE FUNCTION {function}"
                f" enabled={enabled} tags={tags} comment={comment!r}\n"
            )
    return "\n".join(sorted(entries))


@pytest.mark.skipif(
    pginstall.current_version() == RELEASE,
    reason=f"sql/VERSION is still the release {RELEASE}: there is no upgrade to compare with a fresh install",
)
def test_upgrade_matches_fresh_install(pg_server, make_db, upgraded):
    current = pginstall.current_version()
    db, _ = upgraded
    fresh = make_db()
    with psycopg.connect(pg_server.dsn_for(fresh)) as conn:
        pginstall.install(conn)
    expected = dump_engine(pg_server, fresh)
    assert re.search(r"^CREATE TABLE pggit\.", expected, re.M)  # the dump did see the engine
    pgtools.assert_same_dump(
        expected,
        dump_engine(pg_server, db),
        f"fresh install of {current}",
        f"{RELEASE} upgraded to {current}",
    )


# --------------------------------------------------------------------------- described anew


def test_upgrade_takes_new_descriptions_in_one_commit_and_keeps_real_drift(pg_server, make_db):
    """0.5.0 describes aggregates, column storage and TOAST parameters more fully than 0.4.0, and
    tracks kinds 0.4.0 did not (statistics, rules...). After the upgrade those objects take the new
    form (or are recorded) in one commit on HEAD (so they do not show
    as drift), while a change made behind the engine's back before the upgrade is still drift."""
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, "0.4.0")
    with pg_server.connect(db) as conn:
        for statement in (
            "CREATE FUNCTION public.cnt_sf(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1'",
            "CREATE AGGREGATE public.mycount(*) (sfunc = public.cnt_sf, stype = bigint, initcond = '0')",
            "CREATE TABLE public.docs (id int, body text)",
            "ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTERNAL",
            "CREATE TABLE public.plain (id int)",
            # (kinds 0.5.0 tracks for the first time)
            "CREATE STATISTICS public.docs_stats ON id, body FROM public.docs",
            "CREATE RULE plain_no_delete AS ON DELETE TO public.plain DO INSTEAD NOTHING",
            "SELECT pggit.flush()",  # (0.4.0 described a queued table after a change made with capture off)
        ):
            conn.execute(statement)
        conn.execute("SET pggit.capture = off")
        conn.execute("ALTER TABLE public.plain ADD COLUMN behind_back int")
        conn.execute("RESET pggit.capture")
        head_before = conn.execute("SELECT commit_id FROM pggit.log('main', 1)").fetchone()[0]
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        pginstall.install(conn)
    with pg_server.connect(db) as conn:
        head, parents, message = conn.execute("SELECT commit_id, parent_ids, message FROM pggit.log('main', 1)").fetchone()
        assert parents == [head_before] and message.startswith(f"pgGit {pginstall.current_version()}:")
        changed = {r[0] for r in conn.execute("SELECT identity FROM pggit.show(%s)", (head,)).fetchall()}
        assert changed == {"aggregate public.mycount()", "table public.docs", "statistics public.docs_stats",
                           "rule plain_no_delete on public.plain"}
        assert [r[0] for r in conn.execute("SELECT identity FROM pggit.drift()").fetchall()] == ["table public.plain"]
        (definition,) = conn.execute("SELECT definition FROM pggit.tree('main') WHERE identity = 'aggregate public.mycount()'").fetchone()
        assert definition.startswith("CREATE AGGREGATE public.mycount(*)")


def test_upgrade_from_0_5_0_records_the_kinds_tracked_since(pg_server, make_db):
    """0.6.0 tracks base types with their I/O functions (which 0.5.0 recorded as functions of
    their own), operator classes and families, foreign data wrappers and servers: the upgrade's
    commit records them and lets the functions go, and nothing shows as drift."""
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, "0.5.0")
    with pg_server.connect(db) as conn:
        for statement in (
            "CREATE SCHEMA k", "CREATE TYPE k.lbl",
            "CREATE FUNCTION k.lbl_in(cstring) RETURNS k.lbl LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
            "CREATE FUNCTION k.lbl_out(k.lbl) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout'",
            "CREATE TYPE k.lbl (INPUT = k.lbl_in, OUTPUT = k.lbl_out, LIKE = text)",
            "CREATE OPERATOR CLASS k.int_ops FOR TYPE integer USING btree AS OPERATOR 1 <, FUNCTION 1 btint4cmp(integer, integer)",
            "CREATE FOREIGN DATA WRAPPER k_fdw", "CREATE SERVER k_srv FOREIGN DATA WRAPPER k_fdw",
        ):
            conn.execute(statement)
        before = {r[0] for r in conn.execute("SELECT identity FROM pggit.tree('main')").fetchall()}
        assert "function k.lbl_in(cstring)" in before and "type k.lbl" not in before
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        pginstall.install(conn)
    with pg_server.connect(db) as conn:
        (head,) = conn.execute("SELECT commit_id FROM pggit.log('main', 1)").fetchone()
        changed = dict(conn.execute("SELECT identity, change FROM pggit.show(%s)", (head,)).fetchall())
        assert changed == {"type k.lbl": "added", "function k.lbl_in(cstring)": "deleted", "function k.lbl_out(k.lbl)": "deleted",
                           "operator class k.int_ops using btree": "added", "operator family k.int_ops using btree": "added",
                           "foreign data wrapper k_fdw": "added", "server k_srv": "added"}
        assert conn.execute("SELECT identity FROM pggit.drift()").fetchall() == []


def test_upgrade_from_0_9_0_remakes_the_fork_triggers_of_data_branches(pg_server, make_db):
    """0.10.0 keeps an UPDATE that keeps its key row by row (0.9.0 filled transition tables for
    every UPDATE): an upgrade makes an existing data branch's triggers again, and the branch
    keeps its fork across it."""
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, "0.9.0")
    with pg_server.connect(db) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 5) g")
        conn.execute("SELECT pggit.create_branch('f', with_data => true)")
        conn.execute("UPDATE public.t SET v = 'before' WHERE id = 1")
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        pginstall.install(conn)
    with pg_server.connect(db) as conn:
        triggers = dict(conn.execute(
            "SELECT tgname, tgtype & 1 = 1 FROM pg_trigger WHERE tgrelid = 'public.t'::regclass").fetchall())
        assert triggers == {"pggit_data_ins": False, "pggit_data_upd": True, "pggit_data_key": False,
                            "pggit_data_del": False, "pggit_data_trunc": False}  # True: row by row
        conn.execute("UPDATE public.t SET v = 'after' WHERE id = 2")
        conn.execute("UPDATE public.t SET id = 30 WHERE id = 3")
        conn.execute("SET pggit.data_branch = %s" % conn.execute(
            "SELECT id FROM pggit.data_branches WHERE branch = 'f'").fetchone()[0])
        (schema,) = conn.execute("SELECT view_schema FROM pggit.data_overlays").fetchone()
        assert conn.execute(f"SELECT id, v FROM {schema}.t ORDER BY id").fetchall() == [
            (i, f"v{i}") for i in range(1, 6)]
