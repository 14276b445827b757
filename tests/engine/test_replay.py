"""Proof that the engine's state and migrations are exact, by replay, on every server under test.

* ``rich_schema.sql`` (every object kind the engine tracks) is loaded into a database with the
  engine installed, one statement at a time with psql, so every statement is captured. Replaying
  ``migration(NULL, ref)`` into a fresh database must give the same normalized
  ``pg_dump --schema-only`` as the live database had at ``ref`` (see ``pgtools.normalize_dump``).
* A history of changes on top of it (altered columns, constraints, renames, changed views and
  functions, enum values, drops, partitions, a grouped commit) gives states; for pairs of states
  ``(a, b)``, forwards and backwards, applying ``migration(a, b)`` to a database built at ``a``
  must give exactly the live dump recorded at ``b``.
* Migrations keep data: a table both states have is never dropped and recreated, and rows put
  into a database at ``a`` are still there after ``migration(a, b)`` (targeted cases, one change
  each, so that a failure names its cause); a dependency cycle, a schema rename, and an enum
  label added and used in one migration have their own tests.
* Capture itself: rolled-back DDL leaves no commit, author and message, ``begin_commit``
  grouping, untracked schemas, and the identities ``tree()`` lists.

A replay that fails saves the whole script in the temporary directory and names the file.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import pgtools

RICH_SCHEMA = Path(__file__).with_name("rich_schema.sql")


# --------------------------------------------------------------------------- helpers


def install_engine(server: pgtools.PgServer, dbname: str) -> None:
    """Install the engine with the project's client (imported here: it may not exist yet)."""
    from pggit.client import Client

    client = Client(server.dsn_for(dbname))
    try:
        client.install()
    finally:
        close = getattr(client, "close", None)
        if close:
            close()


def migration_script(server: pgtools.PgServer, dbname: str, from_ref: str | None, to_ref: str) -> str:
    with server.connect(dbname) as conn:
        (script,) = conn.execute("SELECT pggit.migration_script(%s::text, %s::text)", [from_ref, to_ref]).fetchone()
    return script or ""


def migration_rows(server, dbname, from_ref, to_ref) -> list[tuple[int, str, str, str]]:
    with server.connect(dbname) as conn:
        return conn.execute(
            "SELECT step, kind, identity, statement FROM pggit.migration(%s::text, %s::text) ORDER BY step",
            [from_ref, to_ref],
        ).fetchall()


def run_script(server: pgtools.PgServer, dbname: str, script: str, what: str) -> None:
    """Execute ``script`` in one go (one simple-protocol query, i.e. one implicit transaction).
    On error, fail with the server's message and the script around the failing position."""
    if not script.strip():
        return
    with server.connect(dbname) as conn:
        try:
            conn.execute(script)
        except psycopg.Error as exc:
            pos = exc.diag.statement_position
            excerpt = script if len(script) <= 6000 else script[:3000] + "\n[...]\n" + script[-3000:]
            if pos:
                at = int(pos) - 1
                start = script.rfind("\n", 0, max(0, at - 400)) + 1
                end = script.find("\n", at + 200)
                excerpt = script[start : end if end != -1 else len(script)]
            saved = Path(tempfile.gettempdir()) / f"pggit-failed-{server.id}-{re.sub(r'[^A-Za-z0-9_]+', '_', what)}.sql"
            saved.write_text(script)
            raise AssertionError(
                f"replaying {what} on {server.id} failed: {type(exc).__name__}: {exc}\n"
                f"--- script near the error ---\n{excerpt}\n--- whole script ({len(script)} chars) saved in {saved}"
            ) from None


def commit_ids(server, dbname, ref="main", limit=1_000_000) -> list[str]:
    with server.connect(dbname) as conn:
        return [r[0] for r in conn.execute("SELECT commit_id FROM pggit.log(%s, %s)", [ref, limit])]


def head_commit(server, dbname) -> str:
    ids = commit_ids(server, dbname, "main", 1)
    assert ids, "pggit.log('main', 1) returned no commit"
    return ids[0]


def rich_statement_count() -> int:
    """Top-level statements of rich_schema.sql: every one starts at column 0 with CREATE, ALTER
    or COMMENT (bodies and continuation lines never do)."""
    return len(re.findall(r"^(?:CREATE|ALTER|COMMENT|DROP)\b", RICH_SCHEMA.read_text(), flags=re.M))


@pytest.fixture
def engine_db(pg_server, make_db) -> str:
    """A fresh database with the engine installed."""
    db = make_db()
    install_engine(pg_server, db)
    return db


# --------------------------------------------------------------------------- without the engine


def test_rich_schema_loads_and_dumps_identically_twice(pg_server, make_db):
    """The rich schema loads cleanly, and two databases loaded from it dump identically after
    normalization (so any difference found later is the engine's, not pg_dump's noise)."""
    a, b = make_db(), make_db()
    pg_server.psql_file(a, RICH_SCHEMA)
    pg_server.psql_file(b, RICH_SCHEMA)
    dump_a, dump_b = pg_server.dump_schema(a), pg_server.dump_schema(b)
    pgtools.assert_same_dump(dump_a, dump_b, f"{pg_server.id}:{a}", f"{pg_server.id}:{b}")
    assert "\\restrict" not in dump_a and not re.search(r"^SET ", dump_a, re.M)
    for expected in (
        'CREATE SCHEMA "Sales Dept";',
        "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;",
        "PARTITION BY RANGE (ordered_on)",
        "FOR VALUES IN ('eu', 'uk')",
        "INHERITS (public.events)",
        "EXCLUDE USING gist (during WITH &&)",
        "CREATE AGGREGATE public.comma_join(text)",
        "CREATE PROCEDURE inventory.restock",
        "BEGIN ATOMIC",
        "INSTEAD OF INSERT ON public.order_summary",
        "ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;",
        'ALTER TABLE ONLY "Sales Dept"."Order Lines" FORCE ROW LEVEL SECURITY;',
        "AS RANGE",
        "ADD GENERATED ALWAYS AS IDENTITY",
        "ADD GENERATED BY DEFAULT AS IDENTITY",
        "GENERATED ALWAYS AS (((price)::numeric * 1.2)) STORED",
        'CREATE TABLE "odd ""names"" é; select"."select"',
        "CREATE MATERIALIZED VIEW inventory.product_stock",
    ):
        assert expected in dump_a, f"{expected!r} missing from the dump of the rich schema"


def test_dump_normalization_removes_engine_event_triggers_only():
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\nSET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "--\n-- Name: capture; Type: EVENT TRIGGER; Schema: -; Owner: -\n--\n\n"
        "CREATE EVENT TRIGGER capture ON ddl_command_end\n         EXECUTE FUNCTION pggit.capture();\n\n\n"
        "--\n-- Name: EVENT TRIGGER capture; Type: COMMENT; Schema: -; Owner: -\n--\n\n"
        "COMMENT ON EVENT TRIGGER capture IS 'x';\n\n\n"
        "--\n-- Name: mine; Type: EVENT TRIGGER; Schema: -; Owner: -\n--\n\n"
        "CREATE EVENT TRIGGER mine ON ddl_command_end\n         EXECUTE FUNCTION public.mine();\n\n\n"
        "--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n--\n\n"
        "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    SET search_path TO 'public'\n"
        "    AS $$ SELECT 1 $$;\n\n\n\\unrestrict abc123\n"
    )
    assert pgtools.normalize_dump(raw) == (
        "CREATE EVENT TRIGGER mine ON ddl_command_end\n         EXECUTE FUNCTION public.mine();\n\n"
        "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    SET search_path TO 'public'\n"
        "    AS $$ SELECT 1 $$;\n"
    )


# --------------------------------------------------------------------------- full replay


def test_replaying_migration_from_empty_to_main_reproduces_the_rich_schema(pg_server, engine_db, make_db):
    pg_server.psql_file(engine_db, RICH_SCHEMA)
    live = pg_server.dump_schema(engine_db)
    script = migration_script(pg_server, engine_db, None, "main")
    target = make_db()
    run_script(pg_server, target, script, "migration_script(NULL, 'main')")
    pgtools.assert_same_dump(live, pg_server.dump_schema(target), "live", "replayed migration(NULL, 'main')")


def test_migration_rows_are_ordered_steps_that_replay_like_the_script(pg_server, engine_db, make_db):
    pg_server.psql_file(engine_db, RICH_SCHEMA)
    rows = migration_rows(pg_server, engine_db, None, "main")
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert len({r[0] for r in rows}) == len(rows), "step numbers are unique"
    target = make_db()
    with pg_server.connect(target, autocommit=False) as conn:
        for step, kind, identity, statement in rows:
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                raise AssertionError(f"step {step} ({kind} {identity}) failed: {exc}\n{statement}") from None
        conn.commit()
    pgtools.assert_same_dump(pg_server.dump_schema(engine_db), pg_server.dump_schema(target), "live", "replayed rows")


# --------------------------------------------------------------------------- pairs of states

# Each step is (state label, statements, group message). Without a group message every statement
# is its own commit; with one, the statements run in one transaction after pggit.begin_commit().
STEPS: list[tuple[str, list[str], str | None]] = [
    (
        "columns",
        [
            "ALTER TABLE inventory.warehouses ALTER COLUMN name TYPE text",
            "ALTER TABLE inventory.warehouses ALTER COLUMN capacity SET DEFAULT 100",
            "ALTER TABLE inventory.warehouses ALTER COLUMN opened SET NOT NULL",
            "ALTER TABLE inventory.warehouses ALTER COLUMN opened DROP DEFAULT",
            "ALTER TABLE inventory.products ALTER COLUMN weight_kg TYPE numeric(10,3)",
            "ALTER TABLE public.orders ADD COLUMN channel text NOT NULL DEFAULT 'web'",
            'ALTER TABLE "Sales Dept"."Order Lines" DROP COLUMN "Deal"',
            "ALTER TABLE public.customers ALTER COLUMN id SET INCREMENT BY 5",
            "ALTER TABLE public.customers ALTER COLUMN score SET DEFAULT 0.5",
            "ALTER TABLE inventory.reservations ALTER COLUMN id SET GENERATED ALWAYS",
            "ALTER SEQUENCE inventory.sku_seq INCREMENT BY 10 MAXVALUE 5000000",
            "ALTER TYPE public.address ADD ATTRIBUTE country text",
        ],
        None,
    ),
    (
        "constraints",
        [
            "ALTER TABLE public.customers ADD CONSTRAINT customers_score_range CHECK (score >= 0 AND score <= 100)",
            "ALTER TABLE inventory.products DROP CONSTRAINT products_weight_check",
            "ALTER TABLE public.events ADD CONSTRAINT events_pkey PRIMARY KEY (id)",
            "ALTER TABLE inventory.warehouses ADD CONSTRAINT warehouses_name_key UNIQUE (name)",
            "ALTER TABLE inventory.stock_moves DROP CONSTRAINT stock_moves_product_id_fkey",
            "ALTER TABLE public.customers ADD CONSTRAINT customers_profile_is_object"
            " CHECK (jsonb_typeof(profile) = 'object') NOT VALID",
            "ALTER TABLE inventory.reservations DROP CONSTRAINT reservations_temperature_excl",
            "ALTER DOMAIN public.positive_money ADD CONSTRAINT positive_money_max CHECK (VALUE < 1000000)",
            "ALTER DOMAIN public.positive_money SET DEFAULT 1",
            "ALTER DOMAIN public.email DROP CONSTRAINT email_has_at",
        ],
        None,
    ),
    (
        "renames",
        [
            "ALTER TABLE public.events RENAME TO app_events",
            "ALTER TABLE public.customers RENAME COLUMN name TO full_name",
            "ALTER INDEX inventory.products_name_price_idx RENAME TO products_catalogue_idx",
            "ALTER TABLE inventory.warehouses RENAME CONSTRAINT warehouses_capacity_check TO warehouses_capacity_positive",
            'ALTER TABLE "odd ""names"" é; select"."select" RENAME COLUMN "Mixed Case" TO "Still ""Mixed"" Case"',
            "ALTER TABLE inventory.reservations RENAME COLUMN room TO room_no",
            "ALTER TABLE inventory.reservations RENAME TO bookings",
            "ALTER VIEW public.active_vip_customers RENAME TO vip_customers",
            "ALTER FUNCTION inventory.valid_code(text) RENAME TO is_valid_code",
            "ALTER SEQUENCE inventory.sku_seq RENAME TO product_sku_seq",
            "ALTER TYPE public.address RENAME ATTRIBUTE zip TO postcode",
        ],
        None,
    ),
    (
        "views_functions",
        [
            "CREATE OR REPLACE FUNCTION public.order_total_with_tax(p_total numeric, p_rate numeric DEFAULT 0.25)"
            " RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT round(p_total * (1 + p_rate), 3) $$",
            'CREATE OR REPLACE VIEW "Sales Dept"."Big Orders" AS'
            " SELECT b.id, b.customer, b.total_with_tax FROM public.big_orders(500) b WHERE b.customer <> ''",
            "CREATE OR REPLACE VIEW public.active_customers AS"
            " SELECT id, email, full_name AS name, active, created_at FROM public.customers WHERE active"
            " WITH CASCADED CHECK OPTION",
            "ALTER FUNCTION inventory.products_in(character) COST 50",
            "COMMENT ON VIEW public.order_summary IS 'Orders, customers and taxed totals'",
            "COMMENT ON COLUMN public.customers.email IS NULL",
        ],
        None,
    ),
    (
        "enum",
        [
            "ALTER TYPE public.order_status ADD VALUE 'refunded' BEFORE 'cancelled'",
            'ALTER TYPE "Sales Dept"."Deal Stage" ADD VALUE \'stalled\'',
            "ALTER TYPE public.order_status RENAME VALUE 'paid' TO 'settled'",
        ],
        None,
    ),
    (
        "drops",
        [
            'DROP VIEW "Sales Dept"."Top ""Customers"""',
            "DROP INDEX public.events_happened_brin",
            "DROP TABLE public.login_events",
            "DROP FUNCTION public.add_tax(integer)",
            "DROP TRIGGER products_log ON inventory.products",
            'DROP POLICY lines_read ON "Sales Dept"."Order Lines"',
            "DROP MATERIALIZED VIEW inventory.product_stock",
            "DROP AGGREGATE public.comma_join(text)",
        ],
        None,
    ),
    (
        "grouped",
        [
            "CREATE TABLE public.orders_2026 PARTITION OF public.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
            "ALTER TABLE public.orders DETACH PARTITION public.orders_2024",
            "ALTER TABLE public.app_events SET SCHEMA inventory",
            "CREATE SCHEMA audit",
            "CREATE TABLE audit.changes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " order_id bigint, ordered_on date, at timestamptz DEFAULT now(),"
            " FOREIGN KEY (order_id, ordered_on) REFERENCES public.orders (id, ordered_on) ON DELETE SET NULL)",
            "CREATE INDEX changes_at_idx ON audit.changes (at DESC)",
        ],
        "Partitions, a moved table and an audit schema",
    ),
    (
        "cascade",
        [
            # Cascades to the view order_summary, the BEGIN ATOMIC function big_orders that reads
            # it, the view "Big Orders" and the INSTEAD OF trigger: all captured by sql_drop.
            "DROP FUNCTION public.order_total_with_tax(numeric, numeric) CASCADE",
            'DROP SCHEMA "odd ""names"" é; select" CASCADE',
        ],
        None,
    ),
]

STATES = ["empty", "rich"] + [label for label, _, _ in STEPS]
FINAL = STATES[-1]
PAIRS = (
    [(STATES[i], STATES[i + 1]) for i in range(len(STATES) - 1)]
    + [(STATES[i + 1], STATES[i]) for i in range(len(STATES) - 1)]
    + [("rich", FINAL), (FINAL, "rich"), (FINAL, "empty"), ("columns", "drops"), ("drops", "columns")]
)


@dataclass
class History:
    server: pgtools.PgServer
    dbname: str
    commits: dict[str, str] = field(default_factory=dict)  # state -> commit id
    dumps: dict[str, str] = field(default_factory=dict)  # state -> live dump at that state


@pytest.fixture(scope="module")
def history(pg_server):
    """A live database with the engine, taken through STEPS; the commit id and the normalized
    live dump are recorded at every state. One per server, shared by the tests of this module."""
    db = pg_server.create_database()
    try:
        install_engine(pg_server, db)
        h = History(pg_server, db)

        def record(state):
            h.commits[state] = head_commit(pg_server, db)
            h.dumps[state] = pg_server.dump_schema(db)

        record("empty")
        pg_server.psql_file(db, RICH_SCHEMA)
        record("rich")
        for label, statements, group in STEPS:
            with pg_server.connect(db, autocommit=group is None) as conn:
                if group is not None:
                    conn.execute("SELECT pggit.begin_commit(%s)", [group])
                for statement in statements:
                    try:
                        conn.execute(statement)
                    except psycopg.Error as exc:
                        raise AssertionError(f"step {label!r}: {statement}\nfailed: {exc}") from None
                if group is not None:
                    conn.commit()
            record(label)
        yield h
    finally:
        pg_server.drop_database(db)


def test_history_records_one_commit_per_statement_and_one_per_group(history):
    server, db = history.server, history.dbname
    ids = commit_ids(server, db)
    position = {c: i for i, c in enumerate(reversed(ids))}  # oldest first
    expected = rich_statement_count()
    assert position[history.commits["rich"]] - position[history.commits["empty"]] == expected
    previous = "rich"
    for label, statements, group in STEPS:
        gap = position[history.commits[label]] - position[history.commits[previous]]
        assert gap == (1 if group else len(statements)), f"commits made by step {label!r}"
        previous = label
    assert len(set(history.commits.values())) == len(STATES), "every state has its own commit"


@pytest.mark.parametrize("state", STATES)
def test_replay_from_empty_gives_the_live_schema_of_each_state(history, state, make_db):
    server = history.server
    target = make_db()
    ref = history.commits[state]
    run_script(server, target, migration_script(server, history.dbname, None, ref), f"migration(NULL, {state})")
    pgtools.assert_same_dump(history.dumps[state], server.dump_schema(target), f"live at {state}", f"replayed {state}")


def test_replay_of_main_by_branch_name_and_by_commit_prefix_agree(history, make_db):
    server, db = history.server, history.dbname
    by_name = migration_script(server, db, None, "main")
    by_prefix = migration_script(server, db, None, history.commits[FINAL][:12])
    assert by_name == by_prefix
    target = make_db()
    run_script(server, target, by_name, "migration(NULL, 'main')")
    pgtools.assert_same_dump(server.dump_schema(db), server.dump_schema(target), "live HEAD", "replayed main")


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_migration_between_states_gives_exactly_the_target(history, a, b, make_db):
    server, db = history.server, history.dbname
    ca, cb = history.commits[a], history.commits[b]
    target = make_db()
    run_script(server, target, migration_script(server, db, None, ca), f"migration(NULL, {a})")
    # Precondition: the database really is at state a (else the pair says nothing).
    pgtools.assert_same_dump(history.dumps[a], server.dump_schema(target), f"live at {a}", f"built at {a}")
    script = migration_script(server, db, ca, cb)
    changes = [r for r in migration_rows(server, db, ca, cb) if not _is_setting(r[3])]
    assert changes, f"migration({a}, {b}) has no change although the states differ"
    run_script(server, target, script, f"migration({a}, {b})")
    pgtools.assert_same_dump(history.dumps[b], server.dump_schema(target), f"live at {b}", f"{a} + migration({a}, {b})")


def _is_setting(statement: str) -> bool:
    return bool(re.match(r"\s*SET\s", statement, flags=re.I))


def _tables(server, db, ref) -> set[str]:
    with server.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT identity FROM pggit.tree(%s) WHERE kind = 'table'", [ref])}


# Renames between stored states are renames (docs/engine.md, lineage): a table present in both
# states is never dropped, across the "renames" step too.
NEVER_DROPS_PAIRS = [pytest.param(a, b, id=f"{a}->{b}") for a, b in PAIRS]


@pytest.mark.parametrize("a,b", NEVER_DROPS_PAIRS)
def test_migration_between_states_never_drops_a_table_that_both_states_have(history, a, b):
    """Changes inside a table (columns, constraints, defaults, types they use, partitions
    attached or detached) are ALTERs: a table present in both states is never dropped and
    recreated, which would lose its rows."""
    server, db = history.server, history.dbname
    ca, cb = history.commits[a], history.commits[b]
    kept = _tables(server, db, ca) & _tables(server, db, cb)
    dropped = [
        (step, identity, statement.splitlines()[0])
        for step, kind, identity, statement in migration_rows(server, db, ca, cb)
        if identity in kept and re.match(r"\s*DROP TABLE\b", statement, flags=re.I)
    ]
    assert dropped == [], f"migration({a}, {b}) drops tables that exist in both states: {dropped}"


def test_migration_keeps_the_rows_of_changed_tables(history, make_db):
    """Rows survive migration(rich, constraints): columns altered, added and dropped, identity and
    defaults changed, a composite type used by a column extended, constraints and domains
    changed."""
    server, db = history.server, history.dbname
    target = make_db()
    run_script(server, target, migration_script(server, db, None, history.commits["rich"]), "migration(NULL, rich)")
    with server.connect(target) as conn:
        conn.execute("INSERT INTO inventory.warehouses (code, name, capacity) VALUES ('W001', 'North', 10)")
        conn.execute("INSERT INTO public.customers (email, name) VALUES ('a@example.com', 'Ann')")
        conn.execute("INSERT INTO inventory.products (name, price, weight_kg, warehouse) VALUES ('Nut', 2, 0.1, 'W001')")
    run_script(
        server, target, migration_script(server, db, history.commits["rich"], history.commits["constraints"]),
        "migration(rich, constraints)",
    )
    with server.connect(target) as conn:
        assert conn.execute("SELECT name, capacity FROM inventory.warehouses").fetchall() == [("North", 10)]
        assert conn.execute("SELECT email::text, name FROM public.customers").fetchall() == [("a@example.com", "Ann")]
        assert conn.execute("SELECT name, warehouse FROM inventory.products").fetchall() == [("Nut", "W001")]
    pgtools.assert_same_dump(history.dumps["constraints"], server.dump_schema(target), "live", "rich + migration")


def test_migration_from_a_state_to_itself_has_no_change(history):
    """Apart from leading session settings (SET ...), nothing to do."""
    for state in ("rich", FINAL):
        c = history.commits[state]
        rows = migration_rows(history.server, history.dbname, c, c)
        assert [r for r in rows if not _is_setting(r[3])] == []


def test_diff_between_states_names_the_changed_objects(history):
    server, db = history.server, history.dbname
    with server.connect(db) as conn:
        rows = conn.execute(
            "SELECT identity, kind, change FROM pggit.diff(%s, %s)",
            [history.commits["drops"], history.commits["enum"]],
        ).fetchall()
        # Going back from 'drops' to 'enum' re-adds exactly what 'drops' removed (and maybe
        # changes objects whose definitions mention them), never removes anything.
        assert rows, "diff(drops, enum) is empty"
        identities = " ".join(r[0] for r in rows)
        for name in ("Top", "events_happened_brin", "login_events", "add_tax", "products_log", "lines_read",
                     "product_stock", "comma_join"):
            assert name in identities, f"{name} missing from diff(drops, enum): {rows}"
        forward = conn.execute(
            "SELECT identity, change FROM pggit.diff(%s, %s)", [history.commits["enum"], history.commits["drops"]]
        ).fetchall()
    assert {r[0] for r in forward} == {r[0] for r in rows}, "diff(a, b) and diff(b, a) cover the same objects"


def run_setup_then_change(server, db, setup, change):
    """Run ``setup``, then ``change``; return the head commit and normalized dump after each."""
    with server.connect(db) as conn:
        for statement in setup:
            conn.execute(statement)
    a, dump_a = head_commit(server, db), server.dump_schema(db)
    with server.connect(db) as conn:
        for statement in change:
            conn.execute(statement)
    return a, dump_a, head_commit(server, db), server.dump_schema(db)


def assert_pair_replays(server, db, make_db, ca: str, cb: str, dump_a: str, dump_b: str, a="a", b="b") -> None:
    """Build a database at commit ``ca`` from nothing, check it, apply migration(ca, cb), check."""
    target = make_db()
    run_script(server, target, migration_script(server, db, None, ca), f"migration(NULL, {a})")
    pgtools.assert_same_dump(dump_a, server.dump_schema(target), f"live at {a}", f"built at {a}")
    run_script(server, target, migration_script(server, db, ca, cb), f"migration({a}, {b})")
    pgtools.assert_same_dump(dump_b, server.dump_schema(target), f"live at {b}", f"{a} + migration({a}, {b})")


def test_renaming_a_schema_round_trips(pg_server, engine_db, make_db):
    """ALTER SCHEMA ... RENAME changes the identity of every object in it."""
    server, db = pg_server, engine_db
    server.psql_file(db, RICH_SCHEMA)
    before, dump_before = head_commit(server, db), server.dump_schema(db)
    with server.connect(db) as conn:
        conn.execute("ALTER SCHEMA inventory RENAME TO stock")
        conn.execute('ALTER SCHEMA "Sales Dept" RENAME TO "Ventes été"')
    after, dump_after = head_commit(server, db), server.dump_schema(db)
    with server.connect(db) as conn:
        identities = [r[0] for r in conn.execute("SELECT identity FROM pggit.tree('main')")]
    assert not any("inventory" in i or "Sales Dept" in i for i in identities), identities
    assert_pair_replays(server, db, make_db, before, after, dump_before, dump_after, "before", "after")
    assert_pair_replays(server, db, make_db, after, before, dump_after, dump_before, "after", "before")


def test_dependency_cycle_between_a_default_and_a_function_replays(pg_server, engine_db, make_db):
    """orders.note's default calls a function whose BEGIN ATOMIC body reads orders: a creation
    script must break the cycle (pg_dump creates the table, then the function, then sets the
    default), and so must a migration that drops both."""
    server, db = pg_server, engine_db
    start = head_commit(server, db)
    with server.connect(db) as conn:
        conn.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, note text)")
        conn.execute(
            "CREATE FUNCTION public.order_count() RETURNS bigint LANGUAGE sql STABLE"
            " BEGIN ATOMIC SELECT count(*) FROM public.orders; END"
        )
        conn.execute("ALTER TABLE public.orders ALTER COLUMN note SET DEFAULT ('order #' || public.order_count())")
    end, dump_end = head_commit(server, db), server.dump_schema(db)
    dump_start = pgtools.normalize_dump("")
    assert_pair_replays(server, db, make_db, start, end, dump_start, dump_end, "empty", "cycle")
    assert_pair_replays(server, db, make_db, end, start, dump_end, dump_start, "cycle", "empty")


# Each case: (setup DDL, rows inserted at state a, change DDL, query at b, its expected rows).
ROW_CASES = {
    "column renamed": (
        ["CREATE TABLE public.c (id integer PRIMARY KEY, name text NOT NULL)"],
        ["INSERT INTO public.c VALUES (1, 'Ann')"],
        ["ALTER TABLE public.c RENAME COLUMN name TO full_name"],
        "SELECT id, full_name FROM public.c", [(1, "Ann")],
    ),
    "table renamed": (
        ["CREATE TABLE public.c (id integer PRIMARY KEY, name text NOT NULL)"],
        ["INSERT INTO public.c VALUES (1, 'Ann')"],
        ["ALTER TABLE public.c RENAME TO clients"],
        "SELECT id, name FROM public.clients", [(1, "Ann")],
    ),
    "column type widened": (
        ["CREATE TABLE public.c (id integer PRIMARY KEY, qty smallint NOT NULL)"],
        ["INSERT INTO public.c VALUES (1, 7)"],
        ["ALTER TABLE public.c ALTER COLUMN qty TYPE bigint"],
        "SELECT id, qty FROM public.c", [(1, 7)],
    ),
    "column added with a default and dropped": (
        ["CREATE TABLE public.c (id integer PRIMARY KEY, old text)"],
        ["INSERT INTO public.c VALUES (1, 'x')"],
        ["ALTER TABLE public.c ADD COLUMN flag boolean NOT NULL DEFAULT true", "ALTER TABLE public.c DROP COLUMN old"],
        "SELECT id, flag FROM public.c", [(1, True)],
    ),
    "composite type attribute added": (
        ["CREATE TYPE public.addr AS (street text)", "CREATE TABLE public.c (id integer PRIMARY KEY, a public.addr)"],
        ["INSERT INTO public.c VALUES (1, ROW('Main St'))"],
        ["ALTER TYPE public.addr ADD ATTRIBUTE country text"],
        "SELECT id, (a).street FROM public.c", [(1, "Main St")],
    ),
    "function used by a check constraint renamed": (
        ["CREATE FUNCTION public.ok(p text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true'",
         "CREATE TABLE public.c (id integer PRIMARY KEY, code text CHECK (public.ok(code)))"],
        ["INSERT INTO public.c VALUES (1, 'A')"],
        ["ALTER FUNCTION public.ok(text) RENAME TO is_ok"],
        "SELECT id, code FROM public.c", [(1, "A")],
    ),
    "sequence used by a default renamed": (
        ["CREATE SEQUENCE public.s", "CREATE TABLE public.c (id bigint PRIMARY KEY DEFAULT nextval('public.s'))"],
        ["INSERT INTO public.c DEFAULT VALUES"],
        ["ALTER SEQUENCE public.s RENAME TO s2"],
        "SELECT id FROM public.c", [(1,)],
    ),
    "enum value renamed and added": (
        ["CREATE TYPE public.st AS ENUM ('new', 'paid')",
         "CREATE TABLE public.c (id integer PRIMARY KEY, s public.st NOT NULL)"],
        ["INSERT INTO public.c VALUES (1, 'paid')"],
        ["ALTER TYPE public.st RENAME VALUE 'paid' TO 'settled'", "ALTER TYPE public.st ADD VALUE 'void' BEFORE 'new'"],
        "SELECT id, s::text FROM public.c", [(1, "settled")],
    ),
    "partition detached": (
        ["CREATE TABLE public.o (id integer, d date) PARTITION BY RANGE (d)",
         "CREATE TABLE public.o24 PARTITION OF public.o FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"],
        ["INSERT INTO public.o VALUES (1, '2024-05-01')"],
        ["ALTER TABLE public.o DETACH PARTITION public.o24"],
        "SELECT id FROM public.o24", [(1,)],
    ),
    "partition attached": (
        ["CREATE TABLE public.o (id integer, d date) PARTITION BY RANGE (d)",
         "CREATE TABLE public.o24 (id integer, d date)"],
        ["INSERT INTO public.o24 VALUES (1, '2024-05-01')"],
        ["ALTER TABLE public.o ATTACH PARTITION public.o24 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"],
        "SELECT id FROM public.o", [(1,)],
    ),
}


@pytest.mark.parametrize(
    "case",
    list(ROW_CASES),
)
def test_migration_keeps_rows(pg_server, engine_db, make_db, case):
    """A migration applied to a database holding rows keeps them when the change is one inside
    a table (ALTER, not drop and create), and still reaches exactly the target state."""
    setup, rows, change, query, expected = ROW_CASES[case]
    server, db = pg_server, engine_db
    a, dump_a, b, dump_b = run_setup_then_change(server, db, setup, change)
    assert dump_a != dump_b and a != b, "the change was captured"

    target = make_db()
    run_script(server, target, migration_script(server, db, None, a), "migration(NULL, a)")
    pgtools.assert_same_dump(dump_a, server.dump_schema(target), "live at a", "built at a")
    with server.connect(target) as conn:
        for statement in rows:
            conn.execute(statement)
    run_script(server, target, migration_script(server, db, a, b), f"migration(a, b) [{case}]")
    pgtools.assert_same_dump(dump_b, server.dump_schema(target), "live at b", "a + migration(a, b)")
    with server.connect(target) as conn:
        assert conn.execute(query).fetchall() == expected, f"rows lost by migration(a, b) [{case}]"


def test_partitions_of_a_table_referenced_by_a_foreign_key_come_and_go(pg_server, engine_db, make_db):
    """A partition of a partitioned table that another table references: PostgreSQL refuses a
    plain DROP TABLE of it (the foreign key depends on each partition), so going back from a
    state that added it must detach it first."""
    server, db = pg_server, engine_db
    with server.connect(db) as conn:
        conn.execute("CREATE TABLE public.o (id integer, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d)")
        conn.execute("CREATE TABLE public.o24 PARTITION OF public.o FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
        conn.execute("CREATE TABLE public.lines (o_id integer, d date, FOREIGN KEY (o_id, d) REFERENCES public.o)")
    a, dump_a = head_commit(server, db), server.dump_schema(db)
    with server.connect(db) as conn:
        conn.execute("CREATE TABLE public.o25 PARTITION OF public.o FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    b, dump_b = head_commit(server, db), server.dump_schema(db)
    assert_pair_replays(server, db, make_db, a, b, dump_a, dump_b, "two partitions", "three partitions")
    assert_pair_replays(server, db, make_db, b, a, dump_b, dump_a, "three partitions", "two partitions")


def test_objects_using_an_extension_type_in_its_own_schema_replay(pg_server, engine_db, make_db):
    """A column of a type that an extension installed in a schema of its own: the extension must
    be created before the table (the table depends on the extension through its member type)."""
    server, db = pg_server, engine_db
    with server.connect(db) as conn:
        conn.execute("CREATE SCHEMA ext")
        conn.execute("CREATE EXTENSION citext WITH SCHEMA ext")
        conn.execute("CREATE TABLE public.users (id integer PRIMARY KEY, login ext.citext NOT NULL)")
        conn.execute("CREATE DOMAIN public.login AS ext.citext CHECK (length(VALUE::text) > 2)")
    live = server.dump_schema(db)
    target = make_db()
    run_script(server, target, migration_script(server, db, None, "main"), "migration(NULL, 'main')")
    pgtools.assert_same_dump(live, server.dump_schema(target), "live", "replayed migration(NULL, 'main')")


# Small changes, each replayed both ways: (setup DDL, change DDL).
PAIR_CASES = {
    "sequence ownership set": (
        ["CREATE SEQUENCE public.s", "CREATE TABLE public.t (a integer, b integer)"],
        ["ALTER SEQUENCE public.s OWNED BY public.t.b"],
    ),
    "comment on schema public": ([], ["COMMENT ON SCHEMA public IS 'the default schema'"]),
    "column dropped with CASCADE drops a view": (
        ["CREATE TABLE public.t (a integer, b integer)", "CREATE VIEW public.v AS SELECT a, b FROM public.t"],
        ["ALTER TABLE public.t DROP COLUMN b CASCADE"],
    ),
    "table starts inheriting": (
        ["CREATE TABLE public.p (a integer)", "CREATE TABLE public.c (a integer, b integer)"],
        ["ALTER TABLE public.c INHERIT public.p"],
    ),
    "trigger renamed, policy and row security changed": (
        ["CREATE TABLE public.t (a integer)",
         "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
         "CREATE TRIGGER tr BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()",
         "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY", "CREATE POLICY p ON public.t USING (a > 0)"],
        ["ALTER TRIGGER tr ON public.t RENAME TO tr2", "ALTER POLICY p ON public.t USING (a > 1)",
         "ALTER TABLE public.t FORCE ROW LEVEL SECURITY"],
    ),
    "function result type changed under a view": (
        ["CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
         "CREATE VIEW public.v AS SELECT public.f() AS x"],
        ["DROP FUNCTION public.f() CASCADE", "CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS 'SELECT 1::text'",
         "CREATE VIEW public.v AS SELECT public.f() AS x"],
    ),
}


@pytest.mark.parametrize("case", list(PAIR_CASES))
def test_small_change_is_captured_and_replays_both_ways(pg_server, engine_db, make_db, case):
    setup, change = PAIR_CASES[case]
    server, db = pg_server, engine_db
    a, dump_a, b, dump_b = run_setup_then_change(server, db, setup, change)
    assert a != b, f"no commit for: {change}"
    assert_pair_replays(server, db, make_db, a, b, dump_a, dump_b, "before", "after")
    assert_pair_replays(server, db, make_db, b, a, dump_b, dump_a, "after", "before")


# --------------------------------------------------------------------------- enum edge case


def test_migration_that_adds_an_enum_value_and_uses_it_replays(pg_server, engine_db, make_db):
    """ALTER TYPE ... ADD VALUE cannot be followed by a use of the value in the same transaction;
    a migration spanning both must still replay in one go."""
    server, db = pg_server, engine_db
    with server.connect(db) as conn:
        conn.execute("CREATE TYPE public.mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE TABLE public.people (id integer PRIMARY KEY, mood public.mood DEFAULT 'ok')")
    start = head_commit(server, db)
    with server.connect(db) as conn:
        conn.execute("ALTER TYPE public.mood ADD VALUE 'happy'")
        conn.execute("ALTER TABLE public.people ALTER COLUMN mood SET DEFAULT 'happy'")
    live = server.dump_schema(db)
    target = make_db()
    run_script(server, target, migration_script(server, db, None, start), "migration(NULL, start)")
    run_script(server, target, migration_script(server, db, start, "main"), "migration(start, main)")
    pgtools.assert_same_dump(live, server.dump_schema(target), "live", "start + migration(start, main)")


# --------------------------------------------------------------------------- capture


def test_rolled_back_ddl_leaves_no_commit(pg_server, engine_db):
    before = commit_ids(pg_server, engine_db)
    with pg_server.connect(engine_db, autocommit=False) as conn:
        conn.execute("CREATE TABLE public.doomed (id integer)")
        conn.execute("ALTER TABLE public.doomed ADD COLUMN note text")
        conn.rollback()
    assert commit_ids(pg_server, engine_db) == before
    with pg_server.connect(engine_db) as conn:
        identities = [r[0] for r in conn.execute("SELECT identity FROM pggit.tree('main')")]
    assert not any("doomed" in i for i in identities)


def test_failed_statement_leaves_no_commit(pg_server, engine_db):
    with pg_server.connect(engine_db) as conn:
        conn.execute("CREATE TABLE public.t (id integer)")
    before = commit_ids(pg_server, engine_db)
    with pg_server.connect(engine_db) as conn:
        with pytest.raises(psycopg.errors.DuplicateTable):
            conn.execute("CREATE TABLE public.t (id integer)")
    assert commit_ids(pg_server, engine_db) == before


def test_commit_message_is_the_statement_and_author_the_session_role(pg_server, engine_db):
    role = f"pggit_t_author_{uuid.uuid4().hex[:8]}"
    admin = pg_server.connect(engine_db)
    try:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(engine_db), sql.Identifier(role))
        )
        dsn = psycopg.conninfo.make_conninfo(pg_server.dsn_for(engine_db), user=role)
        statement = "CREATE SCHEMA authored_by_someone_else"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement)
        with pg_server.connect(engine_db) as conn:
            author, message = conn.execute("SELECT author, message FROM pggit.log('main', 1)").fetchone()
        assert role in author
        assert message.strip().rstrip(";") == statement

        statement = "CREATE TABLE public.by_postgres (id integer)"
        admin.execute(statement)
        author, message = admin.execute("SELECT author, message FROM pggit.log('main', 1)").fetchone()
        session_user = admin.execute("SELECT session_user").fetchone()[0]
        assert session_user in author and role not in author
        assert message.strip().rstrip(";") == statement
    finally:
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS authored_by_someone_else"))
        admin.close()
        pgtools.drop_database(pg_server, engine_db)  # the role owns nothing once the database is gone
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_begin_commit_groups_a_transaction_into_one_commit(pg_server, engine_db):
    before = commit_ids(pg_server, engine_db)
    with pg_server.connect(engine_db, autocommit=False) as conn:
        conn.execute("SELECT pggit.begin_commit('Add shop tables')")
        conn.execute("CREATE TABLE public.shops (id integer PRIMARY KEY, name text)")
        conn.execute("CREATE TABLE public.shop_staff (shop_id integer REFERENCES public.shops, person text)")
        conn.execute("ALTER TABLE public.shops ADD COLUMN city text")
        conn.execute("CREATE INDEX shops_city_idx ON public.shops (city)")
        conn.commit()
    after = commit_ids(pg_server, engine_db)
    assert after[1:] == before and len(after) == len(before) + 1
    with pg_server.connect(engine_db) as conn:
        message, parents = conn.execute("SELECT message, parent_ids FROM pggit.log('main', 1)").fetchone()
        changed = [r[0] for r in conn.execute("SELECT * FROM pggit.show(%s)", [after[0]]).fetchall()]
        tree = {r[0]: r[1] for r in conn.execute("SELECT identity, definition FROM pggit.tree('main')")}
    assert message == "Add shop tables"
    assert list(parents) == [before[0]]
    shown = " ".join(map(str, changed))
    assert "shops" in shown and "shop_staff" in shown
    shops = [d for i, d in tree.items() if i.endswith("shops") and "staff" not in i]
    assert shops and "city" in shops[0], f"the grouped commit's tree has shops with city: {shops}"


def test_engine_system_and_temporary_objects_are_not_tracked(pg_server, engine_db):
    before = commit_ids(pg_server, engine_db)
    with pg_server.connect(engine_db) as conn:
        conn.execute("CREATE TEMPORARY TABLE scratch (id integer)")
        conn.execute("CREATE INDEX scratch_idx ON scratch (id)")
        conn.execute("CREATE FUNCTION pg_temp.tmp_fn() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$")
        conn.execute("CREATE FUNCTION pg_catalog.pggit_t_sysfn() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$")
        conn.execute("DROP FUNCTION pg_catalog.pggit_t_sysfn()")
        assert commit_ids(pg_server, engine_db) == before, "temporary/system objects made a commit"
        conn.execute("CREATE TABLE pggit.not_mine (id integer)")
        conn.execute("DROP TABLE pggit.not_mine")
        assert commit_ids(pg_server, engine_db) == before, "objects in schema pggit made a commit"
        identities = [r[0] for r in conn.execute("SELECT identity FROM pggit.tree('main')")]
    assert not any(
        re.search(r"\b(pggit|pg_catalog|pg_temp\w*|information_schema)\.", i) for i in identities
    ), identities


def test_tree_lists_every_object_of_the_rich_schema(pg_server, engine_db):
    pg_server.psql_file(engine_db, RICH_SCHEMA)
    with pg_server.connect(engine_db) as conn:
        rows = conn.execute("SELECT kind, identity, definition, hash FROM pggit.tree('main')").fetchall()
        (n_idents,) = conn.execute("SELECT count(DISTINCT identity) FROM pggit.tree('main')").fetchone()
    assert len(rows) == n_idents, "identities are unique in a tree"
    kinds = {r[0] for r in rows}
    for kind in ("schema", "table", "index", "sequence", "view", "materialized view", "function", "trigger",
                 "policy", "extension"):
        assert kind in kinds, f"no {kind!r} in tree('main'); kinds: {sorted(kinds)}"
    assert any(k in kinds for k in ("type", "enum")), sorted(kinds)
    assert any(k in kinds for k in ("domain", "type")), sorted(kinds)
    assert any(k in kinds for k in ("procedure", "function")), sorted(kinds)
    assert any(k in kinds for k in ("aggregate", "function")), sorted(kinds)
    for kind, identity, definition, hash_ in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", hash_), (identity, hash_)
        assert definition and definition.strip(), identity
    by_identity = {r[1]: r for r in rows}
    assert "table public.orders" in by_identity, sorted(by_identity)[:40]
    assert "index public.orders_pkey" in by_identity or any(
        "orders_pkey" in r[2] for r in rows if r[1] == "table public.orders"
    )
    idents = "\n".join(by_identity)
    for name in ('"Sales Dept"', '"Order Lines"', '"odd ""names"" é; select"', '"select"', "order_status",
                 "comma_join", "restock", "customers_touch", "customers_self", "citext", "product_stock",
                 "reservations", "stock_moves_us_2025", "login_events", "orders_default"):
        assert name in idents, f"{name} not in any identity of tree('main')"
