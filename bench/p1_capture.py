"""P1: cost of capture, with the engine installed vs without, in interleaved rounds on the same
server, each statement in its own transaction (autocommit).

Three workloads:

* `CREATE TABLE`: 2,000 statements (the queued fast path). Target: ratio <= 1.15.
* mixed: 2,000 statements cycling through what a schema's life is made of: ALTER TABLE (add,
  drop, alter column: default, NOT NULL, type; add and drop CHECK, UNIQUE and FOREIGN KEY
  constraints), CREATE/DROP INDEX, views, functions, COMMENT ON, drops, on tables that hold a
  few indexes, a view and foreign keys. Target: ratio <= 1.3 and <= 0.5 ms added per statement.
* grant: `GRANT` / `REVOKE` on one table in a database of --grant-tables tables, and `GRANT ... ON
  ALL TABLES IN SCHEMA`: GRANT reports no object addresses, so what capture compares must not grow
  with the objects HEAD holds.
* wide: `COMMENT ON COLUMN` on a 10-column table and on a 1,000-column table (with 200 dropped
  columns): describing a table must cost what changed, so the two must cost alike.

Printed for each: time per statement with and without the engine, the ratio, the milliseconds
added per statement, and the deferred flush cost: statements that only create objects are queued
by the capture trigger and described when pggit.flush() runs (before any reader or any
statement that changes an existing object); every other statement is described at once and its
commit is written by the next pggit.flush(). What is still queued at the end is flushed and timed
(the cost a reader pays once, per statement).

``--notify on|off|both`` (default on, the engine's default): the engine's NOTIFY to listeners
(``pggit.configure_notify``), with a connection LISTENing and draining while it is on, as the web
app's listener does. ``both`` installs the engine in two databases, NOTIFY off in one and on in the
other, runs every round on the plain database and both of them in rotating order, and prints both
ratios and how much NOTIFY adds (goal: within 1.15x of the ratio without it).

``--release VERSION`` (repeatable) installs a kept release (``sql/releases``) in one more database,
measured in the same rounds: a change's effect against the engine before it, on one machine at one
time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from contextlib import ExitStack, contextmanager
from typing import Callable

from _common import scratch_db, server_dsn

import psycopg
from pggit import Client


def create_table(i: int) -> list[str]:
    return [f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) DEFAULT 0, created_at timestamptz)"]


MIXED_SETUP = [
    "CREATE TABLE m_customer (id bigint PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz DEFAULT now())",
    "CREATE TABLE m_orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES m_customer, total numeric(12,2),"
    " status text DEFAULT 'new', note text, placed_at timestamptz)",
    "CREATE INDEX m_orders_customer_idx ON m_orders (customer_id)",
    "CREATE INDEX m_orders_placed_idx ON m_orders (placed_at)",
    "CREATE VIEW m_open_orders AS SELECT id, customer_id, total FROM m_orders WHERE status = 'new'",
    "CREATE FUNCTION m_total(bigint) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(total) FROM m_orders WHERE customer_id = $1'",
]


def mixed_cycle(i: int) -> list[str]:
    """One cycle of the mixed workload (20 statements); leaves the schema as it found it."""
    c = f"x_{i}"
    return [
        f"ALTER TABLE m_orders ADD COLUMN {c} integer",
        f"COMMENT ON COLUMN m_orders.{c} IS 'cycle {i}'",
        f"ALTER TABLE m_orders ALTER COLUMN {c} SET DEFAULT {i}",
        f"ALTER TABLE m_orders ALTER COLUMN {c} SET NOT NULL",
        f"ALTER TABLE m_orders ADD CONSTRAINT m_orders_{c}_check CHECK ({c} >= 0)",
        f"CREATE INDEX m_orders_{c}_idx ON m_orders ({c})",
        f"ALTER TABLE m_orders ALTER COLUMN {c} TYPE bigint",
        f"CREATE TABLE m_item_{i} (id bigint PRIMARY KEY, order_id bigint, qty integer)",
        f"ALTER TABLE m_item_{i} ADD CONSTRAINT m_item_{i}_order_fk FOREIGN KEY (order_id) REFERENCES m_orders",
        f"ALTER TABLE m_customer ADD CONSTRAINT m_customer_email_{i} UNIQUE (email)",
        f"CREATE VIEW m_v_{i} AS SELECT id, {c} FROM m_orders",
        f"COMMENT ON VIEW m_v_{i} IS 'view {i}'",
        f"CREATE FUNCTION m_f_{i}(p integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT p + {i}'",
        f"COMMENT ON FUNCTION m_f_{i}(integer) IS 'function {i}'",
        f"DROP VIEW m_v_{i}",
        f"DROP FUNCTION m_f_{i}(integer)",
        f"ALTER TABLE m_customer DROP CONSTRAINT m_customer_email_{i}",
        f"DROP TABLE m_item_{i}",
        f"DROP INDEX m_orders_{c}_idx",
        f"ALTER TABLE m_orders DROP COLUMN {c}",
    ]


WIDE_SETUP = [
    "CREATE TABLE w_narrow (" + ", ".join(f"c{j} integer" for j in range(10)) + ")",
    "CREATE TABLE w_wide (" + ", ".join(f"c{j} integer" for j in range(1200)) + ")",
] + [f"ALTER TABLE w_wide DROP COLUMN c{j}" for j in range(1000, 1200)]


def wide(table: str) -> Callable[[int], list[str]]:
    return lambda i: [f"COMMENT ON COLUMN {table}.c{i % 10} IS 'comment {i}'"]


def grant_cycle(tables: int) -> Callable[[int], list[str]]:
    """GRANT and REVOKE on one table of many (the tables of GRANT_SETUP)."""
    return lambda i: [f"GRANT SELECT ON g_{(i * 37) % tables} TO PUBLIC", f"REVOKE SELECT ON g_{(i * 37) % tables} FROM PUBLIC"]


def statements(cycle: Callable[[int], list[str]], count: int) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < count:
        out.extend(cycle(i))
        i += 1
    return out[:count]


def run_round(conn: psycopg.Connection, stmts: list[str]) -> float:
    t0 = time.perf_counter()
    for s in stmts:
        conn.execute(s)
    return time.perf_counter() - t0


def measure(plain: psycopg.Connection, engines: dict[str, psycopg.Connection], label: str, stmts: list[str],
            rounds: int, ratio_goal: float | None, added_goal: float | None) -> dict[str, tuple[float, float]]:
    """Run `stmts` in `rounds` chunks on the plain database and on each engine database, the order
    rotating every round so that drift in the machine (and the catalogs growing) hits all alike.
    Returns {engine label: (engine ms/statement, plain ms/statement)}."""
    per_round = len(stmts) // rounds
    conns = [(None, plain)] + list(engines.items())
    times: dict[str | None, list[float]] = {name: [] for name, _ in conns}
    commits0 = {}
    for name, engine in engines.items():
        engine.execute("SELECT pggit.flush()")
        commits0[name] = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
    for r in range(rounds):
        chunk = stmts[r * per_round:(r + 1) * per_round]
        shift = r % len(conns)
        for name, conn in conns[shift:] + conns[:shift]:
            times[name].append(run_round(conn, chunk))
    n = per_round * rounds
    plain_ms = sum(times[None]) / n * 1000
    print(f"P1 capture, {label}: {n} statements, {rounds} interleaved rounds")
    print(f"  without engine: {plain_ms:.3f} ms/statement (median round {statistics.median(times[None]) / per_round * 1000:.3f})")
    out = {}
    for name, engine in engines.items():
        queued = engine.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0]
        # the deferred part: describing the queued statements, paid by the first reader
        t0 = time.perf_counter()
        engine.execute("SELECT pggit.flush()")
        flush_s = time.perf_counter() - t0
        commits = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] - commits0[name]
        engine_ms = sum(times[name]) / n * 1000
        ratio, added = engine_ms / plain_ms, engine_ms - plain_ms
        tag = f" ({name})" if name else ""
        print(f"  with engine{tag}: {engine_ms:.3f} ms/statement (median round {statistics.median(times[name]) / per_round * 1000:.3f})")
        print(f"    ratio: {ratio:.3f}x" + (f" (target <= {ratio_goal}x)" if ratio_goal else ""))
        print(f"    added: {added:.3f} ms/statement" + (f" (target <= {added_goal} ms)" if added_goal else ""))
        print(f"    deferred flush: {queued} still queued after the run, pggit.flush() recorded them in {flush_s * 1000:.0f} ms "
              f"({flush_s / max(queued, 1) * 1000:.3f} ms each, paid once by the first reader); "
              f"queued creates flushed earlier by a later statement are in the figures above")
        print(f"    commits recorded: {commits}")
        out[name] = (engine_ms, plain_ms)
    return out


def _drain(dsn: str, ready, stop, received) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN pggit")
        ready.set()
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.2):
                with received.get_lock():
                    received.value += 1


@contextmanager
def listening(engine_dsn: str):
    """A connection LISTENing and draining the engine's notifications, in a process of its own as
    the web app's listener is (a thread here would take turns with the statements for the
    interpreter)."""
    ready, stop, received = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Value("i", 0)
    listener = multiprocessing.Process(target=_drain, args=(engine_dsn, ready, stop, received), daemon=True)
    listener.start()
    ready.wait(30)
    try:
        yield
    finally:
        time.sleep(0.5)  # the last notifications
        stop.set()
        listener.join(10)
        print(f"  NOTIFY on: the listener received {received.value} notifications")


def compare_notify(label: str, results: dict[str, tuple[float, float]]) -> None:
    for name, (ms, plain_ms) in results.items():
        if name.startswith("release "):
            this = results.get("this tree") or results.get("NOTIFY on") or results.get("NOTIFY off")
            print(f"P1 {label}, this tree against {name}: {this[0] - this[1]:.3f} against {ms - plain_ms:.3f} ms added "
                  f"per statement ({(this[0] - this[1]) / (ms - plain_ms):.2f}x)")
    if "NOTIFY off" not in results or "NOTIFY on" not in results:
        return
    (off_ms, off_plain), (on_ms, on_plain) = results["NOTIFY off"], results["NOTIFY on"]
    r_off, r_on = off_ms / off_plain, on_ms / on_plain
    print(f"P1 {label}, NOTIFY off vs on (same rounds, rotating order): ratio {r_off:.3f}x without NOTIFY, "
          f"{r_on:.3f}x with NOTIFY (NOTIFY adds {on_ms - off_ms:+.3f} ms/statement, "
          f"{r_on / r_off:.3f}x the ratio without it; goal <= 1.15x)")


def install_release(conn: psycopg.Connection, version: str) -> None:
    """Install a kept release script as its installer did (a full script, then the initial import)."""
    from pggit import install as pginstall

    script = pginstall.release_script(version).read_text()
    conn.execute("SELECT set_config('pggit.capture', 'off', false)")
    with conn.transaction():
        conn.execute("SET LOCAL check_function_bodies = off")
        conn.execute(script.encode())
        conn.execute("INSERT INTO pggit.meta (key, value) VALUES ('version', %s),"
                     " ('installed_server_version', current_setting('server_version_num'))", (version,))
    conn.execute("SELECT set_config('pggit.capture', '', false)")
    conn.execute("SELECT pggit._initial_import()")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--wide-statements", type=int, default=300)
    ap.add_argument("--grant-tables", type=int, default=1500, help="tables in the database for the grant workload")
    ap.add_argument("--grant-statements", type=int, default=400)
    ap.add_argument("--only", choices=["create", "mixed", "wide", "grant"], action="append")
    ap.add_argument("--release", action="append", default=[], metavar="VERSION",
                    help="also measure a kept release (sql/releases/pggit--VERSION.sql) in a database of its own, "
                         "in the same rounds: the engine before a change as the baseline of the change")
    ap.add_argument("--notify", choices=["on", "off", "both"], default="on",
                    help="the engine's NOTIFY to listeners (pggit.configure_notify); both: two engine "
                         "databases, one with NOTIFY off and one with it on, measured in the same rounds")
    args = ap.parse_args()
    only = set(args.only or ["create", "mixed", "wide", "grant"])
    settings = {"on": [True], "off": [False], "both": [False, True]}[args.notify]
    dsn = server_dsn()
    with ExitStack() as stack:
        plain = stack.enter_context(psycopg.connect(stack.enter_context(scratch_db(dsn)), autocommit=True))
        engines: dict[str, psycopg.Connection] = {}
        for on in settings:
            engine_dsn = stack.enter_context(scratch_db(dsn))
            Client(engine_dsn).install()
            engine = stack.enter_context(psycopg.connect(engine_dsn, autocommit=True))
            engine.execute("SELECT pggit.configure_notify(%s)", (on,))
            if on:
                stack.enter_context(listening(engine_dsn))
            engines[f"NOTIFY {'on' if on else 'off'}" if len(settings) > 1 else ("this tree" if args.release else "")] = engine
        for version in args.release:
            release_dsn = stack.enter_context(scratch_db(dsn))
            engine = stack.enter_context(psycopg.connect(release_dsn, autocommit=True))
            install_release(engine, version)
            engine.execute("SELECT pggit.configure_notify(%s)", (settings[-1],))
            engines[f"release {version}"] = engine
        every = [plain, *engines.values()]
        if "create" in only:
            results = measure(plain, engines, "CREATE TABLE", statements(create_table, args.statements), args.rounds, 1.15, 0.5)
            compare_notify("CREATE TABLE", results)
        if "mixed" in only:
            for conn in every:
                for s in MIXED_SETUP:
                    conn.execute(s)
            results = measure(plain, engines, "mixed DDL (ALTER TABLE, indexes, views, functions, comments, drops)",
                              statements(mixed_cycle, args.statements), args.rounds, 1.3, 0.5)
            compare_notify("mixed DDL", results)
        if "grant" in only:
            for conn in every:
                for i in range(args.grant_tables):
                    conn.execute(f"CREATE TABLE g_{i} (id bigint PRIMARY KEY, note text)")
            for engine in engines.values():
                engine.execute("SELECT pggit.flush()")
            results = measure(plain, engines, f"GRANT / REVOKE on one table of {args.grant_tables}",
                              statements(grant_cycle(args.grant_tables), args.grant_statements), 20, None, None)
            compare_notify("GRANT / REVOKE", results)
            results = measure(plain, engines, f"GRANT / REVOKE ... ON ALL TABLES IN SCHEMA ({args.grant_tables} tables)",
                              ["GRANT INSERT ON ALL TABLES IN SCHEMA public TO PUBLIC",
                               "REVOKE INSERT ON ALL TABLES IN SCHEMA public FROM PUBLIC"] * 2, 4, None, None)
            compare_notify("ON ALL TABLES", results)
        if "wide" in only:
            for conn in every:
                for s in WIDE_SETUP:
                    conn.execute(s)
            res = {}
            for table, label in (("w_narrow", "10 columns"), ("w_wide", "1,000 columns + 200 dropped")):
                res[table] = measure(plain, engines, f"COMMENT ON COLUMN on a table of {label}",
                                     statements(wide(table), args.wide_statements), 10, None, None)
            for name in engines:
                added_narrow = res["w_narrow"][name][0] - res["w_narrow"][name][1]
                added_wide = res["w_wide"][name][0] - res["w_wide"][name][1]
                print(f"P1 wide{' (' + name + ')' if name else ''}: added per COMMENT ON COLUMN {added_narrow:.3f} ms "
                      f"at 10 columns, {added_wide:.3f} ms at 1,000 columns ({added_wide / max(added_narrow, 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
