"""P6: a merge request with 1,000 changed objects renders in under 300 ms of server time.

Repository (a scratch database with the engine): --tables tables (primary key, one index each)
and --views views over them, on main, in grouped commits. Branch ``big`` changes --changes
objects in one grouped commit made on the live database (switch_branch, as bench/p3_merge.py
does): 60% of them tables that get a column, 20% new indexes, 20% views whose text changes.
Branch ``small`` changes 10 tables the same way (the baseline request). main then moves on by
one unrelated table, so both requests are real three-way merges (no conflicts).

Django's own tables live in a throwaway database made by Django's test-database machinery
(``pggit_p6_django_<hex>``); both databases are dropped at the end. The two merge requests are
opened with ``merges.actions.open_merge_request``; a developer of the repository is signed in
with ``django.test.Client.force_login``.

Timed, in process (the server's time: URL routing, middleware, views, engine queries, template
rendering; no network, no browser), min and median of --runs runs of each page of each request:
the conversation (detail), the Changes tab (page 1), the Migration tab and the Commits tab,
    * cold: Django's cache cleared before each request (the merge preview, cached by the commit
      ids of both heads, is computed again: the first view of a request, or after a push);
    * warm: after one request that filled the cache.
Ratios against the same page of the 10-object request (cold/warm alike) and against the plain
repository list, measured in the same run. Goal: every page of the 1,000-object request under
300 ms, cold (the merge preview computed by that request) and warm (preview cached).

--profile PAGE (repeatable) profiles one cold request of that page of the big request with
pyinstrument when it is importable (not a project requirement: e.g. ``pip install --target
/tmp/pyinst pyinstrument`` and ``PYTHONPATH=/tmp/pyinst``), else with cProfile, and prints where
the time goes.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/p6_merge_request.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from _build import log
from _common import scratch_db, server_dsn

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("detail", "preview", "changes", "migration", "commits")
GOAL_MS = 300.0


# ----------------------------------------------------------------------------- the repository


def t(i: int) -> str:
    return f"app.t_{i}"


def base_groups(tables: int, views: int, group: int) -> list[list[str]]:
    out: list[list[str]] = []
    for lo in range(0, tables, group):
        stmts = ["CREATE SCHEMA app"] if lo == 0 else []
        for i in range(lo, min(lo + group, tables)):
            stmts.append(f"CREATE TABLE {t(i)} (id bigint PRIMARY KEY, name text NOT NULL, "
                         f"amount numeric(12,2) DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now())")
            stmts.append(f"CREATE INDEX t_{i}_name_idx ON {t(i)} (name)")
        out.append(stmts)
    for lo in range(0, views, 2 * group):
        out.append([view_sql(j) for j in range(lo, min(lo + 2 * group, views))])
    return out


def view_sql(j: int, threshold: int = 0) -> str:
    return f"CREATE OR REPLACE VIEW app.v_{j} AS SELECT id, name, amount FROM {t(j)} WHERE amount > {threshold}"


def branch_changes(changes: int, tables: int, views: int, offset: int = 0) -> list[str]:
    """`changes` objects: 60% tables get a column, 20% new indexes, 20% views change."""
    n_views = min(changes // 5, views)
    n_indexes = changes // 5
    n_tables = changes - n_views - n_indexes
    assert offset + n_tables <= tables and n_indexes <= tables, "not enough tables for that many changes"
    out = [f"ALTER TABLE {t(offset + i)} ADD COLUMN note text" for i in range(n_tables)]
    out += [f"CREATE INDEX t_{i}_amount_idx ON {t(i)} (amount)" for i in range(tables - n_indexes, tables)]
    out += [view_sql(j, 1) for j in range(n_views)]
    return out


def grouped_commit(conn: psycopg.Connection, message: str, statements: list[str]) -> None:
    with conn.transaction():
        conn.execute("SELECT pggit.begin_commit(%s)", (message,))
        for stmt in statements:
            conn.execute(stmt)


def build_repository(dsn: str, args) -> dict:
    from pggit import Client

    with Client(dsn) as client:
        client.install()
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        for n, group in enumerate(base_groups(args.tables, args.views, args.group), 1):
            grouped_commit(conn, f"P6 base, part {n}", group)
        log(f"  base: {args.tables} tables + indexes, {args.views} views in {time.perf_counter() - t0:.1f} s")
        for name, count in (("big", args.changes), ("small", 10)):
            t0 = time.perf_counter()
            conn.execute("SELECT pggit.create_branch(%s)", (name,))
            conn.execute("SELECT pggit.switch_branch(%s)", (name,))
            sql = branch_changes(count, args.tables, args.views)
            grouped_commit(conn, f"P6 {name}: {count} objects changed", sql)
            conn.execute("SELECT pggit.switch_branch('main', true)")
            log(f"  branch {name}: {len(sql)} statements, switched back to main in {time.perf_counter() - t0:.1f} s")
        grouped_commit(conn, "P6 main moves on", ["CREATE TABLE app.elsewhere (id bigint PRIMARY KEY)"])
        counts = {}
        for name in ("big", "small"):
            counts[name] = conn.execute(
                "SELECT count(*) FROM pggit.diff(pggit.find_merge_base(pggit.resolve(%s), pggit.resolve('main')), %s)",
                (name, name)).fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM pggit.tree('main')").fetchone()[0]
    return {"changed": counts, "objects": objects}


# ----------------------------------------------------------------------------- Django


def setup_django():
    """Django with its tables in a new test database (on DATABASE_URL's server, else the
    embedded one, as the app itself decides)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_web.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"pggit_p6_django_{uuid.uuid4().hex[:8]}"
    setup_test_environment()
    return setup_databases(verbosity=0, interactive=False)


def teardown_django(old_config) -> None:
    from django.db import connections
    from django.test.utils import teardown_databases, teardown_test_environment

    connections.close_all()
    teardown_databases(old_config, verbosity=0)
    teardown_test_environment()


def open_requests(engine_dsn: str):
    from django.contrib.auth import get_user_model

    from branches.access import grant
    from branches.models import BranchProtection, Repository, Role
    from merges import actions

    author = get_user_model().objects.create_user("p6_author", password="x")
    repo = Repository.objects.create(name="p6", dsn=engine_dsn)
    grant(repo, author, Role.DEVELOPER)
    BranchProtection.objects.create(repository=repo, pattern="main", required_approvals=1)
    big = actions.open_merge_request(author, repo, source="big", target="main", title="1,000 objects")
    small = actions.open_merge_request(author, repo, source="small", target="main", title="10 objects")
    return author, repo, big, small


def page_url(mr, page: str) -> str:
    from django.urls import reverse

    return reverse(f"merges:{page}", kwargs={"slug": mr.repository.slug, "number": mr.number})


def fetch(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}:\n{response.content[:3000].decode(errors='replace')}")
    return response


def time_page(client, url: str, runs: int, cold: bool) -> list[float]:
    from django.core.cache import cache

    out = []
    if not cold:
        fetch(client, url)
    for _ in range(runs):
        if cold:
            cache.clear()
        t0 = time.perf_counter()
        fetch(client, url)
        out.append(time.perf_counter() - t0)
    return out


def ms(times: list[float]) -> tuple[float, float]:
    return min(times) * 1000, statistics.median(times) * 1000


def profile(client, url: str) -> None:
    from django.core.cache import cache

    cache.clear()
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    if Profiler is not None:
        profiler = Profiler(interval=0.0005)
        profiler.start()
        fetch(client, url)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fetch(client, url)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=1200)
    ap.add_argument("--views", type=int, default=300)
    ap.add_argument("--changes", type=int, default=1000, help="objects changed by the big request")
    ap.add_argument("--group", type=int, default=200, help="tables per grouped commit of the base")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--profile", choices=PAGES, action="append", default=[],
                    help="profile one cold request of this page of the big request (repeatable)")
    args = ap.parse_args()
    started = time.perf_counter()
    server = server_dsn()
    with psycopg.connect(server, autocommit=True) as admin:
        server_version = admin.execute("SHOW server_version").fetchone()[0]

    old_config = setup_django()
    try:
        with scratch_db(server, "pggit_p6") as engine_dsn:
            try:
                measure(args, server_version, engine_dsn, started)
            finally:
                drop_shadow(engine_dsn)
    finally:
        teardown_django(old_config)


def measure(args, server_version: str, engine_dsn: str, started: float) -> None:
    from django.test import Client as WebClient
    from django.urls import reverse

    log("building the repository")
    built = build_repository(engine_dsn, args)
    author, repo, big, small = open_requests(engine_dsn)
    web = WebClient()
    web.force_login(author)
    log(f"timing {len(PAGES)} pages x 2 requests x cold/warm, {args.runs} runs each")
    results: dict = {"list": time_page(web, reverse("branches:repository_list"), args.runs, cold=False)}
    for mr in (big, small):
        for page in PAGES:
            for cold in (True, False):
                results[(mr.source, page, cold)] = time_page(web, page_url(mr, page), args.runs, cold)
    sizes = {page: len(fetch(web, page_url(big, page)).content) for page in PAGES}
    print_report(args, server_version, built, results, sizes, time.perf_counter() - started)
    for page in args.profile:
        print(f"\nProfile of one cold request of the {page} page (big request):\n")
        profile(web, page_url(big, page))


def drop_shadow(engine_dsn: str) -> None:
    """The engine's shadow database (beside the repository's, if a page made one)."""
    from pggit import Client

    try:
        with Client(engine_dsn) as client:
            client.drop_shadow()
    except Exception as exc:  # the repository database is dropped anyway
        log(f"could not drop the shadow database: {exc}")


def print_report(args, server_version, built, results, sizes, elapsed) -> None:
    list_min, list_med = ms(results["list"])
    print()
    print(f"P6: merge request pages, server time (django.test.Client in process), PostgreSQL {server_version}")
    print(f"  repository: {built['objects']} objects on main; big request changes {built['changed']['big']} "
          f"objects, baseline request {built['changed']['small']}; {args.runs} runs per figure")
    print(f"  baseline: repository list  min {list_min:7.1f} ms  median {list_med:7.1f} ms")
    print()
    big, small = (f"{built['changed'][k]:,} objects: min / median" for k in ("big", "small"))
    header = (f"  {'page':<10} {'cache':<5} {big:>30} {small:>27}"
              f" {'x 10-obj':>9} {'x list':>7} {'HTML':>9}")
    print(header)
    worst = 0.0
    for page in PAGES:
        for cold in (True, False):
            b_min, b_med = ms(results[("big", page, cold)])
            s_min, s_med = ms(results[("small", page, cold)])
            if not cold:
                worst = max(worst, b_med)
            print(f"  {page:<10} {'cold' if cold else 'warm':<5} {b_min:14.1f} / {b_med:7.1f} ms"
                  f" {s_min:13.1f} / {s_med:7.1f} ms {b_med / s_med:8.1f}x {b_med / list_med:6.0f}x"
                  f" {sizes[page] / 1024:7.0f} kB")
    cold_worst = max(ms(results[("big", page, True)])[1] for page in PAGES)
    print()
    print(f"  goal: every page under {GOAL_MS:.0f} ms: warm worst median {worst:.1f} ms "
          f"({'met' if worst < GOAL_MS else 'NOT met'}); cold worst median {cold_worst:.1f} ms "
          f"({'met' if cold_worst < GOAL_MS else 'NOT met'})")
    print(f"  total run time {elapsed:.0f} s")


if __name__ == "__main__":
    main()
