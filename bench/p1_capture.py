"""P1: cost of capture. 2,000 CREATE TABLE statements with the engine installed vs without,
in interleaved rounds on the same server, each statement in its own transaction (autocommit).

Prints the time per statement for both, the ratio, and the milliseconds added per statement.
Targets: ratio <= 1.15 and <= 0.5 ms added per statement. Statements that only create objects
are queued by the capture trigger and described when pggit.flush() runs (before any reader or
any statement that changes an existing object); the flush time is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import scratch_db, server_dsn

import psycopg
from pggit import Client


def run_round(conn: psycopg.Connection, start: int, count: int) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + count):
        conn.execute(f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) DEFAULT 0, created_at timestamptz)")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    per_round = args.statements // args.rounds
    dsn = server_dsn()
    with scratch_db(dsn) as plain_dsn, scratch_db(dsn) as engine_dsn:
        Client(engine_dsn).install()
        with psycopg.connect(plain_dsn, autocommit=True) as plain, psycopg.connect(engine_dsn, autocommit=True) as engine:
            plain_times, engine_times = [], []
            for r in range(args.rounds):
                # alternate which database goes first so drift in the machine hits both alike
                order = [(plain, plain_times), (engine, engine_times)]
                if r % 2:
                    order.reverse()
                for conn, times in order:
                    times.append(run_round(conn, r * per_round, per_round))
            queued = engine.execute("SELECT count(*) FROM pggit.capture_queue").fetchone()[0]
            # the deferred part: describing the queued statements, paid by the first reader
            t0 = time.perf_counter()
            engine.execute("SELECT pggit.flush()")
            flush_s = time.perf_counter() - t0
            commits = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
    n = per_round * args.rounds
    plain_ms = sum(plain_times) / n * 1000
    engine_ms = sum(engine_times) / n * 1000
    print(f"P1 capture: {n} CREATE TABLE statements, {args.rounds} interleaved rounds")
    print(f"  without engine: {plain_ms:.3f} ms/statement (median round {statistics.median(plain_times) / per_round * 1000:.3f})")
    print(f"  with engine:    {engine_ms:.3f} ms/statement (median round {statistics.median(engine_times) / per_round * 1000:.3f})")
    print(f"  queued after the run: {queued}; pggit.flush() recorded them in {flush_s * 1000:.0f} ms "
          f"({flush_s / max(queued, 1) * 1000:.3f} ms/statement, paid once by the first reader, not by the statements)")
    print(f"  commits recorded: {commits - 1} (expected {n})")
    print(f"  ratio: {engine_ms / plain_ms:.3f}x (target <= 1.15x)")
    print(f"  added: {engine_ms - plain_ms:.3f} ms/statement (target <= 0.5 ms)")


if __name__ == "__main__":
    main()
