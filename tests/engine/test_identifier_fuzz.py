"""Property test: hostile identifiers (quotes, spaces, unicode, semicolons, SQL keywords, up to
63 bytes of UTF-8) as schema, table, column, index, view and branch names survive capture,
migration and branch operations exactly.

For each drawn set of names, on a live database with the engine: create, alter, rename and drop
objects (all DDL built with ``psycopg.sql.Identifier`` / ``Literal``); after each phase the
replayed migration must give a replica whose normalized dump equals the live one, and a branch
with a drawn name must come back from ``list_branches()`` byte for byte. One live database and one
replica per server are reused across examples (every example cleans up after itself).
"""

from __future__ import annotations

import os

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from psycopg import sql

import pgtools

MAX_BYTES = 63  # NAMEDATALEN - 1: longer names would be truncated by the server

KEYWORDS = ["select", "SELECT", "from", "table", "order", "user", "group", "default", "check", "end",
            "null", "all", "where", "drop", "public", "main"]
NASTY = ['"', '""', "'", ";", " ", "é", "É", "ß", "日本", "🙂", "$$", "$1", "--", "/*", "*/", "\\", "%", "%s",
         "?", "(", ")", ",", ".", "-", "E'", "\u00a0", "ǅ", "\u0301", "İ", "Ω"]


def _piece(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(NASTY), st.text(alphabet, min_size=1, max_size=10))


def _fits(name: str) -> bool:
    return 0 < len(name.encode("utf-8")) <= MAX_BYTES and "\x00" not in name


# Object names: anything but NUL (tabs and newlines included).
object_names = st.lists(
    _piece(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), min_size=1, max_size=5
).map("".join).filter(_fits)

# Branch names: the same minus what a ref may not contain (the engine's documented rule, as in
# git: no control characters, no ~ ^ :, no leading '-' or surrounding spaces, not HEAD).
branch_names = (
    st.lists(_piece(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="~^:")),
             min_size=1, max_size=5)
    .map(lambda parts: "".join(parts).strip(" "))
    .filter(lambda n: _fits(n) and not n.startswith("-") and n not in ("HEAD", "main") and all(
        c not in n for c in "~^:") and not any(ord(c) < 32 or ord(c) == 127 for c in n))
)


def _schema_ok(name: str) -> bool:
    return name != "public" and name != "pggit" and name != "information_schema" and not name.startswith("pg_")


@st.composite
def name_sets(draw):
    schema = draw(object_names.filter(_schema_ok))
    relations = draw(st.lists(object_names, min_size=4, max_size=4, unique=True))  # table, renamed, index, view
    columns = draw(st.lists(object_names, min_size=4, max_size=4, unique=True))  # c1, c2, c3, c2 renamed
    branch = draw(branch_names)
    return schema, relations, columns, branch


class FuzzDbs:
    """A live database with the engine and a plain replica, on one server."""

    def __init__(self, server: pgtools.PgServer):
        self.server = server
        self.live = server.create_database()
        self.replica = server.create_database()
        from pggit.client import Client

        client = Client(server.dsn_for(self.live))
        try:
            client.install()
        finally:
            getattr(client, "close", lambda: None)()
        self.live_conn = server.connect(self.live)
        self.replica_conn = server.connect(self.replica)

    def head(self) -> str:
        return self.live_conn.execute("SELECT commit_id FROM pggit.log('main', 1)").fetchone()[0]

    def script(self, from_ref, to_ref) -> str:
        row = self.live_conn.execute("SELECT pggit.migration_script(%s::text, %s::text)", [from_ref, to_ref])
        return row.fetchone()[0] or ""

    def apply(self, from_ref, to_ref, label):
        script = self.script(from_ref, to_ref)
        if script.strip():
            try:
                self.replica_conn.execute(script)
            except psycopg.Error as exc:
                raise AssertionError(f"{label}: replaying failed: {exc}\n--- script ---\n{script}") from None

    def assert_replica_matches_live(self, label):
        pgtools.assert_same_dump(
            self.server.dump_schema(self.live), self.server.dump_schema(self.replica), "live", f"replica {label}"
        )

    def close(self):
        self.live_conn.close()
        self.replica_conn.close()
        self.server.drop_database(self.live)
        self.server.drop_database(self.replica)


@pytest.fixture(scope="module")
def fuzz_dbs(pg_server):
    dbs = FuzzDbs(pg_server)
    yield dbs
    dbs.close()


@settings(
    max_examples=int(os.environ.get("PGGIT_FUZZ_EXAMPLES", "25")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(names=name_sets())
def test_hostile_identifiers_round_trip(fuzz_dbs, names):
    schema, (table, table2, index, view), (c1, c2, c3, c4), branch = names
    dbs = fuzz_dbs
    live = dbs.live_conn
    S, T, T2 = sql.Identifier(schema), sql.Identifier(schema, table), sql.Identifier(schema, table2)
    C1, C2, C3, C4 = map(sql.Identifier, (c1, c2, c3, c4))
    pgtools.reset_database(dbs.replica_conn)
    start = dbs.head()
    try:
        try:
            live.execute(sql.SQL("CREATE SCHEMA {}").format(S))
            live.execute(
                sql.SQL("CREATE TABLE {} ({} integer PRIMARY KEY, {} text NOT NULL DEFAULT {})").format(
                    T, C1, C2, sql.Literal(c2)
                )
            )
            live.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(T, C2, sql.Literal(schema + table)))
            live.execute(sql.SQL("CREATE INDEX {} ON {} ({}, {})").format(sql.Identifier(index), T, C2, C1))
            live.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} numeric(10,2) CHECK ({} > 0)").format(T, C3, C3)
            )
            live.execute(
                sql.SQL("CREATE VIEW {} AS SELECT {}, {} FROM {}").format(sql.Identifier(schema, view), C1, C2, T)
            )
        except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
            # A name the server generated (e.g. "<table>_pkey", truncated to 63 bytes) clashed
            # with a drawn one: skip the draw rather than test PostgreSQL's own naming.
            assume(False)
        live.execute(sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(T, C2, C4))
        live.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(T, sql.Identifier(table2)))
        mid = dbs.head()

        # 1. The tree names the objects by their quoted names, and everything created so far
        #    replays from nothing.
        table_identity, view_identity = live.execute(
            "SELECT 'table ' || quote_ident(%s) || '.' || quote_ident(%s), 'view ' || quote_ident(%s) || '.' || quote_ident(%s)",
            [schema, table2, schema, view],
        ).fetchone()
        tree = {r[0]: r[1] for r in live.execute("SELECT identity, definition FROM pggit.tree('main')")}
        assert table_identity in tree and view_identity in tree, (table_identity, view_identity, sorted(tree))
        (c4_quoted,) = live.execute("SELECT quote_ident(%s)", [c4]).fetchone()
        assert c4_quoted in tree[table_identity], tree[table_identity]

        dbs.apply(None, mid, "migration(NULL, mid)")
        dbs.assert_replica_matches_live("after migration(NULL, mid)")

        # 2. A branch with a hostile name is listed exactly, and deleted.
        live.execute("SELECT pggit.create_branch(%s)", [branch])
        listed = [r[0] for r in live.execute("SELECT name FROM pggit.list_branches()")]
        assert branch in listed, f"branch {branch!r} not listed exactly: {listed!r}"
        assert live.execute("SELECT pggit.current_branch()").fetchone()[0] == "main"
        assert live.execute("SELECT commit_id FROM pggit.log(%s, 1)", [branch]).fetchone()[0] == mid
        live.execute("SELECT pggit.delete_branch(%s, true)", [branch])
        listed = [r[0] for r in live.execute("SELECT name FROM pggit.list_branches()")]
        assert branch not in listed

        # 3. Alter and drop, then replay the difference onto the replica.
        live.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(T2, C3))
        live.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(T2, C4, sql.Literal(table)))
        live.execute(sql.SQL("DROP VIEW {}").format(sql.Identifier(schema, view)))
        dbs.apply(mid, "main", "migration(mid, main)")
        dbs.assert_replica_matches_live("after migration(mid, main)")

        # 4. Dropping it all goes back to the start.
        before_drop = dbs.head()
        live.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(S))
        dbs.apply(before_drop, "main", "migration(before_drop, main)")
        dbs.assert_replica_matches_live("after dropping everything")
        leftover = [
            r for r in dbs.live_conn.execute("SELECT statement FROM pggit.migration(%s, 'main')", [start])
            if not r[0].lstrip().upper().startswith("SET ")
        ]
        assert leftover == [], "the state after the example equals the state before"
    finally:
        live.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(S))
        live.execute("SELECT pggit.delete_branch(name, true) FROM pggit.list_branches() WHERE NOT is_head")
