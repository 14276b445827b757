"""P3: three-way merge of two branches over a base of 10,000 objects, 1,000 changed on each side,
100 of them on both sides (conflicts).

Base (captured on main, grouped commits of --group tables): --tables tables (primary key inside
the table), one index per table, --views views (each over one table), --functions functions
(SQL and PL/pgSQL), spread over --schemas schemas: 4 x 2,500 = 10,000 objects by default.

Branches src and tgt from the base, each built on the live database (switch_branch, then one
grouped commit): src changes 1,000 objects (300 tables get a column, 300 views and 300 function
bodies change, 100 indexes change definition); tgt changes 1,000 likewise, 100 of them the same
objects as src (25 of each kind) changed differently.

Timed (min and median of --runs runs; each run merges into a fresh branch made at tgt's head):
  * SELECT count(*) FROM pggit.detect_merge_conflicts('src', target)
  * into a branch that is not HEAD, strategy source_wins: merge_branches(..., complete => false)
    (prepare), complete_merge (the merge commit), and merge_branches in one call
  * into HEAD (tgt checked out), strategy source_wins, one call: prepare, merge commit and the
    live migration of the merged objects (--head-runs runs; between runs tgt is reset, untimed)
  * the shadow replay of the merged state: the statements of pggit.migration(NULL, 'merge:<id>')
    replayed by the client's shadow database (pggit.shadow: transactions of 500 statements, each
    sent as one script), and computing them; for comparison one statement per round trip, and
    whether the whole replay fits one transaction (lock slots: max_locks_per_transaction)
  * merge verification by the client (Client.merge's Shadow.verify, then complete_merge): the
    first one, with no shadow, replays the whole merged state (full); the next one, of a merge of
    the same size (src into a fresh branch at tgt's head) with the shadow at tgt's head, migrates
    the shadow incrementally (pggit.migration(tgt's head, 'merge:<id>') in one transaction)
Goals: detection + merge under 1 s; the shadow replay (merge verification) under 5 s.

Checked once: the merged tree is what source_wins gives, computed from the three trees; the
live schema after the merge into HEAD dumps (pg_dump --schema-only, normalized) exactly like the
database built by the shadow replay.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _build import dump_schema, first_difference, fmt_runs, log, pg_bin
from _common import scratch_db, server_dsn

import psycopg
from pggit import Client


class Schema:
    """Object i of each family lives in schema m_{i % schemas}; table i has index i, view i reads
    table i, function i reads table i (SQL) or computes (PL/pgSQL)."""

    def __init__(self, tables: int, views: int, functions: int, schemas: int):
        assert views <= tables and functions <= tables
        self.n_tables, self.n_views, self.n_functions, self.n_schemas = tables, views, functions, schemas

    def s(self, i: int) -> str:
        return f"m_{i % self.n_schemas}"

    def t(self, i: int) -> str:
        return f"{self.s(i)}.t_{i}"

    def table_sql(self, i: int) -> list[str]:
        return [
            f"CREATE TABLE {self.t(i)} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) DEFAULT 0, "
            f"created_at timestamptz NOT NULL DEFAULT now())",
            self.index_sql(i, "name"),
        ]

    def index_sql(self, i: int, cols: str) -> str:
        return f"CREATE INDEX t_{i}_idx ON {self.t(i)} ({cols})"

    def view_sql(self, j: int, threshold: int = 0) -> str:
        return f"CREATE OR REPLACE VIEW {self.s(j)}.v_{j} AS SELECT id, name, amount FROM {self.t(j)} WHERE amount > {threshold}"

    def function_sql(self, k: int, bump: int = 0) -> str:
        if k % 2 == 0:
            return (f"CREATE OR REPLACE FUNCTION {self.s(k)}.f_{k}(p bigint) RETURNS numeric LANGUAGE sql STABLE AS "
                    f"$$ SELECT coalesce(sum(amount), 0) + {bump} FROM {self.t(k)} WHERE id = p $$")
        return (f"CREATE OR REPLACE FUNCTION {self.s(k)}.f_{k}(p bigint) RETURNS numeric LANGUAGE plpgsql STABLE AS "
                f"$$\nBEGIN\n    RETURN p * {k} + {bump};\nEND\n$$")

    def base_groups(self, group: int) -> list[list[str]]:
        schemas = [f"CREATE SCHEMA {self.s(i)}" for i in range(self.n_schemas)]
        tables = [[x for i in range(lo, min(lo + group, self.n_tables)) for x in self.table_sql(i)]
                  for lo in range(0, self.n_tables, group)]
        rest = [self.function_sql(k) for k in range(self.n_functions)] + [self.view_sql(j) for j in range(self.n_views)]
        rests = [rest[lo:lo + 2 * group] for lo in range(0, len(rest), 2 * group)]
        return [schemas + tables[0], *tables[1:], *rests]

    def side(self, name: str, per_kind: tuple[int, int, int, int], overlap: int) -> list[str]:
        """The changes of one side: (tables, views, functions, indexes) changed; the first
        `overlap` of each kind are shared with the other side (changed differently there)."""
        n_t, n_v, n_f, n_i = per_kind
        # src takes [0, n) of each kind; tgt takes [0, overlap) plus [n_src, n_src + n - overlap)
        def ids(n: int, src_n: int) -> list[int]:
            return list(range(n)) if name == "src" else list(range(overlap)) + list(range(src_n, src_n + n - overlap))
        bump = 1 if name == "src" else 2
        out = [f"ALTER TABLE {self.t(i)} ADD COLUMN {name}_note text" for i in ids(n_t, n_t)]
        out += [self.view_sql(j, bump) for j in ids(n_v, n_v)]
        out += [self.function_sql(k, bump) for k in ids(n_f, n_f)]
        for i in ids(n_i, n_i):
            out += [f"DROP INDEX {self.s(i)}.t_{i}_idx", self.index_sql(i, "name, amount" if name == "src" else "amount, name")]
        return out


def pg_dump_for(major: int) -> str:
    """pg_dump of the server's major version: the packaged one, else the embedded server's."""
    import pgtools  # tests/pgtools.py (on sys.path through _build)

    found = pg_bin("pg_dump", major)
    if pgtools._binary_major(Path(found)) == major:
        return found
    from pggit import embedded

    return str(pgtools.find_bin_dir(major, fallback=Path(embedded.start().bin_dir)) / "pg_dump")


def grouped_commit(conn: psycopg.Connection, message: str, statements: list[str]) -> None:
    with conn.transaction():
        conn.execute("SELECT pggit.begin_commit(%s)", (message,))
        for stmt in statements:
            conn.execute(stmt)


def one(conn, query, params=None):
    return conn.execute(query, params).fetchone()


def replay(dsn: str, statements: list[str], batch: int = 500) -> float:
    """Run the statements in transactions of `batch`, one statement per round trip."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        for lo in range(0, len(statements), batch):
            with conn.transaction():
                for stmt in statements[lo:lo + batch]:
                    conn.execute(stmt)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=2500)
    ap.add_argument("--views", type=int, default=2500)
    ap.add_argument("--functions", type=int, default=2500)
    ap.add_argument("--schemas", type=int, default=4)
    ap.add_argument("--group", type=int, default=250, help="tables per grouped commit of the base")
    ap.add_argument("--changes", type=int, default=1000, help="objects changed per side")
    ap.add_argument("--overlap", type=int, default=100, help="objects changed on both sides")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--head-runs", type=int, default=2)
    args = ap.parse_args()
    started = time.perf_counter()
    # per side: 30% tables, 30% views, 30% functions, 10% indexes; overlap split evenly
    per_kind = (args.changes * 3 // 10, args.changes * 3 // 10, args.changes * 3 // 10,
                args.changes - 3 * (args.changes * 3 // 10))
    overlap = args.overlap // 4
    schema = Schema(args.tables, args.views, args.functions, args.schemas)

    dsn = server_dsn()
    with psycopg.connect(dsn, autocommit=True) as admin:
        major = int(one(admin, "SHOW server_version_num")[0]) // 10000
        server_version = one(admin, "SHOW server_version")[0]
    pg_dump = pg_dump_for(major)

    with scratch_db(dsn, "pggit_p3") as engine_dsn, psycopg.connect(engine_dsn, autocommit=True) as conn:
        Client(engine_dsn).install()
        log("building the base on main")
        t0 = time.perf_counter()
        for n, group in enumerate(schema.base_groups(args.group), 1):
            grouped_commit(conn, f"P3 base, part {n}", group)
        build_base = time.perf_counter() - t0
        base = one(conn, "SELECT pggit.resolve('main')")[0]
        kinds = dict(conn.execute("SELECT kind, count(*) FROM pggit.tree('main') GROUP BY 1 ORDER BY 1").fetchall())
        log(f"  {sum(kinds.values())} objects in {build_base:.1f} s")

        log("building src and tgt (switch_branch, one grouped commit each)")
        t0 = time.perf_counter()
        conn.execute("SELECT pggit.create_branch('src')")
        conn.execute("SELECT pggit.create_branch('tgt')")
        conn.execute("SELECT pggit.switch_branch('src')")
        src_sql = schema.side("src", per_kind, overlap)
        grouped_commit(conn, "P3 src: 1,000 objects changed", src_sql)
        t1 = time.perf_counter()
        conn.execute("SELECT pggit.switch_branch('tgt', true)")
        switch_time = time.perf_counter() - t1
        tgt_sql = schema.side("tgt", per_kind, overlap)
        grouped_commit(conn, "P3 tgt: 1,000 objects changed", tgt_sql)
        build_sides = time.perf_counter() - t0
        tgt_head = one(conn, "SELECT pggit.resolve('tgt')")[0]
        diff_src = one(conn, "SELECT count(*) FROM pggit.diff(%s, 'src')", (base,))[0]
        diff_tgt = one(conn, "SELECT count(*) FROM pggit.diff(%s, 'tgt')", (base,))[0]
        classes = conn.execute("SELECT conflict_type, auto_resolvable, count(*) FROM pggit.detect_merge_conflicts('src', 'tgt')"
                               " WHERE conflict_type <> 'NO_CONFLICT' GROUP BY 1, 2 ORDER BY 1").fetchall()

        log(f"timing detection and merges into a branch that is not HEAD ({args.runs} runs)")
        detect, prepare, complete, whole = [], [], [], []
        merge_id = None
        for r in range(args.runs + 1):  # the first run warms up
            for b in (f"prep_{r}", f"whole_{r}"):
                conn.execute("SELECT pggit.create_branch(%s, %s)", (b, tgt_head))
            t0 = time.perf_counter()
            one(conn, "SELECT count(*) FROM pggit.detect_merge_conflicts('src', %s)", (f"prep_{r}",))
            t1 = time.perf_counter()
            mid, status = one(conn, "SELECT merge_id, status FROM pggit.merge_branches('src', %s, 'source_wins', NULL, false)",
                              (f"prep_{r}",))
            t2 = time.perf_counter()
            status2 = one(conn, "SELECT status FROM pggit.complete_merge(%s)", (mid,))[0]
            t3 = time.perf_counter()
            mid2, status3, commit = one(conn, "SELECT merge_id, status, commit_id FROM pggit.merge_branches('src', %s, 'source_wins')",
                                        (f"whole_{r}",))
            t4 = time.perf_counter()
            assert (status, status2, status3) == ("ready", "merged", "merged"), (status, status2, status3)
            if r:
                detect.append(t1 - t0)
                prepare.append(t2 - t1)
                complete.append(t3 - t2)
                whole.append(t4 - t3)
            merge_id = mid2
        items = dict(conn.execute("SELECT coalesce(resolution, 'open'), count(*) FROM pggit.merge_items(%s) GROUP BY 1",
                                  (merge_id,)).fetchall())

        # the merged tree is source_wins of the three trees
        trees = {ref: dict(conn.execute("SELECT identity, hash FROM pggit.tree(%s)", (ref,)).fetchall())
                 for ref in (base, "src", "tgt", f"whole_{args.runs}")}
        b, s, t = trees[base], trees["src"], trees["tgt"]
        expected = {}
        for ident in set(b) | set(s) | set(t):
            v = t.get(ident) if s.get(ident) == t.get(ident) or s.get(ident) == b.get(ident) else s.get(ident)
            if v is not None:
                expected[ident] = v
        tree_ok = trees[f"whole_{args.runs}"] == expected

        log("shadow replay of the merged state")
        t0 = time.perf_counter()
        statements = [x[0] for x in conn.execute("SELECT statement FROM pggit.migration(NULL, %s) ORDER BY step",
                                                 (f"merge:{merge_id}",))]
        gen_time = time.perf_counter() - t0
        one_tx = "fits"
        with scratch_db(dsn, "pggit_p3_one_tx") as one_dsn:
            try:
                one_tx_time = replay(one_dsn, statements, batch=len(statements))
                one_tx = f"fits ({one_tx_time:.2f} s)"
            except psycopg.Error as exc:
                one_tx = f"fails: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        with scratch_db(dsn, "pggit_p3_each") as each_dsn:
            each_time = replay(each_dsn, statements)
        # the client's own shadow database, as Client.merge verifies a merge
        rows = conn.execute("SELECT step, kind, identity, statement FROM pggit.migration(NULL, %s) ORDER BY step",
                            (f"merge:{merge_id}",))
        rows = [dict(zip(("step", "kind", "identity", "statement"), r)) for r in rows.fetchall()]
        shadow_client = Client(engine_dsn)
        replay_time = shadow_client.shadow.replay(rows) / 1000
        shadow_dump = dump_schema(shadow_client.shadow.dsn, pg_dump)
        shadow_client.drop_shadow()

        # merge verification as Client.merge does it (Shadow.verify): the first one replays the
        # whole state into a fresh shadow; later ones migrate from the state the shadow holds
        log("merge verification by the client: first (full replay), then incremental")
        def prepare_merge(branch: str) -> int:
            conn.execute("SELECT pggit.create_branch(%s, %s)", (branch, tgt_head))
            mid, status = one(conn, "SELECT merge_id, status FROM pggit.merge_branches('src', %s, 'source_wins', NULL, false)",
                              (branch,))
            assert status == "ready", status
            return mid

        shadow = shadow_client.shadow
        m1 = prepare_merge("verify_1")
        t0 = time.perf_counter()
        done = shadow_client._verify_and_complete(m1)  # no shadow: full replay, then complete
        first_verify = (time.perf_counter() - t0, shadow.last_replay_ms / 1000, shadow.last_mode, shadow.last_statements)
        assert done["status"] == "merged" and first_verify[2] == "full", (done["status"], first_verify)
        # the shadow now holds merge:m1; bring it to tgt's head (the next merge's target state, as
        # after a verified merge that produced tgt's head): itself an incremental verification
        t0 = time.perf_counter()
        shadow.verify(tgt_head, shadow_client._migration_rows)
        back_verify = (time.perf_counter() - t0, shadow.last_mode, shadow.last_statements)
        m2 = prepare_merge("verify_2")  # a merge of the same size: src into a fresh branch at tgt's head
        t0 = time.perf_counter()
        done = shadow_client._verify_and_complete(m2)
        next_verify = (time.perf_counter() - t0, shadow.last_replay_ms / 1000, shadow.last_mode, shadow.last_statements)
        assert done["status"] == "merged", done
        with psycopg.connect(shadow.dsn, autocommit=True) as sconn:  # compare without the marker schema
            sconn.execute("DROP SCHEMA pggit_shadow CASCADE")
        incremental_same = dump_schema(shadow.dsn, pg_dump) == shadow_dump
        if not incremental_same:
            log("dumps differ:\n" + first_difference(shadow_dump, dump_schema(shadow.dsn, pg_dump), "full replay",
                                                     "incremental shadow"))
        shadow_client.drop_shadow()
        shadow_client.close()

        log(f"timing merges into HEAD (tgt checked out, {args.head_runs} runs)")
        head_times, head_steps = [], None
        head_merge = None
        for r in range(args.head_runs):
            if r:
                conn.execute("SELECT pggit.reset_branch('tgt', %s, true)", (tgt_head,))
            t0 = time.perf_counter()
            head_merge, status = one(conn, "SELECT merge_id, status FROM pggit.merge_branches('src', NULL, 'source_wins')")
            head_times.append(time.perf_counter() - t0)
            assert status == "merged", status
        head_steps = one(conn, "SELECT count(*) FROM pggit.migration(%s, 'tgt')", (tgt_head,))[0]
        same_tree = dict(conn.execute("SELECT identity, hash FROM pggit.tree('tgt')").fetchall()) == expected
        live_dump = dump_schema(engine_dsn, pg_dump)
        # the shadow was built from the non-HEAD merge's state, the same tree
        same_dump = live_dump == shadow_dump
        if not same_dump:
            log("dumps differ:\n" + first_difference(shadow_dump, live_dump, "shadow replay", "live after merge into HEAD"))

    total = sum(kinds.values())
    print(f"P3 merge, PostgreSQL {server_version}")
    print(f"  base: {total} objects (" + ", ".join(f"{v} {k}" for k, v in kinds.items()) + f"), built in {build_base:.1f} s")
    print(f"  src: {diff_src} objects changed ({len(src_sql)} statements); tgt: {diff_tgt} objects changed "
          f"({len(tgt_sql)} statements); built in {build_sides:.1f} s (switch src -> tgt: {switch_time:.1f} s)")
    print("  classes src vs tgt: " + ", ".join(f"{n} {c}{'' if a else ' (conflict)'}" for c, a, n in classes))
    print(f"  merge items (source_wins): " + ", ".join(f"{v} {k}" for k, v in sorted(items.items())))
    print(f"  detect_merge_conflicts               {fmt_runs(detect)}")
    print(f"  merge into non-HEAD: prepare         {fmt_runs(prepare)}")
    print(f"  merge into non-HEAD: complete        {fmt_runs(complete)}")
    print(f"  merge into non-HEAD: one call        {fmt_runs(whole)}")
    best = min(detect) + min(whole)
    print(f"  detection + merge (non-HEAD)         {best * 1000:9.1f} ms (goal < 1000 ms: {'met' if best < 1 else 'NOT met'})")
    print(f"  merge into HEAD incl. live migration {fmt_runs(head_times)}  ({head_steps} migration steps)")
    best_head = min(detect) + min(head_times)
    print(f"  detection + merge into HEAD          {best_head * 1000:9.1f} ms")
    print(f"  shadow replay of merge:{merge_id} by the client (pggit.shadow: fresh database, transactions of 500 "
          f"statements sent as one script each): {len(statements)} statements generated in {gen_time * 1000:.0f} ms, "
          f"replayed in {replay_time:.2f} s, total {gen_time + replay_time:.2f} s "
          f"(goal < 5 s: {'met' if gen_time + replay_time < 5 else 'NOT met'})")
    print(f"  for comparison: one statement per round trip {each_time:.2f} s; the whole replay in one transaction {one_tx}")
    full_ok, inc_ok = first_verify[0] < 5, next_verify[0] < 5
    print(f"  merge verification by the client (Client.merge: Shadow.verify + complete_merge, statements computed included):")
    print(f"    first verification (full replay)   {first_verify[0]:7.2f} s (shadow {first_verify[1]:.2f} s, "
          f"{first_verify[3]} statements) (goal < 5 s: {'met' if full_ok else 'NOT met'})")
    print(f"    next verification (incremental)    {next_verify[0]:7.2f} s (shadow {next_verify[1]:.2f} s, "
          f"{next_verify[3]} statements, mode {next_verify[2]}; shadow at tgt's head -> merge:{m2}) "
          f"(goal < 5 s: {'met' if inc_ok and next_verify[2] == 'incremental' else 'NOT met'})")
    print(f"    (shadow moved merge:{m1} -> tgt's head in between: {back_verify[0]:.2f} s, {back_verify[2]} statements, "
          f"mode {back_verify[1]})")
    print(f"    goal < 5 s for a verification: met by " + (
        "both" if full_ok and inc_ok else "the incremental one only" if inc_ok else
        "the full replay only" if full_ok else "neither"))
    print(f"  check incremental shadow == full replay of the merged state (pg_dump --schema-only): "
          f"{'identical' if incremental_same else 'DIFFERENT'}")
    print(f"  check merged tree == source_wins of the three trees: {'yes' if tree_ok and same_tree else 'NO'}")
    print(f"  check live after merge into HEAD == shadow replay (pg_dump --schema-only): {'identical' if same_dump else 'DIFFERENT'}")
    print(f"  (run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
