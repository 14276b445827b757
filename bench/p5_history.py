"""P5: the cost of one captured commit must not grow with history.

One database with the engine takes --commits captured commits (autocommit, one statement per
commit), alternating `COMMENT ON TABLE bench_t IS '<n>'` and `ALTER TABLE bench_t ALTER COLUMN c
SET DEFAULT <n>` on one small table: the tree stays small while the history grows.

Around commit #100, #10,000, #25,000 and #50,000 (the points scale with --commits) the time of
each commit is measured over a window of --window commits, interleaved in chunks with the same
statements on a database without the engine (the baseline), so that drift of the machine shows.
Printed: mean (and median, p95, max) ms per commit at each point with and without the engine, and
the ratio late/early. Goal: commit #50,000 within 1.3x of commit #100.

With --workload mixed, the statements are P1's mixed DDL cycle (ALTER TABLE add/alter/drop column
and constraints, indexes, views, functions, comments, drops: 20 statements that leave the schema
as they found it) on a few tables; windows and chunks are whole cycles. Each cycle adds and drops a
column and PostgreSQL keeps dropped columns, so the tables are made anew (dropped and created:
commits like any) before each window, in both databases, and every 20,000 statements: what grows
is the history, not the tables.

Capture leaves each statement's commit to the next reader (pggit.flush()): a reader flushes after
every 1,000 statements and after each window, outside the timed statements; the time per commit of
those flushes is printed as the deferred part.

Also timed at the start (after the first window) and at the end: pggit.tree('HEAD'),
pggit.log('HEAD', 20), and at the end pggit.tree() of commit #100 (reading a tree must not
replay the whole history).
"""

from __future__ import annotations

import argparse
import statistics
import time

from _build import fmt_runs, log, timed
from _common import scratch_db, server_dsn
from p1_capture import MIXED_SETUP, mixed_cycle

import psycopg
from pggit import Client

TABLE = "CREATE TABLE bench_t (id bigint PRIMARY KEY, c integer, note text)"
MIXED = False  # --workload mixed
CYCLE = 20  # statements per mixed cycle


def statement(n: int) -> str:
    if MIXED:
        return mixed_cycle((n - 1) // CYCLE)[(n - 1) % CYCLE]
    if n % 2 == 0:
        return f"COMMENT ON TABLE bench_t IS 'commit {n}'"
    return f"ALTER TABLE bench_t ALTER COLUMN c SET DEFAULT {n}"


MIXED_TEARDOWN = ["DROP FUNCTION m_total(bigint)", "DROP VIEW m_open_orders", "DROP TABLE m_orders", "DROP TABLE m_customer"]


def reset_mixed(*conns: psycopg.Connection) -> None:
    """Make the mixed workload's tables anew (at a cycle's end, when only they exist): each cycle
    adds and drops a column, and PostgreSQL keeps dropped columns, so without this the table would
    grow (and reach its 1,600-column limit) with the history. Both databases start each window
    from the same fresh tables; the engine records the drops and creates as commits like any."""
    for conn in conns:
        for stmt in MIXED_TEARDOWN + MIXED_SETUP:
            conn.execute(stmt)


def windows(commits: int, width: int) -> list[tuple[int, int, int]]:
    """(point, first, last) commit numbers of each measured window (1-based, inclusive)."""
    points = sorted({p for p in (100, commits // 5, commits // 2, commits) if p >= 1})
    out = []
    for p in points:
        lo = max(1, p - width // 2 + 1)
        hi = lo + width - 1
        if hi > commits:
            hi = commits
            lo = max(1, hi - width + 1)
        if MIXED:  # whole cycles: the baseline runs only the windows
            lo -= (lo - 1) % CYCLE
            hi = min(commits, lo + width - 1)
            hi -= hi % CYCLE
        out.append((p, lo, hi))
    # merge overlapping windows (small --commits)
    merged: list[tuple[int, int, int]] = []
    for w in out:
        if merged and w[1] <= merged[-1][2]:
            continue
        merged.append(w)
    return merged


def run_each(conn: psycopg.Connection, numbers: range) -> list[float]:
    times = []
    for n in numbers:
        sql = statement(n)
        t0 = time.perf_counter()
        conn.execute(sql)
        times.append(time.perf_counter() - t0)
    return times


FLUSH_TIMES: list[tuple[int, float]] = []  # (commits recorded, seconds): the deferred part of capture


def flush(conn: psycopg.Connection) -> None:
    """Record what capture left for the next reader (statements' commits, queued creates), timed."""
    t0 = time.perf_counter()
    n = conn.execute("SELECT pggit.flush()").fetchone()[0]
    FLUSH_TIMES.append((n, time.perf_counter() - t0))


def read_timings(conn: psycopg.Connection, runs: int, old_commit: str | None = None) -> dict[str, list[float]]:
    out = {
        "tree('HEAD')": timed(lambda: conn.execute("SELECT count(*) FROM pggit.tree('HEAD')").fetchone(), runs),
        "log('HEAD', 20)": timed(lambda: conn.execute("SELECT count(*) FROM pggit.log('HEAD', 20)").fetchone(), runs),
    }
    if old_commit:
        out["tree(commit #100)"] = timed(
            lambda: conn.execute("SELECT count(*) FROM pggit.tree(%s)", (old_commit,)).fetchone(), runs)
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=50000)
    ap.add_argument("--window", type=int, default=200, help="commits measured around each point")
    ap.add_argument("--chunk", type=int, default=20, help="interleaving chunk (engine, baseline)")
    ap.add_argument("--read-runs", type=int, default=5)
    ap.add_argument("--workload", choices=["comments", "mixed"], default="comments")
    args = ap.parse_args()
    global MIXED
    MIXED = args.workload == "mixed"
    if MIXED:
        args.chunk = CYCLE
    started = time.perf_counter()
    plan = windows(args.commits, args.window)
    dsn = server_dsn()

    results = []  # (point, lo, hi, engine times, baseline times)
    with scratch_db(dsn, "pggit_p5_plain") as plain_dsn, scratch_db(dsn, "pggit_p5_engine") as engine_dsn:
        Client(engine_dsn).install()
        with psycopg.connect(plain_dsn, autocommit=True) as plain, psycopg.connect(engine_dsn, autocommit=True) as engine:
            server_version = engine.execute("SHOW server_version").fetchone()[0]
            for stmt in (MIXED_SETUP if MIXED else [TABLE]):
                plain.execute(stmt)
                engine.execute(stmt)
            engine.execute("SELECT pggit.flush()")  # the CREATE TABLE was queued: record it now
            # commit #n is the n-th statement after CREATE TABLE: the n-th commit above base_seq in seq
            # order (keys grow with each transaction, not by one)
            base_seq = engine.execute("SELECT max(seq) FROM pggit.commits").fetchone()[0]
            n = 1
            reads_start = None
            commit_100 = None
            last_log = time.perf_counter()
            for point, lo, hi in plan:
                # build history up to the window
                while n < lo:
                    if MIXED and n > 1 and (n - 1) % 20000 == 0:
                        reset_mixed(engine)
                    upto = min(lo, n + 1000)
                    run_each(engine, range(n, upto))
                    flush(engine)  # a reader every 1,000 statements (outside the timed windows)
                    n = upto
                    if time.perf_counter() - last_log > 10:
                        log(f"commit {n - 1:,} of {args.commits:,} ({time.perf_counter() - started:.0f} s)")
                        last_log = time.perf_counter()
                if MIXED and n > 1:
                    reset_mixed(engine, plain)
                    flush(engine)
                # the window, interleaved with the baseline in chunks
                eng, base = [], []
                for k, c0 in enumerate(range(lo, hi + 1, args.chunk)):
                    chunk = range(c0, min(hi + 1, c0 + args.chunk))
                    if k % 2 == 0:
                        eng += run_each(engine, chunk)
                        base += run_each(plain, chunk)
                    else:
                        base += run_each(plain, chunk)
                        eng += run_each(engine, chunk)
                n = hi + 1
                flush(engine)
                results.append((point, lo, hi, eng, base))
                log(f"window around #{point:,} (commits {lo:,}..{hi:,}): engine {statistics.mean(eng) * 1000:.3f} ms, "
                    f"baseline {statistics.mean(base) * 1000:.3f} ms per commit")
                if commit_100 is None and lo <= 100 <= hi:
                    commit_100 = engine.execute(
                        "SELECT commit_id FROM pggit.commits WHERE seq > %s ORDER BY seq OFFSET 99 LIMIT 1",
                        (base_seq,)).fetchone()[0]
                if reads_start is None:
                    history_start = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
                    reads_start = read_timings(engine, args.read_runs)
            while n <= args.commits:
                if MIXED and (n - 1) % 20000 == 0:
                    reset_mixed(engine)
                upto = min(args.commits + 1, n + 1000)
                run_each(engine, range(n, upto))
                flush(engine)
                n = upto
            history_end = engine.execute("SELECT count(*) FROM pggit.commits").fetchone()[0]
            reads_end = read_timings(engine, args.read_runs, commit_100)
            # the engine's own timing of each capture (audit_log.duration_ms: trigger start to commit
            # recorded, no client round trip), and which commits wrote a full snapshot
            internal = {k: (ms, snap) for k, ms, snap in engine.execute(
                """SELECT row_number() OVER (ORDER BY c.seq), a.duration_ms, c.snapshot_id = c.commit_id
                     FROM pggit.audit_log a JOIN pggit.commits c ON c.commit_id = a.args->>'commit'
                    WHERE a.operation = 'capture' AND c.seq > %s""", (base_seq,))}
            stats = engine.execute(
                """SELECT (SELECT count(*) FROM pggit.snapshots), (SELECT count(DISTINCT commit_id) FROM pggit.snapshots),
                          (SELECT count(*) FROM pggit.changes), (SELECT count(*) FROM pggit.blobs),
                          (SELECT count(*) FROM pggit.audit_log),
                          (SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c
                             JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'pggit' AND c.relkind = 'r'),
                          (SELECT count(*) FROM pggit.tree('HEAD'))""").fetchone()

    print(f"P5 cost of a captured commit vs history length, PostgreSQL {server_version}, workload {args.workload}")
    print(f"  {args.commits:,} captured commits (history {history_end:,} commits at the end, "
          f"{stats[6]} objects in the tree); windows of {args.window} commits interleaved with the baseline in chunks of {args.chunk}")
    print(f"  {'around':>9} {'commits':>15} | {'engine mean':>11} {'median':>7} {'p95':>7} {'max':>7} | "
          f"{'baseline':>8} | {'ratio':>6} {'added':>7}  (ms per commit)")
    for point, lo, hi, eng, base in results:
        em, bm = statistics.mean(eng) * 1000, statistics.mean(base) * 1000
        print(f"  #{point:>8,} {lo:>7,}..{hi:<7,} | {em:11.3f} {statistics.median(eng) * 1000:7.3f} "
              f"{pct(eng, 0.95) * 1000:7.3f} {max(eng) * 1000:7.3f} | {bm:8.3f} | {em / bm:5.2f}x {em - bm:7.3f}")
    first, last = results[0], results[-1]
    e0, e1 = statistics.mean(first[3]), statistics.mean(last[3])
    b0, b1 = statistics.mean(first[4]), statistics.mean(last[4])
    print(f"  ratio late/early (#{last[0]:,} / #{first[0]:,}), engine time per commit: {e1 / e0:.3f}x (goal <= 1.3x)")
    flushed = sum(n for n, _ in FLUSH_TIMES)
    if flushed:
        early = [t / n for n, t in FLUSH_TIMES[:3] if n]
        late = [t / n for n, t in FLUSH_TIMES[-3:] if n]
        print(f"  deferred part (pggit.flush() by a reader every 1,000 statements: the statements' commits): "
              f"{sum(t for _, t in FLUSH_TIMES) / flushed * 1000:.3f} ms per commit on average, "
              f"{statistics.mean(early) * 1000:.3f} early, {statistics.mean(late) * 1000:.3f} late")
    print(f"  same, corrected for drift (engine/baseline late over engine/baseline early): {(e1 / b1) / (e0 / b0):.3f}x")
    print(f"  baseline late/early: {b1 / b0:.3f}x; added cost per commit early {(e0 - b0) * 1000:.3f} ms, late {(e1 - b1) * 1000:.3f} ms")
    print("  engine-internal time per capture (audit_log.duration_ms; a snapshot commit copies the full tree):")
    print(f"  {'around':>9} | {'window mean':>11} {'median':>7} {'snapshots':>9} | {'+-1000 mean':>11} | "
          f"{'snapshot commits nearby':>23}  (ms)")
    snaps = sorted(n for n, (_, snap) in internal.items() if snap)
    internal_means = []
    for point, lo, hi, _, _ in results:
        win = [internal[n] for n in range(lo, hi + 1) if n in internal]
        wide = [internal[n][0] for n in range(max(1, point - 1000), min(args.commits, point + 1000) + 1) if n in internal]
        near = sorted(snaps, key=lambda n: abs(n - point))[:5]
        near_ms = [internal[n][0] for n in near]
        wm = statistics.mean(ms for ms, _ in win)
        internal_means.append(wm)
        print(f"  #{point:>8,} | {wm:11.3f} {statistics.median(ms for ms, _ in win):7.3f} {sum(1 for _, sn in win if sn):9d} | "
              f"{statistics.mean(wide):11.3f} | {statistics.mean(near_ms) if near_ms else float('nan'):8.1f} mean of {len(near_ms)}"
              f" (max {max(near_ms) if near_ms else float('nan'):.1f})")
    print(f"  ratio late/early, engine-internal window mean: {internal_means[-1] / internal_means[0]:.3f}x")
    print(f"  reads at the start (history {history_start:,} commits) and at the end (history {history_end:,} commits):")
    for name in reads_end:
        start = f"{fmt_runs(reads_start[name])}" if name in reads_start else "-"
        print(f"    {name:<18} start: {start}")
        print(f"    {'':<18} end:   {fmt_runs(reads_end[name])}")
    print(f"  storage at the end: {stats[1]:,} snapshots ({stats[0]:,} rows), {stats[2]:,} change rows, {stats[3]:,} blobs, "
          f"{stats[4]:,} audit rows, {stats[5]} in pggit's tables")
    print(f"  (run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
