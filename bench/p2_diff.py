"""P2: diff + migration between two stored states of about 5,500 objects with 5% changed.

State A (a few grouped commits): --tables tables (primary key, an extra index, every 10th with a
foreign key to its neighbour), --views views (some joining two tables across schemas, some calling
a function, some built on another view), --functions functions (SQL and PL/pgSQL), spread over
--schemas schemas. State B (one grouped commit on top): about 5% of the objects changed: columns
added to tables, view definitions changed (some with a view built on them), function bodies
changed, indexes added and dropped, tables/views/functions dropped and added.

Timed: SELECT count(*) FROM pggit.diff(a, b) and SELECT count(*) FROM pggit.migration(a, b),
min and median of --runs runs after one warm-up run; also the CLI end to end (`python -m pggit
migration a b`, a process like migra's).

Checked once: replaying migration(NULL, a) into a fresh database and applying migration(a, b)
gives the same `pg_dump --schema-only` (normalized) as replaying migration(NULL, b).

Baseline: migra (bench/requirements-migra.txt, installed into bench/.venv-migra on first use) on
the two replayed databases, `migra --unsafe A B` wall time, min of --migra-runs runs. Goal: pgGit
20x faster than migra.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from _build import dump_schema, ensure_migra, first_difference, fmt_runs, log, pg_bin, timed, url_for
from _common import scratch_db, server_dsn

import psycopg
from pggit import Client


# ----------------------------------------------------------------------------- the schema


class Schema:
    """Generates the DDL of states A and B. Object i of each family lives in schema app_{i % schemas}."""

    def __init__(self, tables: int, views: int, functions: int, schemas: int):
        assert views <= tables and functions <= tables
        self.n_tables, self.n_views, self.n_functions, self.n_schemas = tables, views, functions, schemas

    def s(self, i: int) -> str:
        return f"app_{i % self.n_schemas}"

    def t(self, i: int) -> str:
        return f"{self.s(i)}.t_{i}"

    def v(self, j: int) -> str:
        return f"{self.s(j)}.v_{j}"

    def f(self, k: int) -> str:
        return f"{self.s(k)}.f_{k}"

    # which table a function reads: the third quarter of the tables, away from views and drops
    def f_table(self, k: int) -> int:
        return (self.n_tables // 2 + k) % self.n_tables

    def fk_target(self, i: int) -> int | None:
        return i - 1 if i % 10 == 1 else None

    def table_sql(self, i: int) -> list[str]:
        fk = self.fk_target(i)
        ref = f" REFERENCES {self.t(fk)} (id)" if fk is not None else ""
        return [
            f"CREATE TABLE {self.t(i)} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) DEFAULT 0, "
            f"created_at timestamptz NOT NULL DEFAULT now(), ref_id bigint{ref})",
            f"CREATE INDEX t_{i}_name_idx ON {self.t(i)} (name, created_at)",
        ]

    def function_uses(self, k: int) -> bool:
        """Views j with j % 7 == 0 call function j."""
        return k % 7 == 0 and k < self.n_views

    def function_sql(self, k: int, changed: bool = False) -> str:
        bump = " + 1" if changed else ""
        if k % 2 == 0:
            return (
                f"CREATE OR REPLACE FUNCTION {self.f(k)}(p bigint) RETURNS numeric LANGUAGE sql STABLE AS "
                f"$$ SELECT coalesce(sum(amount), 0){bump} FROM {self.t(self.f_table(k))} WHERE id = p $$"
            )
        return (
            f"CREATE OR REPLACE FUNCTION {self.f(k)}(p bigint) RETURNS numeric LANGUAGE plpgsql STABLE AS "
            f"$$\nBEGIN\n    RETURN p * {k}{bump};\nEND\n$$"
        )

    def view_sql(self, j: int, changed: bool = False) -> str:
        threshold = 1 if changed else 0
        if j % 10 == 3:  # built on the previous view (which is among the changed ones)
            body = f"SELECT id, name, amount FROM {self.v(j - 1)} WHERE id > {threshold}"
        elif j % 7 == 0 and j < self.n_functions:
            body = f"SELECT id, name, {self.f(j)}(id) AS amount FROM {self.t(j)} WHERE amount > {threshold}"
        elif j % 5 == 0:  # join across schemas with a table of the second quarter
            other = self.t(self.n_tables // 4 + j)
            body = (f"SELECT a.id, a.name, b.amount FROM {self.t(j)} a JOIN {other} b ON b.id = a.id "
                    f"WHERE b.amount > {threshold}")
        else:
            body = f"SELECT id, name, amount FROM {self.t(j)} WHERE amount > {threshold}"
        return f"CREATE OR REPLACE VIEW {self.v(j)} AS {body}"

    def state_a(self) -> list[list[str]]:
        """Groups of statements, each group one commit."""
        schemas = [f"CREATE SCHEMA {self.s(i)}" for i in range(self.n_schemas)]
        # (a few commits: one transaction creating 2,000 tables with their indexes runs out of
        # lock table slots at the default max_locks_per_transaction, engine or not)
        tables = [[sql for i in range(lo, min(lo + 250, self.n_tables)) for sql in self.table_sql(i)]
                  for lo in range(0, self.n_tables, 250)]
        functions = [self.function_sql(k) for k in range(self.n_functions)]
        views = [self.view_sql(j) for j in range(self.n_views)]
        return [schemas + tables[0], *tables[1:], functions + views]

    def changes(self) -> tuple[list[str], dict[str, int]]:
        """The statements turning A into B, and how many of each sort."""
        n, out, counts = self.n_tables, [], {}

        def add(sort: str, stmts: list[str]) -> None:
            out.extend(stmts)
            counts[sort] = counts.get(sort, 0) + len(stmts)

        # 4% of the tables get a column (every 25th, starting inside the tables that have views)
        add("table: add column", [f"ALTER TABLE {self.t(i)} ADD COLUMN note_b text DEFAULT 'b'" for i in range(7, n, 25)])
        # 10% of the views change, among them every view another view is built on (j % 10 == 2)
        add("view: new definition", [self.view_sql(j, changed=True) for j in range(2, self.n_views, 10)])
        # 10% of the function bodies change, some of them used by views
        add("function: new body", [self.function_sql(k, changed=True) for k in range(1, self.n_functions, 10)])
        # indexes: 15 added, 15 dropped
        add("index: added", [f"CREATE INDEX t_{i}_amount_idx ON {self.t(i)} (amount)" for i in range(11, n, n // 15)][:15])
        add("index: dropped", [f"DROP INDEX {self.s(i)}.t_{i}_name_idx" for i in range(13, n, n // 15)][:15])
        # drops: 5 views (none built on), 5 functions (none used), 5 tables of the last quarter
        add("view: dropped", [f"DROP VIEW {self.v(j)}" for j in range(8, self.n_views, 10)][:5])
        fdrops = [k for k in range(5, self.n_functions, 10) if not self.function_uses(k)][:5]
        add("function: dropped", [f"DROP FUNCTION {self.f(k)}(bigint)" for k in fdrops])
        tdrops = [i for i in range(3 * n // 4 + 5, n, 10) if self.fk_target(i + 1) != i][:5]
        add("table: dropped (with its index)", [f"DROP TABLE {self.t(i)}" for i in tdrops])
        # additions: 5 tables (with their index), 5 views, 5 functions
        new_t = range(n, n + 5)
        add("table: added (with an index)", [self.table_sql(i)[0] for i in new_t])
        add("index: added with new table", [self.table_sql(i)[1] for i in new_t])
        add("function: added", [self.function_sql(k) for k in range(n + 10, n + 15)])
        add("view: added", [f"CREATE VIEW {self.s(i)}.v_new_{i} AS SELECT id, name, created_at FROM {self.t(i)} WHERE ref_id IS NULL"
                            for i in new_t])
        return out, counts


# ----------------------------------------------------------------------------- steps


def grouped_commit(conn: psycopg.Connection, message: str, statements: list[str]) -> None:
    with conn.transaction():
        conn.execute("SELECT pggit.begin_commit(%s)", (message,))
        for stmt in statements:
            conn.execute(stmt)


def replay(conn: psycopg.Connection, statements: list[str], label: str, batch: int = 0) -> float:
    """Run a migration's statements in one transaction, or in transactions of `batch` statements
    (a full creation script of 2,000 tables does not fit one transaction's lock slots at the
    default max_locks_per_transaction; pg_dump's restore, too, is not one transaction)."""
    t0 = time.perf_counter()
    size = batch or len(statements) or 1
    try:
        for lo in range(0, len(statements), size):
            with conn.transaction():
                for stmt in statements[lo:lo + size]:
                    conn.execute(stmt)
    except psycopg.Error as exc:
        raise SystemExit(f"replaying {label} failed: {exc}")
    return time.perf_counter() - t0


def migration_statements(conn: psycopg.Connection, a: str | None, b: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT statement FROM pggit.migration(%s, %s) ORDER BY step", (a, b))]


def run_migra(migra: str, url_a: str, url_b: str) -> subprocess.CompletedProcess:
    return subprocess.run([migra, "--unsafe", url_a, url_b], capture_output=True, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=2000)
    ap.add_argument("--views", type=int, default=500)
    ap.add_argument("--functions", type=int, default=500)
    ap.add_argument("--schemas", type=int, default=4)
    ap.add_argument("--runs", type=int, default=7, help="timed runs of diff and migration")
    ap.add_argument("--migra-runs", type=int, default=3)
    ap.add_argument("--no-migra", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()

    dsn = server_dsn()
    with psycopg.connect(dsn, autocommit=True) as admin:
        major = int(admin.execute("SHOW server_version_num").fetchone()[0]) // 10000
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    pg_dump = pg_bin("pg_dump", major)
    schema = Schema(args.tables, args.views, args.functions, args.schemas)

    with ExitStack() as stack:
        engine_dsn = stack.enter_context(scratch_db(dsn, "pggit_p2_engine"))
        Client(engine_dsn).install()
        conn = stack.enter_context(psycopg.connect(engine_dsn, autocommit=True))

        log("building state A")
        t0 = time.perf_counter()
        for n, group in enumerate(schema.state_a(), 1):
            t1 = time.perf_counter()
            grouped_commit(conn, f"P2 state A, part {n}", group)
            log(f"  part {n}: {len(group)} statements, {time.perf_counter() - t1:.1f} s")
        build_a = time.perf_counter() - t0
        a = conn.execute("SELECT pggit.resolve('HEAD')").fetchone()[0]

        log("applying the 5% change (state B)")
        change_sql, change_counts = schema.changes()
        t0 = time.perf_counter()
        grouped_commit(conn, "P2 state B: 5% changed", change_sql)
        build_b = time.perf_counter() - t0
        b = conn.execute("SELECT pggit.resolve('HEAD')").fetchone()[0]

        kinds_a = dict(conn.execute("SELECT kind, count(*) FROM pggit.tree(%s) GROUP BY kind ORDER BY kind", (a,)).fetchall())
        kinds_b = dict(conn.execute("SELECT kind, count(*) FROM pggit.tree(%s) GROUP BY kind ORDER BY kind", (b,)).fetchall())
        diff_rows = conn.execute("SELECT kind, change, count(*) FROM pggit.diff(%s, %s) GROUP BY 1, 2 ORDER BY 1, 2", (a, b)).fetchall()
        changed = sum(r[2] for r in diff_rows)
        steps = conn.execute("SELECT count(*) FROM pggit.migration(%s, %s)", (a, b)).fetchone()[0]
        steps_by_kind = conn.execute(
            "SELECT kind, count(*) FROM pggit.migration(%s, %s) GROUP BY 1 ORDER BY 1", (a, b)).fetchall()

        log(f"timing diff and migration ({args.runs} runs each, after a warm-up)")
        q_diff = "SELECT count(*) FROM pggit.diff(%s, %s)"
        q_mig = "SELECT count(*) FROM pggit.migration(%s, %s)"
        conn.execute(q_diff, (a, b)).fetchone()
        conn.execute(q_mig, (a, b)).fetchone()
        diff_times, mig_times = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            diff_times += timed(lambda: conn.execute(q_diff, (a, b)).fetchone(), 1)
            mig_times += timed(lambda: conn.execute(q_mig, (a, b)).fetchone(), 1)
        script_times = timed(lambda: conn.execute("SELECT pggit.migration_script(%s, %s)", (a, b)).fetchone(), 3)
        cli = [sys.executable, "-m", "pggit", "--dsn", engine_dsn, "migration", a, b]
        root = str(Path(__file__).resolve().parent.parent)
        cli_times = timed(lambda: subprocess.run(cli, check=True, capture_output=True, cwd=root), 3)

        log("full scripts migration(NULL, a), migration(NULL, b), migration(a, b)")
        t0 = time.perf_counter()
        script_null_a = migration_statements(conn, None, a)
        full_a_time = time.perf_counter() - t0
        script_null_b = migration_statements(conn, None, b)
        script_a_b = migration_statements(conn, a, b)

        log("checking: replay(NULL->a) + (a->b) vs replay(NULL->b)")
        db_a = stack.enter_context(scratch_db(dsn, "pggit_p2_a"))
        db_ab = stack.enter_context(scratch_db(dsn, "pggit_p2_ab"))
        db_b = stack.enter_context(scratch_db(dsn, "pggit_p2_b"))
        with psycopg.connect(db_a, autocommit=True) as c_a, psycopg.connect(db_ab, autocommit=True) as c_ab, \
                psycopg.connect(db_b, autocommit=True) as c_b:
            replay_a = replay(c_a, script_null_a, "migration(NULL, a)", batch=500)
            replay(c_ab, script_null_a, "migration(NULL, a)", batch=500)
            apply_ab = replay(c_ab, script_a_b, "migration(a, b)")  # one transaction
            replay(c_b, script_null_b, "migration(NULL, b)", batch=500)
            for c in (c_a, c_ab, c_b):
                c.execute("ANALYZE")
        dump_ab, dump_b = dump_schema(db_ab, pg_dump), dump_schema(db_b, pg_dump)
        same = dump_ab == dump_b
        if not same:
            log("dumps differ:\n" + first_difference(dump_b, dump_ab, "replay(NULL->b)", "replay(NULL->a)+(a->b)"))

        migra_note, migra_times, migra_check = "", [], None
        if args.no_migra:
            migra_note = "skipped (--no-migra)"
        else:
            migra, why = ensure_migra()
            if migra is None:
                migra_note = why
            else:
                url_a, url_b = url_for(db_a, "postgresql+psycopg2"), url_for(db_b, "postgresql+psycopg2")
                log(f"timing migra ({args.migra_runs} runs)")
                res = run_migra(migra, url_a, url_b)  # warm-up (and the output we check)
                if res.returncode not in (0, 2):
                    migra_note = f"migra failed (exit {res.returncode}): {res.stderr.strip()[-1500:]}"
                else:
                    migra_out = res.stdout
                    for _ in range(args.migra_runs):
                        migra_times += timed(lambda: run_migra(migra, url_a, url_b), 1)
                    startup = timed(lambda: subprocess.run([str(Path(migra).with_name("python")), "-c", "import migra"],
                                                           check=True, capture_output=True), 3)
                    migra_note = f"(of which Python start and import of migra: {min(startup) * 1000:.0f} ms)"
                    # does migra's script turn A into B? (fairness: is it doing the same job)
                    db_m = stack.enter_context(scratch_db(dsn, "pggit_p2_migra"))
                    with psycopg.connect(db_m, autocommit=True) as c_m:
                        replay(c_m, script_null_a, "migration(NULL, a)", batch=500)
                        try:
                            with c_m.transaction():
                                c_m.execute(migra_out)
                            migra_check = dump_schema(db_m, pg_dump) == dump_b
                        except psycopg.Error as exc:
                            migra_check = f"its script fails: {str(exc).splitlines()[0]}"

    total_a = sum(kinds_a.values())
    print(f"P2 diff + migration, PostgreSQL {server_version}")
    print(f"  state A: {total_a} objects in pggit.tree(a): " + ", ".join(f"{v} {k}" for k, v in kinds_a.items()))
    print(f"  state B: {sum(kinds_b.values())} objects in pggit.tree(b): " + ", ".join(f"{v} {k}" for k, v in kinds_b.items()))
    print(f"  change A->B: {len(change_sql)} statements (" + ", ".join(f"{v} {k}" for k, v in change_counts.items()) + ")")
    print(f"  changed objects (rows of diff(a, b)): {changed} = {changed / total_a * 100:.1f}% of A ("
          + ", ".join(f"{r[2]} {r[0]} {r[1]}" for r in diff_rows) + ")")
    print(f"  migration(a, b): {steps} steps (" + ", ".join(f"{r[1]} {r[0]}" for r in steps_by_kind) + ")")
    print(f"  build: state A {build_a:.1f} s (captured), state B {build_b:.1f} s")
    print(f"  pgGit diff(a, b)            {fmt_runs(diff_times)}")
    print(f"  pgGit migration(a, b)       {fmt_runs(mig_times)}")
    print(f"  pgGit migration_script      {fmt_runs(script_times)}")
    print(f"  pgGit CLI `migration a b`   {fmt_runs(cli_times)}  (new process, like migra)")
    print(f"  migration(NULL, a): {len(script_null_a)} steps in {full_a_time * 1000:.0f} ms; replayed in {replay_a:.1f} s "
          f"(transactions of 500 steps); migration(a, b) applied in one transaction in {apply_ab * 1000:.0f} ms")
    print(f"  check replay(NULL->a)+migration(a,b) == replay(NULL->b) (pg_dump --schema-only): {'identical' if same else 'DIFFERENT'}")
    if migra_times:
        m = min(migra_times)
        print(f"  migra --unsafe A B          {fmt_runs(migra_times)}  {migra_note}")
        print(f"  migra's script applied to A gives B: {migra_check if migra_check is not True else 'yes'}")
        print(f"  ratio migra / pgGit migration(a, b): {m / min(mig_times):.1f}x (goal >= 20x)")
        print(f"  ratio migra / pgGit diff(a, b):      {m / min(diff_times):.1f}x")
        print(f"  ratio migra / pgGit CLI (both new processes): {m / min(cli_times):.1f}x")
    else:
        print(f"  migra: not measured: {migra_note}")
    print(f"  (run took {time.perf_counter() - started:.0f} s)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
