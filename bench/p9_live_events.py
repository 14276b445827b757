"""P9: event to browser. How long after a change commits does an open page's websocket get it?

Set-up: a scratch database holds the repository (the engine, a table, branch ``feature`` with a
change and a merge request from it into ``main``, which needs 1 approval); Django's tables live in
a scratch database of their own (migrated here). Everything runs as in production, each in a
process of its own: the app under ``uvicorn`` (one worker, ``--ws websockets-sansio`` as runapp;
``pggit_web.asgi:debug_application``, which serves the static files too), ``manage.py pggit_listener``
(LISTENs on the repository database; woken by the engine's NOTIFY) and ``manage.py pggit_worker``
(django-tasks-db, woken by NOTIFY pggit_tasks), with Redis as the channel layer (REDIS_URL,
default redis://127.0.0.1:6379/0, under a channel prefix of its own). Poll intervals are the
settings' defaults: the NOTIFYs are what wake the listener and the worker.

A real headless Chromium (Playwright, /usr/bin/chromium) opens the pages with two people's
sessions; the pages' own script (static/js/live.js) dispatches ``pggit:event`` for each websocket
message, and a script added to the page stamps it with ``performance.timeOrigin +
performance.now()`` (the machine's wall clock, as Python's ``time.time()``; the offset between the
two is measured first and printed).

1. DDL from psql: ``CREATE TABLE`` through psycopg in a transaction of its own, as psql runs it,
   on the repository database, while the author's commit log is open. From the moment COMMIT is
   sent to the ``commit.captured`` message in the page. Path: engine NOTIFY -> listener reads the
   audit trail, writes the event and its task and, at its commit, sends it to Redis -> the
   uvicorn consumer (the reader's role, checked at most PGGIT_WS_RECHECK_SECONDS ago) -> the
   browser.
2. Approval from one browser to the other: the reviewer's page submits an approval (the form, as
   a person does: the clock starts when the page sees the button pressed, its ``pointerdown``; the
   time from Playwright's ``click()`` call, whose actionability checks come first, is printed
   too), the author's open merge request page gets
   ``merge_request.approved``. Path: the POST (the review is written with its event and task in
   one transaction) -> at its commit, the web process sends it to Redis -> consumer -> the
   author's browser (the worker, woken by NOTIFY pggit_tasks, runs the hooks after).

--events events each (after --warmup unmeasured ones), one at a time: the next starts when the
page has the previous one and has redrawn itself (live.js fetched the page again). Printed: p50,
p95, max, and p95 against the goal (250 ms) as a ratio; then each stage on the way (the POST as
the browser timed it, the event row's ``created_at``, ``sent_at`` when the worker had sent it to
Redis), and off the measured path the hooks (``delivered_at``) and the page's redraw.

3. Capture cost with NOTIFY added: bench/p1_capture.py --only create --notify both (the P1 ratio
   with the engine's NOTIFY must stay within 1.15x of plain DDL, as without it); --skip-p1 leaves
   it out.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/p9_live_events.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _build import log, url_for
from _common import scratch_db, server_dsn
from p8_api_load import app_environment, drop_shadow, free_port, setup_django

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
GOAL_P95_MS = 250.0

# Stamps every live event the page's script dispatches (static/js/live.js) with the wall clock.
ARRIVALS = """
window.__arrivals = [];
window.__redrawn = [];
document.addEventListener('pggit:event', e => window.__arrivals.push(
    {kind: e.detail.kind, id: e.detail.id, at: performance.timeOrigin + performance.now()}));
document.addEventListener('pggit:refreshed', () => window.__redrawn.push(performance.timeOrigin + performance.now()));
document.addEventListener('pointerdown', () => {
    const at = performance.timeOrigin + performance.now();
    if (window.pggitPressed) { window.pggitPressed(at); }
}, true);
"""


def build_repository(dsn: str) -> None:
    from pggit import Client

    with Client(dsn) as client:
        client.install()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.widgets (id integer PRIMARY KEY, label text NOT NULL)")
        client.create_branch("feature")
        client.apply("feature", "ALTER TABLE public.widgets ADD COLUMN colour text")


def people(engine_dsn: str):
    """The repository, an author with a merge request from ``feature`` and a reviewer; their
    session cookies (rows in the database the server reads)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client as WebClient

    from branches.access import grant
    from branches.models import BranchProtection, Repository, Role
    from merges import actions

    users = get_user_model().objects
    author = users.create_user("p9_author", email="p9a@example.com", password=uuid.uuid4().hex)
    reviewer = users.create_user("p9_reviewer", email="p9r@example.com", password=uuid.uuid4().hex)
    repo = Repository.objects.create(name="p9", dsn=engine_dsn)
    grant(repo, author, Role.DEVELOPER)
    grant(repo, reviewer, Role.REVIEWER)
    BranchProtection.objects.create(repository=repo, pattern="main", required_approvals=1)
    mr = actions.open_merge_request(author, repo, source="feature", target="main", title="P9 colours")
    cookies = {}
    for user in (author, reviewer):
        web = WebClient()
        web.force_login(user)
        cookies[user.username] = web.cookies[settings.SESSION_COOKIE_NAME].value
    return repo, mr, cookies


def start_processes(port: int, env: dict[str, str]) -> list[subprocess.Popen]:
    import requests

    full = {**os.environ, **env}
    quiet = ["--verbosity", "0"]
    procs = [
        subprocess.Popen([sys.executable, "-m", "uvicorn", "pggit_web.asgi:debug_application",
                          "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio", "--workers", "1",
                          "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=full),
        subprocess.Popen([sys.executable, "manage.py", "pggit_listener", *quiet], cwd=ROOT, env=full,
                         stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "manage.py", "pggit_worker", *quiet], cwd=ROOT, env=full,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                stop_processes(procs)
                raise SystemExit(f"{' '.join(map(str, proc.args))} exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/", timeout=2).status_code == 200:
                return procs
        except requests.RequestException:
            pass
        time.sleep(0.3)
    stop_processes(procs)
    raise SystemExit("uvicorn did not answer /health/ within 60 s")


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_listener(repo, timeout: float = 30) -> None:
    """Until the listener has read the repository's audit trail once: later changes are events."""
    from django.db import close_old_connections

    from monitoring.models import ListenerCursor

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if ListenerCursor.objects.filter(repository=repo).exists():
            return
        time.sleep(0.1)
    raise SystemExit("the listener did not read the repository within 30 s")


def open_page(context, url: str):
    page = context.new_page()
    page.add_init_script(ARRIVALS)
    page.goto(url)
    page.wait_for_selector("#live-socket[data-live-state=open]", state="attached", timeout=20_000)
    return page


def arrivals(page, kind: str) -> list[dict]:
    return page.evaluate("k => window.__arrivals.filter(a => a.kind === k)", kind)


def wait_for(page, kind: str, count: int, timeout_ms: int = 20_000) -> dict:
    """The ``count``-th arrival of ``kind`` on ``page``: {id, at} (at: ms since the epoch)."""
    page.wait_for_function("([k, n]) => window.__arrivals.filter(a => a.kind === k).length >= n",
                           arg=[kind, count], timeout=timeout_ms, polling=5)
    return arrivals(page, kind)[count - 1]


def wait_for_redraw(page, after: float, timeout_ms: int = 20_000) -> float | None:
    """When ``page`` was first redrawn (live.js's ``pggit:refreshed``) after ``after`` (ms since
    the epoch); None if it was not within the timeout."""
    try:
        page.wait_for_function("t => window.__redrawn.some(r => r >= t)", arg=after, timeout=timeout_ms, polling=5)
    except Exception:  # playwright's TimeoutError: counted as missing
        return None
    return page.evaluate("t => window.__redrawn.find(r => r >= t)", after)


class Sample:
    """One event: when it was started (Python's clock, ms), its id, when the page had it."""

    def __init__(self, sent_ms: float, arrival: dict, redrawn: float | None = None, post: tuple | None = None,
                 called: float | None = None):
        self.sent = sent_ms
        self.called = called  # the approval: when Playwright's click() was called (sent: the press in the page)
        self.event_id = arrival["id"]
        self.arrived = arrival["at"]
        self.redrawn = redrawn  # the page redrawn after the event (live.js fetched it)
        self.post = post  # the approval's POST as the browser saw it: (sent, response received), ms
        self.recorded = self.to_pages = self.delivered = None

    @property
    def total(self) -> float:
        return self.arrived - self.sent


def add_stages(samples: list["Sample"]) -> None:
    """When each event's row was written (``created_at``: the listener, or the approval's
    transaction), when the worker had sent it to the pages (``sent_at``: after its group_send to
    Redis) and when it had run the hooks too (``delivered_at``)."""
    from django.db import close_old_connections

    from monitoring.models import Event

    close_old_connections()
    rows = {e.pk: e for e in Event.objects.filter(pk__in=[s.event_id for s in samples])}
    for s in samples:
        event = rows[s.event_id]
        s.recorded = event.created_at.timestamp() * 1000
        s.to_pages = event.sent_at.timestamp() * 1000 if event.sent_at else None
        s.delivered = event.delivered_at.timestamp() * 1000 if event.delivered_at else None


def clock_offset_ms(page) -> float:
    """Page clock minus Python's, from a round trip (its midpoint); a few tenths of a ms at most."""
    best = None
    for _ in range(20):
        t0 = time.time()
        at = page.evaluate("performance.timeOrigin + performance.now()")
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, at - (t0 + t1) / 2 * 1000)
    return best[1]


def ddl_latencies(page, dsn: str, n: int, warmup: int) -> list[Sample]:
    out = []
    with psycopg.connect(dsn) as conn:
        for i in range(warmup + n):
            conn.execute(f"CREATE TABLE public.p9_t{i} (id integer PRIMARY KEY, label text)")
            sent = time.time()
            conn.commit()
            arrived = wait_for(page, "commit.captured", i + 1)
            redrawn = wait_for_redraw(page, arrived["at"])
            if i >= warmup:
                out.append(Sample(sent * 1000, arrived, redrawn))
            time.sleep(0.05)
    return out


def approval_latencies(author_page, reviewer_page, n: int, warmup: int) -> list[Sample]:
    out = []
    posts = []

    def finished(request):
        if request.method == "POST":
            t = request.timing  # ms: startTime since the epoch, the rest from it
            posts.append((t["startTime"], t["startTime"] + t["responseStart"]))

    reviewer_page.on("requestfinished", finished)
    presses = []
    reviewer_page.expose_function("pggitPressed", lambda at: presses.append(at))  # (the press's time is taken in the page)
    form = reviewer_page.locator("#review-box")
    for i in range(warmup + n):
        form.locator("textarea[name=body]").fill(f"approval {i}")
        form.locator("#verdict-approve input[type=radio]").check()
        posts.clear()
        presses.clear()
        with reviewer_page.expect_navigation():
            called = time.time() * 1000
            form.locator("button[type=submit]").click()
        arrived = wait_for(author_page, "merge_request.approved", i + 1)
        redrawn = wait_for_redraw(author_page, arrived["at"])
        reviewer_page.wait_for_selector("#live-socket[data-live-state=open]", state="attached", timeout=20_000)
        if i >= warmup:
            out.append(Sample(presses[0], arrived, redrawn, posts[0] if posts else None, called))
    return out


def p50_p95(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=100, method="inclusive")[94]


def summary(label: str, samples: list[Sample], first_stage: str) -> None:
    values = [s.total for s in samples]
    p50, p95 = p50_p95(values)
    print(f"P9 {label}: {len(values)} events")
    print(f"  p50 {p50:.1f} ms, p95 {p95:.1f} ms, min {min(values):.1f} ms, max {max(values):.1f} ms, "
          f"mean {statistics.fmean(values):.1f} ms")
    print(f"  goal p95 < {GOAL_P95_MS:.0f} ms: p95 is {p95 / GOAL_P95_MS:.2f}x the goal "
          f"({'met' if p95 < GOAL_P95_MS else 'NOT met'})")
    add_stages(samples)
    sent = [s for s in samples if s.to_pages is not None]
    print(f"  by stage ({len(sent)} events; p50 and p95 of each stage, so they need not add up):")
    stages = []
    posted = [s for s in sent if s.post is not None]
    if posted:
        stages += [("the press (pointerdown in the page) -> the POST leaves the browser",
                    [s.post[0] - s.sent for s in posted]),
                   ("the POST sent -> event row (middleware, the view's checks, the review in its transaction)",
                    [s.recorded - s.post[0] for s in posted])]
    else:
        stages.append((first_stage, [s.recorded - s.sent for s in sent]))
    stages += [("event row -> sent to the pages (the rest of its transaction, COMMIT, then the process that "
                "recorded it locks the row and group_sends to Redis)", [s.to_pages - s.recorded for s in sent]),
               ("sent -> in the page (Redis, the consumer, websocket, browser)", [s.arrived - s.to_pages for s in sent])]
    for name, vals in stages:
        a, b = p50_p95(vals)
        print(f"    {name}: p50 {a:.1f} ms, p95 {b:.1f} ms")
    print("  off the path measured:")
    off = []
    if posted:
        off.append(("the POST's response (302) in the browser, from the press", [s.post[1] - s.sent for s in posted]))
    called = [s for s in samples if s.called is not None]
    if called:
        off.append(("Playwright's click() called -> the press in the page (its actionability checks)",
                    [s.sent - s.called for s in called]))
        off.append(("TOTAL from Playwright's click() call (the figure before the press was stamped)",
                    [s.arrived - s.called for s in called]))
    done = [s for s in sent if s.delivered is not None]
    off.append(("sent -> delivered (the hooks: alert rules, notifications)", [s.delivered - s.to_pages for s in done]))
    redrawn = [s for s in samples if s.redrawn is not None]
    if redrawn:
        off.append((f"in the page -> page redrawn (live.js fetches the page; {len(redrawn)} redraws)",
                    [s.redrawn - s.arrived for s in redrawn]))
        off.append(("start -> page redrawn", [s.redrawn - s.sent for s in redrawn]))
    for name, vals in off:
        a, b = p50_p95(vals)
        print(f"    {name}: p50 {a:.1f} ms, p95 {b:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200, help="measured events of each kind")
    ap.add_argument("--warmup", type=int, default=5, help="events before those measured")
    ap.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    ap.add_argument("--skip-p1", action="store_true", help="leave out P1 with NOTIFY off and on")
    ap.add_argument("--p1-statements", type=int, default=2000)
    args = ap.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    server = server_dsn()
    with psycopg.connect(server, autocommit=True) as admin:
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    print(f"P9 event to browser: PostgreSQL {server_version}, Redis {args.redis}, {os.cpu_count()} CPUs "
          f"(load average {os.getloadavg()[0]:.1f}); uvicorn (1 worker), pggit_listener and pggit_worker as "
          "processes; headless Chromium")
    os.environ["REDIS_URL"] = args.redis
    os.environ["CHANNEL_LAYER_PREFIX"] = f"pggit-p9-{uuid.uuid4().hex[:8]}"
    with scratch_db(server, "pggit_p9") as engine_dsn, scratch_db(server, "pggit_p9_django") as django_dsn:
        procs = []
        try:
            django_url = url_for(django_dsn)
            setup_django(django_url)
            log("building the repository")
            build_repository(engine_dsn)
            repo, mr, cookies = people(engine_dsn)
            from django.db import connections

            connections.close_all()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**app_environment(django_url), "REDIS_URL": args.redis,
                   "CHANNEL_LAYER_PREFIX": os.environ["CHANNEL_LAYER_PREFIX"]}
            procs = start_processes(port, env)
            wait_for_listener(repo)
            from django.conf import settings
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                contexts = {}
                for name, value in cookies.items():
                    contexts[name] = browser.new_context(base_url=base)
                    contexts[name].add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": value,
                                                 "url": base}])
                log("1. DDL through psycopg -> the author's open commit log")
                log_page = open_page(contexts["p9_author"], f"/repos/{repo.slug}/commits/")
                offset = clock_offset_ms(log_page)
                print(f"  page clock - Python clock: {offset:+.2f} ms (not corrected)")
                ddl = ddl_latencies(log_page, engine_dsn, args.events, args.warmup)
                log_page.close()
                log("2. approval in the reviewer's browser -> the author's open merge request page")
                url = f"/repos/{repo.slug}/merge-requests/{mr.number}/"
                author_page = open_page(contexts["p9_author"], url)
                reviewer_page = open_page(contexts["p9_reviewer"], url)
                approvals = approval_latencies(author_page, reviewer_page, args.events, args.warmup)
                browser.close()
            print(f"P9 measured with the machine's load average at {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            summary("DDL commit (psycopg, as psql) -> websocket message in the browser", ddl,
                    "COMMIT sent -> event row (engine NOTIFY, listener reads the audit trail)")
            summary("approval in one browser (from the press on its button) -> websocket message in the other",
                    approvals, "press -> event row (the POST: the review and its event)")
        finally:
            stop_processes(procs)
            drop_shadow(engine_dsn)
    if not args.skip_p1:
        print("P1 with the engine's NOTIFY off and on (bench/p1_capture.py --only create --notify both):", flush=True)
        subprocess.run([sys.executable, str(BENCH / "p1_capture.py"), "--only", "create", "--notify", "both",
                        "--statements", str(args.p1_statements)], check=True,
                       env={**os.environ, "PGGIT_BENCH_DSN": server})  # DATABASE_URL is Django's scratch one now


if __name__ == "__main__":
    main()
