"""Merge base, ahead/behind and ancestry on deep and wide DAGs (the ancestry index, issue 11),
checked against a reference computed in Python from the commit rows."""

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

COLUMNS = ("commit_id, parent_ids, author, message, committed_at, generation, server_version, snapshot_id,"
           " chain_changes, chain_commits, tree_size")


def insert_dag(conn, parents_of: list[list[int]], same_time: bool = False) -> list[str]:
    """Commit rows for a DAG given as parent indexes (parents before children); returns the ids.
    With same_time every commit has the same date, so ties fall to the commit id."""
    sv = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    ids: list[str] = []
    gens: list[int] = []
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with conn.cursor().copy(f"COPY pggit.commits ({COLUMNS}) FROM STDIN") as cp:
        for n, ps in enumerate(parents_of):
            cid = hashlib.sha256(f"dag {n}".encode()).hexdigest()
            gen = 1 + max((gens[p] for p in ps), default=0)
            ids.append(cid)
            gens.append(gen)
            at = t0 if same_time else t0 + timedelta(seconds=n)
            cp.write_row((cid, [ids[p] for p in ps], "t", f"c{n}", at, gen, sv, cid, 0, 0, 0))
    return ids


def reference(conn, ids: list[str]):
    """Ancestor sets, and the merge base / ahead-behind as the definitions say."""
    rows = {r[0]: r for r in conn.execute("SELECT commit_id, parent_ids, generation, committed_at FROM pggit.commits")}
    anc: dict[str, frozenset] = {}
    for cid in ids:  # parents first
        s = {cid}
        for p in rows[cid][1]:
            s |= anc[p]
        anc[cid] = frozenset(s)

    def merge_base(a, b):
        common = anc[a] & anc[b]
        if not common:
            return None
        # highest generation, then committed last, then the lowest id
        return min(common, key=lambda c: (-rows[c][2], -rows[c][3].timestamp(), c))

    def ahead_behind(a, b, limit):
        ah, be = len(anc[a] - anc[b]), len(anc[b] - anc[a])
        return (min(ah, limit), min(be, limit), ah >= limit, be >= limit)

    return anc, merge_base, ahead_behind


def random_dag(rng: random.Random, n: int, tips: int, merge_rate: float) -> list[list[int]]:
    """Several branches growing in turns from a root, forking from each other and merging each
    other (criss-cross included), sometimes a second root."""
    parents_of: list[list[int]] = [[]]
    heads = [0]
    for n_ in range(1, n):
        r = rng.random()
        if r < 0.02:
            parents_of.append([])  # an unrelated root
            heads.append(n_)
            continue
        i = rng.randrange(len(heads))
        if r < 0.02 + merge_rate and len(heads) > 1:
            j = rng.randrange(len(heads))
            if j != i and heads[j] != heads[i]:
                parents_of.append([heads[i], heads[j]])
                heads[i] = n_
                continue
        if len(heads) < tips and rng.random() < 0.1:
            heads.append(n_)  # a new branch forks from heads[i]
            parents_of.append([heads[i]])
            continue
        parents_of.append([heads[i]])
        heads[i] = n_
    return parents_of


@pytest.mark.parametrize("seed,n,tips,merge_rate,same_time", [
    (1, 400, 3, 0.1, False),
    (2, 400, 8, 0.3, False),
    (3, 300, 6, 0.5, True),
    (4, 600, 20, 0.2, False),
])
def test_merge_base_and_ahead_behind_match_a_walk_of_the_commit_rows(repo, seed, n, tips, merge_rate, same_time):
    server, dbname, _client = repo
    rng = random.Random(seed)
    with psycopg.connect(server.dsn_for(dbname), autocommit=True) as conn:
        ids = insert_dag(conn, random_dag(rng, n, tips, merge_rate), same_time)
        anc, merge_base, ahead_behind = reference(conn, ids)
        pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(150)]
        pairs += [(ids[-1], ids[k]) for k in range(0, n, 37)]
        for a, b in pairs:
            assert conn.execute("SELECT pggit.find_merge_base(%s, %s)", (a, b)).fetchone()[0] == merge_base(a, b)
            limit = rng.choice((3, 50, 1000))
            got = conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s, %s)", (a, b, limit)).fetchone()
            assert tuple(got) == ahead_behind(a, b, limit)
            assert conn.execute("SELECT pggit._is_ancestor(%s, %s)", (a, b)).fetchone()[0] == (a in anc[b])


def test_criss_cross_merge_base_is_the_candidate_committed_last(repo):
    server, dbname, _client = repo
    with psycopg.connect(server.dsn_for(dbname), autocommit=True) as conn:
        # 0 root; 1 and 2 siblings; 3 = merge(1, 2), 4 = merge(2, 1): bases of 3 and 4 are 1 and 2
        ids = insert_dag(conn, [[], [0], [0], [1, 2], [2, 1], [3], [4]])
        assert conn.execute("SELECT pggit.find_merge_base(%s, %s)", (ids[5], ids[6])).fetchone()[0] == ids[2]
        assert conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s)", (ids[5], ids[6])).fetchone() == (2, 2, False, False)


def test_long_divergence_reads_the_index_not_the_commits_since_the_fork(repo):
    server, dbname, _client = repo
    # 2,000 shared commits, then two sides of 3,000 commits each with merged feature branches
    rng = random.Random(7)
    parents_of: list[list[int]] = [[]] + [[k] for k in range(1999)]
    tips = [1999, 1999]
    while len(parents_of) < 8000:
        side = len(parents_of) // 250 % 2
        if rng.random() < 0.5:
            parents_of.append([tips[side]])
        else:
            f = tips[side]
            for _ in range(rng.randint(1, 20)):
                parents_of.append([f])
                f = len(parents_of) - 1
            parents_of.append([tips[side], f])
        tips[side] = len(parents_of) - 1
    with psycopg.connect(server.dsn_for(dbname), autocommit=True) as conn:
        ids = insert_dag(conn, parents_of)
        anc, merge_base, ahead_behind = reference(conn, ids)
        a, b = ids[tips[0]], ids[tips[1]]
        assert merge_base(a, b) == ids[1999]
        t0 = time.perf_counter()
        assert conn.execute("SELECT pggit.find_merge_base(%s, %s)", (a, b)).fetchone()[0] == ids[1999]
        got = conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s, 10000)", (a, b)).fetchone()
        elapsed = time.perf_counter() - t0
        assert tuple(got) == ahead_behind(a, b, 10000) and got[0] > 2500 and got[1] > 2500
        assert elapsed < 2.0  # generous: the walk it replaces took seconds at this divergence


def busy_dag(rng: random.Random, n: int, branches: int, base: int = 1) -> list[list[int]]:
    """After `base` commits in a line, long-lived branches that merge each other in both directions (criss-cross included: two
    branches merging each other's heads one after the other), feature branches forked from old
    commits and merged much later (a merge after the fork bringing in a branch whose commits are
    older than the fork), and branches that stay idle for long stretches."""
    parents_of: list[list[int]] = [[]] + [[k] for k in range(base - 1)]
    heads = [base - 1]
    features: list[int] = []  # heads of open feature branches

    def add(ps: list[int]) -> int:
        parents_of.append(ps)
        return len(parents_of) - 1

    while len(parents_of) < n:
        r = rng.random()
        active = rng.randrange(min(len(heads), 1 + rng.randrange(len(heads))) if rng.random() < 0.7 else len(heads))
        if len(heads) < branches and r < 0.05:
            heads.append(add([rng.choice(heads)]))
        elif r < 0.12 and len(heads) > 1:  # criss-cross: i merges j, then j merges i's old head
            i, j = rng.sample(range(len(heads)), 2)
            hi, hj = heads[i], heads[j]
            if hi != hj:
                heads[i] = add([hi, hj])
                heads[j] = add([hj, hi])
        elif r < 0.3 and len(heads) > 1:  # a merge of one branch into another, either way
            i, j = rng.sample(range(len(heads)), 2)
            if heads[i] != heads[j]:
                heads[i] = add([heads[i], heads[j]])
        elif r < 0.38:  # a feature forked from an old commit, kept open
            features.append(add([rng.randrange(len(parents_of))]))
        elif r < 0.5 and features:  # a feature grows or is merged (into a head, or a head into it)
            k = rng.randrange(len(features))
            if rng.random() < 0.5:
                features[k] = add([features[k]])
            else:
                i = rng.randrange(len(heads))
                if rng.random() < 0.7:
                    heads[i] = add([heads[i], features.pop(k)])
                else:
                    features[k] = add([features[k], heads[i]])
        else:
            heads[active] = add([heads[active]])
    return parents_of[:n]


def assert_index_matches_walk(conn, ids: list[str]) -> None:
    """Every commit's reach (pggit._reach) is its ancestor set, and the chain_reach rows are exactly
    what comparing each merge's parents' full reaches gives (nothing missing, nothing extra)."""
    anc, _mb, _ab = reference(conn, ids)
    at = {(c, p): cid for cid, c, p in conn.execute("SELECT commit_id, chain_id, chain_pos FROM pggit.commit_chains")}
    for cid in ids:
        got = set()
        for chain, pos, _gen in conn.execute("SELECT * FROM pggit._reach(%s)", (cid,)):
            got |= {at[(chain, k)] for k in range(1, pos + 1)}
        assert got == anc[cid], cid
    extra_or_missing = conn.execute("""
        WITH want AS (
            SELECT x.chain_id, x.chain_pos, o.chain_id AS target_chain, o.pos AS target_pos,
                   c.generation, o.generation AS target_generation
              FROM pggit.commits c JOIN pggit.commit_chains x ON x.commit_id = c.commit_id,
                   LATERAL (SELECT r.chain_id, max(r.pos) AS pos, max(r.generation) AS generation
                              FROM unnest(c.parent_ids[2:]) t(tip), pggit._reach(t.tip) r GROUP BY r.chain_id) o
              LEFT JOIN LATERAL pggit._reach(c.parent_ids[1]) f ON f.chain_id = o.chain_id
             WHERE cardinality(c.parent_ids) > 1 AND (f.pos IS NULL OR o.pos > f.pos))
        SELECT count(*) FROM ((SELECT * FROM want EXCEPT SELECT * FROM pggit.chain_reach)
                              UNION ALL (SELECT * FROM pggit.chain_reach EXCEPT SELECT * FROM want)) d
    """).fetchone()[0]
    assert extra_or_missing == 0


@pytest.mark.parametrize("seed,n,branches,base", [
    (21, 500, 6, 1), (22, 700, 12, 1), (23, 900, 20, 1), (24, 1500, 8, 1),
    (25, 3000, 10, 1500),  # generations high enough for floors above 0 at every window
])
def test_busy_dags_keep_the_index_exact_and_reads_match_a_walk(repo, seed, n, branches, base):
    """Merges in both directions, criss-cross merges and old branches merged late: each merge's
    chain_reach rows (read above a generation floor) are those of its parents' full reaches, and
    merge base, ahead/behind and _is_ancestor agree with a walk of the commit rows, for tips near
    each other (the ahead/behind short path) and far apart."""
    server, dbname, _client = repo
    rng = random.Random(seed)
    with psycopg.connect(server.dsn_for(dbname), autocommit=True) as conn:
        parents_of = busy_dag(rng, n, branches, base)
        assert sum(len(p) > 1 for p in parents_of) > (n - base) // 10  # the DAG has merges to check
        ids = insert_dag(conn, parents_of)
        assert_index_matches_walk(conn, ids)
        anc, merge_base, ahead_behind = reference(conn, ids)
        pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(120)]
        near = [rng.randrange(n) for _ in range(120)]  # commits close in the insertion order
        pairs += [(ids[k], ids[min(n - 1, k + rng.randrange(1, 60))]) for k in near]
        for a, b in pairs:
            assert conn.execute("SELECT pggit.find_merge_base(%s, %s)", (a, b)).fetchone()[0] == merge_base(a, b)
            limit = rng.choice((5, 1000, 100000))
            got = conn.execute("SELECT * FROM pggit.ahead_behind(%s, %s, %s)", (a, b, limit)).fetchone()
            assert tuple(got) == ahead_behind(a, b, limit), (a, b)
            assert conn.execute("SELECT pggit._is_ancestor(%s, %s)", (a, b)).fetchone()[0] == (a in anc[b])
            assert conn.execute("SELECT pggit._is_ancestor(%s, %s)", (b, a)).fetchone()[0] == (b in anc[a])
