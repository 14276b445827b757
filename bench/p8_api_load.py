"""P8: the REST API under load, and the same read served by a page and by the API.

Repository (a scratch database with the engine): --tables tables (primary key, one index each) and
--views views over them on main, made in grouped commits, then --commits one-statement commits
on main (the log). Branch ``feature`` changes --compare objects (60% tables that get a column,
20% new indexes, 20% views whose text changes): the compare read. Branches ``load-0`` ...
``load-<users-1>``: one per load user, the sources of the merge requests it opens.

Django's own tables live in a scratch database of their own (migrated here). The app runs under
``uvicorn pggit_web.asgi:application --workers 2`` (production settings; plain HTTP, so
SECURE_SSL_REDIRECT=false; the API's throttle lifted: API_THROTTLE_RATE=1000000/min, since one
token makes every request); a developer of the repository has a personal access token
(developer role).

1. Page against API, one request at a time on the idle server (--runs runs of each, page and API
   interleaved, after a warm-up; min and median): the branches list (``/repos/<slug>/branches/`` with a session cookie against
   ``GET /api/v1/repositories/<slug>/branches/`` with the token), the commit log and the compare
   of --compare objects (the page shows the first page of objects side by side; the API answers
   every object with both definitions). Goal: the API within 1.2x of the page.
2. Load: locust headless (bench/p8_locustfile.py), --users users (spawned 10 a second) for
   --seconds seconds, each waiting 0.5 to 1.5 s between tasks: reads (branches 4, log 4, compare
   2) and writes (1: open a merge request from its branch, comment on it, close it). Printed per
   request and in all: requests, errors, requests/s, p50/p95/p99. Goal: 0 errors.

Requirements beyond requirements.txt (bench only, bench/requirements-load.txt): uvicorn in the
app's environment, and locust in an environment of its own (its gevent and Flask are no business
of the app's)::

    .venv/bin/pip install uvicorn==0.54.0 h11==0.16.0
    python3 -m venv /tmp/locust && /tmp/locust/bin/pip install locust==2.47.0
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/p8_api_load.py --locust /tmp/locust/bin/locust [--users 50 --seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _build import log, url_for
from _common import scratch_db, server_dsn

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
RATIO_GOAL = 1.2


# ----------------------------------------------------------------------------- the repository


def t(i: int) -> str:
    return f"app.t_{i}"


def view_sql(j: int, threshold: int = 0) -> str:
    return f"CREATE OR REPLACE VIEW app.v_{j} AS SELECT id, name, amount FROM {t(j)} WHERE amount > {threshold}"


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
        tables = [f"CREATE TABLE {t(i)} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) "
                  f"DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now())" for i in range(args.tables)]
        indexes = [f"CREATE INDEX t_{i}_name_idx ON {t(i)} (name)" for i in range(args.tables)]
        grouped_commit(conn, "P8 base: tables", ["CREATE SCHEMA app"] + tables + indexes)
        grouped_commit(conn, "P8 base: views", [view_sql(j) for j in range(args.views)])
        for n in range(args.commits):  # the log: one statement a commit
            conn.execute(f"COMMENT ON TABLE {t(n % args.tables)} IS 'revision {n}'")
        # the compare: `feature` changes args.compare objects
        n_views = min(args.compare // 5, args.views)
        n_indexes = args.compare // 5
        n_tables = args.compare - n_views - n_indexes
        change = ([f"ALTER TABLE {t(i)} ADD COLUMN note text" for i in range(n_tables)]
                  + [f"CREATE INDEX t_{i}_amount_idx ON {t(i)} (amount)" for i in range(args.tables - n_indexes, args.tables)]
                  + [view_sql(j, 1) for j in range(n_views)])
        conn.execute("SELECT pggit.create_branch('feature')")
        conn.execute("SELECT pggit.switch_branch('feature')")
        grouped_commit(conn, f"P8 feature: {args.compare} objects changed", change)
        conn.execute("SELECT pggit.switch_branch('main', true)")
        for i in range(args.users):
            conn.execute("SELECT pggit.create_branch(%s)", (f"load-{i}",))
        objects = conn.execute("SELECT count(*) FROM pggit.tree('main')").fetchone()[0]
        compared = conn.execute("SELECT count(*) FROM pggit.diff('main', 'feature')").fetchone()[0]
        commits = conn.execute("SELECT count(*) FROM pggit.log('main', 100000)").fetchone()[0]
        branches = conn.execute("SELECT count(*) FROM pggit.list_branches()").fetchone()[0]
    return {"objects": objects, "compared": compared, "commits": commits, "branches": branches}


# ----------------------------------------------------------------------------- the app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_environment(django_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": django_url, "DJANGO_SETTINGS_MODULE": "pggit_web.settings", "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or uuid.uuid4().hex * 2, "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "API_THROTTLE_RATE": "1000000/min", "LOG_LEVEL": "WARNING",
    }


def setup_django(django_url: str):
    """Django (in this process) on its scratch database, migrated: users, the repository, the
    token and a session are made here; the server processes read them from the database."""
    os.environ.update(app_environment(django_url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def people(engine_dsn: str):
    """A developer of repository ``p8``: (repository, token text, session cookie)."""
    from django.contrib.auth import get_user_model
    from django.test import Client as WebClient

    from api.tokens import create_token
    from branches.access import grant
    from branches.models import BranchProtection, Repository, Role

    developer = get_user_model().objects.create_user("p8_developer", email="p8@example.com", password=uuid.uuid4().hex)
    repo = Repository.objects.create(name="p8", dsn=engine_dsn)
    grant(repo, developer, Role.DEVELOPER)
    BranchProtection.objects.create(repository=repo, pattern="main", required_approvals=1)
    token = create_token(developer, name="p8", repositories=[repo], max_role=Role.DEVELOPER)[1]
    web = WebClient()
    web.force_login(developer)  # a session row in the database that the servers read
    from django.conf import settings

    return repo, token, {settings.SESSION_COOKIE_NAME: web.cookies[settings.SESSION_COOKIE_NAME].value}


def start_server(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "pggit_web.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}: {' '.join(command)}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("uvicorn did not answer /health/ within 60 s")


# ----------------------------------------------------------------------------- page against API


def get(session, url: str, **kw) -> float:
    t0 = time.perf_counter()
    response = session.get(url, timeout=60, **kw)
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:2000]}")
    return elapsed


def page_against_api(base: str, slug: str, token: str, cookies: dict, runs: int) -> list[tuple]:
    """Each read as a page and through the API, interleaved (page then API, API then page, ...)
    so that what else the machine does weighs on both alike; 3 warm-up requests of each first."""
    import requests

    page, api = requests.Session(), requests.Session()
    page.cookies.update(cookies)
    api.headers["Authorization"] = f"Bearer {token}"
    reads = [
        ("branches list", f"/repos/{slug}/branches/", f"/api/v1/repositories/{slug}/branches/", {}),
        ("commit log", f"/repos/{slug}/commits/", f"/api/v1/repositories/{slug}/commits/", {"ref": "main"}),
        ("compare", f"/repos/{slug}/compare/", f"/api/v1/repositories/{slug}/compare/", {"from": "main", "to": "feature"}),
    ]
    out = []
    for name, page_path, api_path, params in reads:
        log(f"  {name}: page and API, {runs} runs each")
        page_get = lambda: get(page, base + page_path, params=params, allow_redirects=False)  # noqa: E731
        api_get = lambda: get(api, base + api_path, params=params)  # noqa: E731
        for _ in range(3):
            page_get(), api_get()
        page_times, api_times = [], []
        for i in range(runs):
            if i % 2:
                api_times.append(api_get())
                page_times.append(page_get())
            else:
                page_times.append(page_get())
                api_times.append(api_get())
        out.append((name, page_times, api_times))
    return out


# ----------------------------------------------------------------------------- load


def run_locust(locust: str, base: str, env: dict[str, str], users: int, seconds: int, folder: Path) -> list[dict]:
    prefix = folder / "p8"
    command = [locust, "-f", str(BENCH / "p8_locustfile.py"), "--headless", "--host", base,
               "--users", str(users), "--spawn-rate", "10", "--run-time", f"{seconds}s",
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"]
    log(f"locust: {users} users for {seconds} s")
    run = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 300)
    stats = prefix.with_name("p8_stats.csv")
    if not stats.is_file():
        raise SystemExit(f"locust wrote no statistics (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    failures = prefix.with_name("p8_failures.csv")
    if failures.is_file():
        with failures.open() as f:
            for row in csv.DictReader(f):
                print(f"  failure: {row.get('Method')} {row.get('Name')}: {row.get('Error')} x {row.get('Occurrences')}")
    with stats.open() as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- main


def ms(times: list[float]) -> tuple[float, float]:
    return min(times) * 1000, statistics.median(times) * 1000


def find_locust(given: str | None) -> str:
    for candidate in (given, os.environ.get("PGGIT_BENCH_LOCUST"), str(Path(sys.executable).with_name("locust")),
                      shutil.which("locust")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("locust is not installed: python3 -m venv /tmp/locust && "
                     "/tmp/locust/bin/pip install -r bench/requirements-load.txt, then --locust /tmp/locust/bin/locust")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--tables", type=int, default=200)
    ap.add_argument("--views", type=int, default=40)
    ap.add_argument("--commits", type=int, default=120, help="one-statement commits on main (the log)")
    ap.add_argument("--compare", type=int, default=100, help="objects changed on branch feature")
    ap.add_argument("--runs", type=int, default=30, help="runs of each read, page and API")
    ap.add_argument("--locust", help="the locust command (default: beside this python, or on PATH)")
    args = ap.parse_args()
    locust = find_locust(args.locust)
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise SystemExit("uvicorn is not installed here: .venv/bin/pip install uvicorn==0.54.0 h11==0.16.0") from None
    started = time.perf_counter()
    server = server_dsn()
    with psycopg.connect(server, autocommit=True) as admin:
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    with scratch_db(server, "pggit_p8") as engine_dsn, scratch_db(server, "pggit_p8_django") as django_dsn:
        try:
            django_url = url_for(django_dsn)
            setup_django(django_url)
            log("building the repository")
            built = build_repository(engine_dsn, args)
            repo, token, cookies = people(engine_dsn)
            from django.db import connections

            connections.close_all()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = app_environment(django_url)
            proc = start_server(port, args.workers, env)
            try:
                log("page against API")
                side_by_side = page_against_api(base, repo.slug, token, cookies, args.runs)
                with tempfile.TemporaryDirectory(prefix="pggit-p8-") as folder:
                    rows = run_locust(locust, base, {"P8_TOKEN": token, "P8_SLUG": repo.slug, "P8_FROM": "main",
                                                     "P8_TO": "feature", "P8_BRANCH_PREFIX": "load-"},
                                      args.users, args.seconds, Path(folder))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        finally:
            drop_shadow(engine_dsn)
    report(args, server_version, built, side_by_side, rows, time.perf_counter() - started)


def drop_shadow(engine_dsn: str) -> None:
    from pggit import Client

    try:
        with Client(engine_dsn) as client:
            client.drop_shadow()
    except Exception as exc:
        log(f"could not drop the shadow database: {exc}")


def report(args, server_version, built, side_by_side, rows, elapsed) -> None:
    cpus = os.cpu_count()
    print()
    print(f"P8: the REST API under uvicorn ({args.workers} workers), PostgreSQL {server_version}, {cpus} CPUs")
    print(f"  repository: {built['objects']} objects on main, {built['commits']} commits on main, "
          f"{built['branches']} branches; compare main..feature: {built['compared']} objects")
    print()
    print(f"  the same read, page (session) and API (token), one at a time, {args.runs} runs: min / median")
    worst = 0.0
    for name, page_times, api_times in side_by_side:
        p_min, p_med = ms(page_times)
        a_min, a_med = ms(api_times)
        ratio = a_med / p_med
        worst = max(worst, ratio)
        print(f"    {name:<14} page {p_min:7.1f} / {p_med:7.1f} ms   API {a_min:7.1f} / {a_med:7.1f} ms   "
              f"API / page {ratio:5.2f}x")
    print(f"    goal: the API within {RATIO_GOAL}x of the page: worst {worst:.2f}x "
          f"({'met' if worst <= RATIO_GOAL else 'NOT met'})")
    print()
    print(f"  load: locust, {args.users} users, {args.seconds} s, 0.5-1.5 s between tasks")
    print(f"    {'request':<28} {'count':>7} {'errors':>7} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7}  (ms)")
    errors = 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        if row["Name"] == "Aggregated":
            print()
        else:
            errors += int(row["Failure Count"])
        print(f"    {name:<28} {int(row['Request Count']):>7} {int(row['Failure Count']):>7} "
              f"{float(row['Requests/s']):>8.1f} {row['50%']:>7} {row['95%']:>7} {row['99%']:>7}")
    print(f"    goal: 0 errors: {errors} ({'met' if errors == 0 else 'NOT met'})")
    print(f"  total run time {elapsed:.0f} s")


if __name__ == "__main__":
    main()
