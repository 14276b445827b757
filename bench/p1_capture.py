"""P1: cost of capture, with the engine installed vs without, in interleaved rounds on the same
server, each statement in its own transaction (autocommit).

Three workloads:

* `CREATE TABLE`: 2,000 statements (the queued fast path). Target: ratio <= 1.15.
* mixed: 2,000 statements cycling through what a schema's life is made of: ALTER TABLE (add,
  drop, alter column: default, NOT NULL, type; add and drop CHECK, UNIQUE and FOREIGN KEY
  constraints), CREATE/DROP INDEX, views, functions, COMMENT ON, drops, on tables that hold a
  few indexes, a view and foreign keys. Target: ratio <= 1.3 and <= 0.5 ms added per statement.
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
app's listener does. ``both`` runs each workload with NOTIFY off and then on, on the same
databases, and prints both ratios and how much NOTIFY adds (goal: the ratio with NOTIFY stays
within the workload's target, 1.15x for CREATE TABLE).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from contextlib import contextmanager
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


def measure(plain: psycopg.Connection, engine: psycopg.Connection, label: str, stmts: list[str], rounds: int,
            ratio_goal: float | None, added_goal: float | None) -> tuple[float, float]:
    per_round = len(stmts) // rounds
    plain_times, engine_times = [], []
    engine.execute("SELECT pggit.flush()")
    commits0 = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
    for r in range(rounds):
        chunk = stmts[r * per_round:(r + 1) * per_round]
        # alternate which database goes first so drift in the machine hits both alike
        order = [(plain, plain_times), (engine, engine_times)]
        if r % 2:
            order.reverse()
        for conn, times in order:
            times.append(run_round(conn, chunk))
    queued = engine.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0]
    # the deferred part: describing the queued statements, paid by the first reader
    t0 = time.perf_counter()
    engine.execute("SELECT pggit.flush()")
    flush_s = time.perf_counter() - t0
    commits = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] - commits0
    n = per_round * rounds
    plain_ms = sum(plain_times) / n * 1000
    engine_ms = sum(engine_times) / n * 1000
    ratio, added = engine_ms / plain_ms, engine_ms - plain_ms
    print(f"P1 capture, {label}: {n} statements, {rounds} interleaved rounds")
    print(f"  without engine: {plain_ms:.3f} ms/statement (median round {statistics.median(plain_times) / per_round * 1000:.3f})")
    print(f"  with engine:    {engine_ms:.3f} ms/statement (median round {statistics.median(engine_times) / per_round * 1000:.3f})")
    print(f"  ratio: {ratio:.3f}x" + (f" (target <= {ratio_goal}x)" if ratio_goal else ""))
    print(f"  added: {added:.3f} ms/statement" + (f" (target <= {added_goal} ms)" if added_goal else ""))
    print(f"  deferred flush: {queued} still queued after the run, pggit.flush() recorded them in {flush_s * 1000:.0f} ms "
          f"({flush_s / max(queued, 1) * 1000:.3f} ms each, paid once by the first reader); "
          f"queued creates flushed earlier by a later statement are in the figures above")
    print(f"  commits recorded: {commits}")
    return engine_ms, plain_ms


def _drain(dsn: str, ready, stop, received) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN pggit")
        ready.set()
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.2):
                with received.get_lock():
                    received.value += 1


@contextmanager
def notify_setting(engine: psycopg.Connection, engine_dsn: str, on: bool):
    """NOTIFY on or off for what runs inside; while on, a listener drains the notifications, in a
    process of its own as the web app's listener is (a thread here would take turns with the
    statements for the interpreter)."""
    engine.execute("SELECT pggit.configure_notify(%s)", (on,))
    if not on:
        yield
        return
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


def compare_notify(label: str, results: dict[bool, tuple[float, float]]) -> None:
    if len(results) < 2:
        return
    r_off = results[False][0] / results[False][1]
    r_on = results[True][0] / results[True][1]
    print(f"P1 {label}, NOTIFY off vs on: ratio {r_off:.3f}x without NOTIFY, {r_on:.3f}x with NOTIFY "
          f"(NOTIFY adds {results[True][0] - results[False][0]:+.3f} ms/statement, "
          f"{r_on / r_off:.3f}x the ratio without it)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--wide-statements", type=int, default=300)
    ap.add_argument("--only", choices=["create", "mixed", "wide"], action="append")
    ap.add_argument("--notify", choices=["on", "off", "both"], default="on",
                    help="the engine's NOTIFY to listeners (pggit.configure_notify); both: off, then on")
    args = ap.parse_args()
    only = set(args.only or ["create", "mixed", "wide"])
    settings = {"on": [True], "off": [False], "both": [False, True]}[args.notify]
    dsn = server_dsn()
    with scratch_db(dsn) as plain_dsn, scratch_db(dsn) as engine_dsn:
        Client(engine_dsn).install()
        with psycopg.connect(plain_dsn, autocommit=True) as plain, psycopg.connect(engine_dsn, autocommit=True) as engine:
            def notify_label(on: bool) -> str:
                return f", NOTIFY {'on' if on else 'off'}" if args.notify == "both" else ""

            if "create" in only:
                results = {}
                for n, on in enumerate(settings):
                    with notify_setting(engine, engine_dsn, on):
                        stmts = [s.replace("CREATE TABLE t_", f"CREATE TABLE t{n}_")
                                 for s in statements(create_table, args.statements)]
                        results[on] = measure(plain, engine, "CREATE TABLE" + notify_label(on), stmts, args.rounds, 1.15, 0.5)
                compare_notify("CREATE TABLE", results)
            if "mixed" in only:
                for conn in (plain, engine):
                    for s in MIXED_SETUP:
                        conn.execute(s)
                results = {}
                for on in settings:
                    with notify_setting(engine, engine_dsn, on):
                        results[on] = measure(plain, engine, "mixed DDL (ALTER TABLE, indexes, views, functions, comments, drops)"
                                              + notify_label(on), statements(mixed_cycle, args.statements), args.rounds, 1.3, 0.5)
                compare_notify("mixed DDL", results)
            if "wide" in only:
                for conn in (plain, engine):
                    for s in WIDE_SETUP:
                        conn.execute(s)
                res = {}
                for table, label in (("w_narrow", "10 columns"), ("w_wide", "1,000 columns + 200 dropped")):
                    res[table] = measure(plain, engine, f"COMMENT ON COLUMN on a table of {label}",
                                         statements(wide(table), args.wide_statements), 10, None, None)
                added_narrow = res["w_narrow"][0] - res["w_narrow"][1]
                added_wide = res["w_wide"][0] - res["w_wide"][1]
                print(f"P1 wide: added per COMMENT ON COLUMN {added_narrow:.3f} ms at 10 columns, "
                      f"{added_wide:.3f} ms at 1,000 columns ({added_wide / max(added_narrow, 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
