"""P4: merge base and ahead/behind in a 100,000-commit DAG, at any divergence.

Builds one history of --commits commits by inserting commit rows directly (empty trees; the
ancestry index is kept by the engine's trigger on pggit.commits, as for captured commits):
a main line of --shared commits where feature branches (1-40 commits) fork and merge back, then a
long-lived branch forks from main and both sides go on the same way, without syncing, until the
history has --commits commits. Pairs (a commit of main, a commit of the branch) are then picked
about 100, 1,000, 10,000 and 50,000 commits apart (ahead + behind), and pggit.find_merge_base and
pggit.ahead_behind(a, b, 1000) are timed for each, with the results checked against what the
builder knows (the fork point, the commits of each side).

Baseline, in the same run: the previous algorithms (0.3.0: a generation-ordered walk from both
tips for the merge base, a floor-lowering recursive walk for ahead/behind), kept here as pg_temp
functions and run once under a --baseline-timeout statement timeout. Goal: < 20 ms each.

Then what the ancestry index adds to a commit (an ordinary one and merges), and the placement of
merge commits alone, early and late in the history (feature merges into main, syncs of main into
a long-lived branch: the first since the fork, and one ~200 commits after the last sync), against
0.5.0's placement (both parents' full reaches compared), kept as a pg_temp function and run in
turns with the current one.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

from _build import fmt_runs, log, timed
from _common import scratch_db, server_dsn

import psycopg
from pggit import Client

GOAL_MS = 20.0
DISTANCES = (100, 1000, 10000, 50000)

# 0.3.0's pggit._merge_base, verbatim but for its name and search_path
OLD_MERGE_BASE = r"""
CREATE FUNCTION pg_temp.old_merge_base(p_a text, p_b text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_front text[] := ARRAY[p_a, p_b];
    v_ra    text[] := ARRAY[p_a];      -- reached from a
    v_rb    text[] := ARRAY[p_b];      -- reached from b
    v_c     record;
    v_p     text;
BEGIN
    IF p_a IS NULL OR p_b IS NULL THEN RETURN NULL; END IF;
    IF p_a = p_b THEN RETURN p_a; END IF;
    LOOP
        SELECT c.commit_id, c.parent_ids INTO v_c
          FROM pggit.commits c WHERE c.commit_id = ANY (v_front)
         ORDER BY c.generation DESC, c.committed_at DESC, c.commit_id
         LIMIT 1;
        IF NOT FOUND THEN RETURN NULL; END IF;
        IF v_c.commit_id = ANY (v_ra) AND v_c.commit_id = ANY (v_rb) THEN
            RETURN v_c.commit_id;
        END IF;
        v_front := array_remove(v_front, v_c.commit_id);
        FOREACH v_p IN ARRAY v_c.parent_ids LOOP
            IF NOT v_p = ANY (v_front) THEN v_front := v_front || v_p; END IF;
            IF v_c.commit_id = ANY (v_ra) AND NOT v_p = ANY (v_ra) THEN v_ra := v_ra || v_p; END IF;
            IF v_c.commit_id = ANY (v_rb) AND NOT v_p = ANY (v_rb) THEN v_rb := v_rb || v_p; END IF;
        END LOOP;
    END LOOP;
END $$;
"""

# 0.3.0's pggit.ahead_behind on commit ids (no flush, no ref resolution)
OLD_AHEAD_BEHIND = r"""
CREATE FUNCTION pg_temp.old_ahead_behind(p_a text, p_b text, p_limit integer DEFAULT 1000)
RETURNS TABLE (ahead integer, behind integer, ahead_more boolean, behind_more boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_a      text;
    v_b      text;
    v_ga     integer;
    v_gb     integer;
    v_lowest integer;
    v_floor  integer;
    v_ahead  bigint;
    v_behind bigint;
    v_abelow integer;
    v_bbelow integer;
BEGIN
    v_a := p_a;
    v_b := p_b;
    IF v_a = v_b THEN
        RETURN QUERY SELECT 0, 0, false, false;
        RETURN;
    END IF;
    SELECT c.generation INTO v_ga FROM pggit.commits c WHERE c.commit_id = v_a;
    SELECT c.generation INTO v_gb FROM pggit.commits c WHERE c.commit_id = v_b;
    v_lowest := greatest(0, greatest(v_ga, v_gb) - 5000);
    v_floor := greatest(v_lowest, least(v_ga, v_gb));
    LOOP
        WITH RECURSIVE walk(commit_id, side) AS (
            SELECT v.commit_id, v.side FROM (VALUES (v_a, 1), (v_b, 2)) v(commit_id, side)
            UNION
            SELECT p.commit_id, w.side
              FROM walk w
              JOIN pggit.commits c ON c.commit_id = w.commit_id
              JOIN pggit.commits p ON p.commit_id = ANY (c.parent_ids)
             WHERE p.generation >= v_floor
        ), sides AS (
            SELECT w.commit_id, bit_or(w.side) AS sides FROM walk w GROUP BY w.commit_id
        ), boundary AS (
            SELECT s.sides, min(p.generation) AS generation
              FROM sides s
              JOIN pggit.commits c ON c.commit_id = s.commit_id
              JOIN pggit.commits p ON p.commit_id = ANY (c.parent_ids)
             WHERE s.sides <> 3 AND p.generation < v_floor
             GROUP BY s.sides
        )
        SELECT (SELECT count(*) FROM sides WHERE sides.sides = 1), (SELECT count(*) FROM sides WHERE sides.sides = 2),
               (SELECT b.generation FROM boundary b WHERE b.sides = 1), (SELECT b.generation FROM boundary b WHERE b.sides = 2)
          INTO v_ahead, v_behind, v_abelow, v_bbelow;
        IF (v_abelow IS NOT NULL OR v_bbelow IS NOT NULL) AND v_floor > v_lowest
           AND v_ahead < p_limit AND v_behind < p_limit THEN
            v_floor := greatest(v_lowest, least(coalesce(v_abelow, v_bbelow), coalesce(v_bbelow, v_abelow)));
            CONTINUE;
        END IF;
        RETURN QUERY SELECT least(v_ahead, p_limit)::integer, least(v_behind, p_limit)::integer,
                            v_ahead >= p_limit OR v_abelow IS NOT NULL, v_behind >= p_limit OR v_bbelow IS NOT NULL;
        RETURN;
    END LOOP;
END $$;
"""


# 0.5.0's pggit._place_commit (a merge compares its parents' full reaches), verbatim but for its name
OLD_PLACE_COMMIT = r"""
CREATE FUNCTION pg_temp.old_place_commit(p_id text, p_parents text[], p_generation integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pchain bigint;
    v_ppos   integer;
    v_chain  bigint;
    v_pos    integer;
BEGIN
    SELECT x.chain_id, x.chain_pos INTO v_pchain, v_ppos
      FROM pggit.commit_chains x WHERE x.commit_id = p_parents[1];
    IF v_pchain IS NOT NULL THEN
        UPDATE pggit.chains ch SET length = ch.length + 1
         WHERE ch.chain_id = v_pchain AND ch.length = v_ppos
        RETURNING ch.chain_id, ch.length INTO v_chain, v_pos;
    END IF;
    IF v_chain IS NULL THEN
        INSERT INTO pggit.chains (length, fork_chain, fork_pos, fork_generation)
        VALUES (1, v_pchain, v_ppos, (SELECT c.generation FROM pggit.commits c WHERE c.commit_id = p_parents[1]))
        RETURNING chains.chain_id, 1 INTO v_chain, v_pos;
    END IF;
    INSERT INTO pggit.commit_chains (commit_id, chain_id, chain_pos) VALUES (p_id, v_chain, v_pos);
    IF cardinality(p_parents) > 1 THEN
        INSERT INTO pggit.chain_reach (chain_id, chain_pos, target_chain, target_pos, generation, target_generation)
        SELECT v_chain, v_pos, o.chain_id, o.pos, p_generation, o.generation
          FROM (SELECT r.chain_id, max(r.pos) AS pos, max(r.generation) AS generation
                  FROM unnest(p_parents[2:]) t(tip), pggit._reach(t.tip) r
                 GROUP BY r.chain_id) o
          LEFT JOIN pggit._reach(p_parents[1]) f ON f.chain_id = o.chain_id
         WHERE f.pos IS NULL OR o.pos > f.pos;
    END IF;
END $$;
"""


class Builder:
    """Commit rows of a synthetic DAG."""

    def __init__(self, server_version: int) -> None:
        self.rows: list[tuple] = []
        self.gen: dict[str, int] = {}
        self.sv = server_version
        self.t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.rng = random.Random(11)

    def commit(self, parents: list[str]) -> str:
        n = len(self.rows)
        cid = hashlib.sha256(f"p4 {n}".encode()).hexdigest()
        gen = 1 + max((self.gen[p] for p in parents), default=0)
        self.gen[cid] = gen
        at = self.t0 + timedelta(seconds=n)
        self.rows.append((cid, parents, "bench", f"commit {n}", at, gen, self.sv, cid, 0, 0, 0))
        return cid

    def grow(self, tip: str, until: int, line: list | None = None, count: int = 0) -> tuple[str, int]:
        """Grow a side from tip until the history has `until` commits: direct commits and merged
        feature branches. Appends (first-parent commit, commits of the side so far) to `line`."""
        while len(self.rows) < until:
            if self.rng.random() < 0.5:
                tip = self.commit([tip])
                count += 1
            else:
                f = tip
                k = self.rng.randint(1, 40)
                for _ in range(k):
                    f = self.commit([f])
                if self.rng.random() < 0.3:  # the side moved on while the feature was open
                    tip = self.commit([tip])
                    count += 1
                tip = self.commit([tip, f])
                count += k + 1
            if line is not None:
                line.append((tip, count))
        return tip, count


def pick(line: list, want: int) -> tuple[str, int]:
    """The commit of a first-parent line whose side count is closest to `want`."""
    return min(line, key=lambda e: abs(e[1] - want))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=100000)
    ap.add_argument("--shared", type=int, default=40000, help="commits before the long-lived branch forks")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--baseline-timeout", type=int, default=60, help="seconds per baseline call")
    args = ap.parse_args()
    dsn = server_dsn()
    with scratch_db(dsn, "pggit_p4") as db:
        Client(db).install()
        with psycopg.connect(db, autocommit=True) as conn:
            sv = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
            b = Builder(sv)
            shared_line: list = []
            fork, _ = b.grow(b.commit([]), args.shared, shared_line)
            main_line: list = []
            branch_line: list = []
            m, mc, x, xc = fork, 0, fork, 0
            while len(b.rows) < args.commits:  # both sides grow in turns
                m, mc = b.grow(m, min(args.commits, len(b.rows) + 500), main_line, mc)
                x, xc = b.grow(x, min(args.commits, len(b.rows) + 500), branch_line, xc)
            log(f"inserting {len(b.rows)} commits")
            t0 = time.perf_counter()
            with conn.cursor().copy(
                "COPY pggit.commits (commit_id, parent_ids, author, message, committed_at, generation,"
                " server_version, snapshot_id, chain_changes, chain_commits, tree_size) FROM STDIN"
            ) as cp:
                for r in b.rows:
                    cp.write_row(r)
            build_s = time.perf_counter() - t0
            conn.execute("ANALYZE")
            chains, reach_rows = conn.execute(
                "SELECT (SELECT count(*) FROM pggit.chains), (SELECT count(*) FROM pggit.chain_reach)"
            ).fetchone()
            conn.execute(OLD_MERGE_BASE)
            conn.execute(OLD_AHEAD_BEHIND)
            conn.execute(OLD_PLACE_COMMIT)
            print(
                f"P4 merge base and ahead/behind(limit 1000): {len(b.rows)} commits ({args.shared} before the fork),"
                f" inserted with the ancestry index in {build_s:.1f} s ({build_s / len(b.rows) * 1000:.2f} ms/commit);"
                f" {chains} chains, {reach_rows} chain_reach rows; goal < {GOAL_MS:.0f} ms (median of {args.runs})"
            )
            for d in DISTANCES:
                a, ac = pick(main_line, d // 2)
                bb, bc = pick(branch_line, d - ac)
                got_base = conn.execute("SELECT pggit.find_merge_base(%s, %s)", (a, bb)).fetchone()[0]
                got_ab = conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s, 1000)", (a, bb)).fetchone()
                want_ab = (min(ac, 1000), min(bc, 1000), ac >= 1000, bc >= 1000)
                assert got_base == fork, (d, got_base, fork)
                assert tuple(got_ab) == want_ab, (d, got_ab, want_ab)
                t_mb = timed(lambda: conn.execute("SELECT pggit.find_merge_base(%s, %s)", (a, bb)).fetchone(), args.runs)
                t_ab = timed(
                    lambda: conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s, 1000)", (a, bb)).fetchone(), args.runs
                )
                old = []
                for q in ("SELECT pg_temp.old_merge_base(%s, %s)", "SELECT * FROM pg_temp.old_ahead_behind(%s, %s, 1000)"):
                    log(f"baseline {q.split('(')[0].split('.')[-1]} at {ac + bc} apart")
                    conn.execute(f"SET statement_timeout = '{args.baseline_timeout}s'")
                    t = time.perf_counter()
                    try:
                        conn.execute(q, (a, bb)).fetchone()
                        old.append(time.perf_counter() - t)
                    except psycopg.errors.QueryCanceled:
                        old.append(None)
                    conn.execute("RESET statement_timeout")
                print(f"  {ac + bc:6d} apart ({ac} ahead, {bc} behind):")
                for label, times, o in (("merge base  ", t_mb, old[0]), ("ahead/behind", t_ab, old[1])):
                    med = statistics.median(times) * 1000
                    ok = "meets" if med < GOAL_MS else "MISSES"
                    if o is None:
                        vs = f"0.3.0 > {args.baseline_timeout} s (timed out): > {args.baseline_timeout * 1000 / med:,.0f}x"
                    else:
                        vs = f"0.3.0 {o * 1000:9.1f} ms: {o * 1000 / med:,.1f}x"
                    print(f"    {label} {fmt_runs(times)}  {ok} the goal;  {vs}")
            placement_costs(conn, b, m, x, shared_line, args.runs)


def placement_costs(conn, b: Builder, m: str, x: str, shared_line: list, runs: int) -> None:
    """What the ancestry index adds to one commit, early and late in the history.

    First, an INSERT of one commit row in a rolled-back transaction, with trigger commits_index
    and without it (the difference is the index's cost). Then merge commits alone: the commit row
    is inserted without the trigger, and its placement (pggit._place_commit) is timed against
    0.5.0's placement (pg_temp.old_place_commit, reading both parents' full reaches), run in
    turns, each in a rolled-back transaction. Merges: a 10-commit feature into main (early: into
    the main-line commit near #1,000 of the history; late: into main's tip), and syncs of main
    into a long-lived branch (early: a branch forked near #1,000 syncing main near #2,000; late:
    the long-lived branch syncing main's tip for the first time since the fork, and again after
    main moved on by about 200 commits since a sync)."""
    cols = ("commit_id, parent_ids, author, message, committed_at, generation, server_version, snapshot_id,"
            " chain_changes, chain_commits, tree_size")

    def write(start: int) -> None:
        with conn.cursor().copy(f"COPY pggit.commits ({cols}) FROM STDIN") as cp:
            for r in b.rows[start:]:
                cp.write_row(r)

    def feature(base: str) -> str:
        start = len(b.rows)
        f = base
        for _ in range(10):
            f = b.commit([f])
        write(start)
        return f

    def cost(parents: list[str], index: bool) -> list[float]:
        out = []
        for _ in range(runs):
            b.commit(parents)
            row = b.rows.pop()  # not kept: the insert is rolled back
            with conn.transaction(force_rollback=True):
                # both cases alter the table, so that both insert with a fresh plan
                conn.execute(f"ALTER TABLE pggit.commits {'ENABLE' if index else 'DISABLE'} TRIGGER commits_index")
                t0 = time.perf_counter()
                conn.execute(f"INSERT INTO pggit.commits ({cols}) VALUES ({', '.join(['%s'] * 11)})", row)
                out.append(time.perf_counter() - t0)
        return out

    def placement(parents: list[str]) -> tuple[list[float], list[float]]:
        new, old = [], []
        for k in range(2 * runs):
            b.commit(parents)
            row = b.rows.pop()
            fn = "pggit._place_commit" if k % 2 == 0 else "pg_temp.old_place_commit"
            with conn.transaction(force_rollback=True):
                conn.execute("ALTER TABLE pggit.commits DISABLE TRIGGER commits_index")
                conn.execute(f"INSERT INTO pggit.commits ({cols}) VALUES ({', '.join(['%s'] * 11)})", row)
                t0 = time.perf_counter()
                conn.execute(f"SELECT {fn}(%s, %s, %s)", (row[0], row[1], row[5])).fetchone()
                (new if k % 2 == 0 else old).append(time.perf_counter() - t0)
        return new, old

    early_main = pick(shared_line, 1000)[0]  # main-line commits near #1,000 and #2,000
    early_main2 = pick(shared_line, 2000)[0]
    f_tip, f_old, x_early = feature(m), feature(early_main), feature(early_main)
    # a sync of main's tip into the long-lived branch, kept; then main moves on by ~200 commits
    start = len(b.rows)
    synced = b.commit([x, m])
    m2, _ = b.grow(m, len(b.rows) + 200)
    write(start)
    conn.execute("ANALYZE pggit.commits, pggit.commit_chains, pggit.chains, pggit.chain_reach")
    cases = (
        ("ordinary commit on main's tip", [m]),
        ("merge of a 10-commit feature into main's tip", [m, f_tip]),
        ("merge of a 10-commit feature into a commit near #1,000", [early_main, f_old]),
        ("merge of main's tip into the long-lived branch's tip (a sync)", [x, m]),
    )
    print(f"  ancestry index cost per commit, {len(b.rows):,}-commit history (INSERT of one commit row, "
          f"median of {runs}; with the trigger minus without it):")
    for label, parents in cases:
        with_i, without = cost(parents, True), cost(parents, False)
        added = (statistics.median(with_i) - statistics.median(without)) * 1000
        line = f"    {label:<72} {statistics.median(with_i) * 1000:7.2f} ms with, {statistics.median(without) * 1000:6.2f} without: index {added:6.2f} ms"
        print(line)
    merges = (
        ("feature merge into main, early (10 commits into main near #1,000)", [early_main, f_old]),
        ("feature merge into main, late (10 commits into main's tip)", [m, f_tip]),
        ("sync merge, early (main near #2,000 into a branch forked near #1,000)", [x_early, early_main2]),
        ("sync merge, late, first since the fork (main's tip into the long-lived branch)", [x, m]),
        ("sync merge, late, ~200 main commits after the last sync", [synced, m2]),
    )
    print(f"  merge commit placement (pggit._place_commit alone, median of {runs}; 0.5.0's in turns, same run):")
    for label, parents in merges:
        new, old = placement(parents)
        mn, mo = statistics.median(new) * 1000, statistics.median(old) * 1000
        print(f"    {label:<80} {mn:7.2f} ms; 0.5.0 {mo:7.2f} ms: {mo / mn:5.1f}x")


if __name__ == "__main__":
    main()
