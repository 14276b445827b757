"""Live pages in a real browser: two people on the app served over ASGI (websockets) with the
worker and the listener running (tests/live_asgi.py), the channel layer on the real Redis.

A page that is redrawn in place keeps what the test set on its ``window`` (a reload would lose
it), which is how these tests tell "updated live" from "reloaded"."""

from __future__ import annotations

import re

import psycopg
import pytest
from playwright.sync_api import expect

from browser.conftest import PASSWORD, TIMEOUT_MS, screenshot_folder, watch_csp
from live_asgi import live_app  # noqa: F401  (fixtures)
from web.conftest import outsider  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_MS = 10_000  # an event reaches an open page in well under a second; generous for a busy machine


@pytest.fixture
def people(chromium, live_app, request):
    """``people.open(user)``: a browser context of its own for ``user``, signed in; closed after
    the test (a screenshot of each page when the test failed), with no CSP violation allowed."""
    opened = []

    class People:
        def open(self, user):
            context = chromium.new_context(base_url=live_app.url, viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            violations = watch_csp(page)
            opened.append((user, page, violations))
            page.goto("/accounts/login/")
            page.locator("input[name=login]").fill(user.get_username())
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#signed-in-as")).to_have_text(user.get_username())
            return page

    yield People()
    report = getattr(request.node, "report_call", None)
    problems = []
    for user, page, violations in opened:
        if report is not None and report.failed:
            folder = screenshot_folder(request.node.name)
            folder.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(folder / f"failure-{user.get_username()}.png"), full_page=True)
            except Exception:
                pass
        problems += violations
        page.context.close()
    if problems and not (report is not None and report.failed):
        pytest.fail("a page broke the Content-Security-Policy:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def snap(request):
    """``snap(page, "step")``: a full-page screenshot NN-step.png in this test's folder."""
    import shutil

    folder = screenshot_folder(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(page, step):
        taken.append(step)
        page.screenshot(path=str(folder / f"{len(taken):02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"),
                        full_page=True)

    return take


def mark_and_wait_for_socket(page):
    """Set a marker on ``window`` (gone after any navigation) and wait until the page's socket is open."""
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#live-socket")).to_have_attribute("data-live-state", "open", timeout=LIVE_MS)


def assert_not_reloaded(page):
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded, not updated in place"


def test_author_page_shows_reviewers_approval_and_comment_without_reload(people, snap, repo, author, reviewer):
    from merges import actions

    from pggit.client import Client

    with Client(repo.dsn) as client:
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN colour text")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colours")
    url = f"/repos/{repo.slug}/merge-requests/{mr.number}/"

    ada = people.open(author)
    ada.goto(url)
    expect(ada.locator("#mb-approvals")).to_contain_text("0 of 1 required approval")
    expect(ada.locator("#side-approvals .counter")).to_have_text("0/1")
    mark_and_wait_for_socket(ada)
    ada.locator("#comment-box textarea").fill("half-written reply")  # outside every live region
    snap(ada, "author-before")

    rex = people.open(reviewer)
    rex.goto(url)
    rex.locator("#comment-box textarea").fill("Why colour and not color?")
    rex.locator("#comment-box").get_by_role("button", name="Comment", exact=True).click()
    expect(rex.locator(".messages")).to_be_visible()

    timeline = ada.locator("#timeline")
    expect(timeline).to_contain_text("Why colour and not color?", timeout=LIVE_MS)
    expect(timeline).to_contain_text(reviewer.get_username())
    assert_not_reloaded(ada)

    rex.locator("#review-box").get_by_label("Review").fill("Colour it is.")
    rex.locator("#verdict-approve").get_by_role("radio").check()
    rex.get_by_role("button", name="Submit review").click()
    expect(rex.locator(".messages")).to_contain_text("Approved.")

    # the approval, the merge box re-evaluated, the sidebar and the header's state badge
    expect(ada.locator("#mb-approvals")).to_contain_text("1 of 1 required approval", timeout=LIVE_MS)
    expect(ada.locator("#side-approvals .counter")).to_have_text("1/1")
    expect(ada.locator("#side-approvals")).to_contain_text(reviewer.get_username())
    expect(ada.locator("#timeline")).to_contain_text("approved these changes")
    expect(ada.locator("#mr-head [data-state]")).to_have_attribute("data-state", "approved")
    expect(ada.locator("#merge-box")).to_have_class(re.compile(r"\bstate-approved\b"))
    assert_not_reloaded(ada)
    expect(ada.locator("#comment-box textarea")).to_have_value("half-written reply")  # typing survives
    snap(ada, "author-after-approval")
    mr.refresh_from_db()
    assert mr.state == "approved"


def test_a_new_commit_on_the_source_dismisses_the_approval_on_the_open_page(people, snap, live_app, repo, author,
                                                                           reviewer):
    """A commit on the source from outside the app (the engine, as psql or the CLI would) reaches
    the open conversation tab through the repository's socket; the page's own fetch reconciles
    the request (actions.sync), which dismisses the approval and tells the request's socket."""
    from merges import actions
    from merges.models import Review

    from pggit.client import Client

    with Client(repo.dsn) as client:
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN colour text")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colours")
    actions.approve(reviewer, mr, "fine")
    ada = people.open(author)
    ada.goto(f"/repos/{repo.slug}/merge-requests/{mr.number}/")
    live_app.wait_for_listener(repo)
    expect(ada.locator("#mb-approvals")).to_contain_text("1 of 1 required approval")
    expect(ada.locator("#commit-count")).to_have_text("1")
    mark_and_wait_for_socket(ada)
    expect(ada.locator("#live-socket-repo")).to_have_attribute("data-live-state", "open")

    with Client(repo.dsn) as client:
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN size integer")

    expect(ada.locator("#commit-count")).to_have_text("2", timeout=LIVE_MS)
    expect(ada.locator("#mb-approvals")).to_contain_text("0 of 1 required approval", timeout=LIVE_MS)
    expect(ada.locator("#timeline .dismissed-note")).to_contain_text("new commits on the source")
    assert_not_reloaded(ada)
    snap(ada, "approval-dismissed-by-a-new-commit")
    assert Review.objects.get(merge_request=mr, reviewer=reviewer).dismissed


def test_create_table_from_psql_appears_on_an_open_commit_log(people, snap, live_app, repo, author):
    ada = people.open(author)
    ada.goto(f"/repos/{repo.slug}/commits/")
    live_app.wait_for_listener(repo)
    mark_and_wait_for_socket(ada)
    before = ada.locator("#log tr[data-commit]").count()
    snap(ada, "log-before")

    with psycopg.connect(repo.dsn) as conn:  # what psql does: a statement, then COMMIT
        conn.execute("CREATE TABLE public.gadgets (id integer PRIMARY KEY)")
        conn.commit()
        head = conn.execute("SELECT pggit.resolve('main')").fetchone()[0]

    row = ada.locator(f'#log tr[data-commit="{head}"]')
    expect(row).to_be_visible(timeout=LIVE_MS)
    expect(ada.locator("#log tr[data-commit]")).to_have_count(before + 1)
    expect(ada.locator("#log tr[data-commit]").first).to_have_attribute("data-commit", head)
    assert_not_reloaded(ada)
    snap(ada, "log-after-create-table")


def test_a_checkout_from_the_cli_and_drift_found_update_the_open_dashboard(people, snap, live_app, repo, maintainer):
    """A checkout run with the CLI (not the page) moves HEAD on the open dashboard: the heading, the
    About box and the checkout box's selection; the drift box, which loads itself after the page,
    loads again when the drift check finds DDL run behind the engine's back."""
    import subprocess
    import sys

    from monitoring.alerts import run_checks
    from monitoring.models import AlertRule

    mia = people.open(maintainer)
    mia.goto(f"/repos/{repo.slug}/")
    live_app.wait_for_listener(repo)
    expect(mia.locator("#about-head")).to_have_text("main")
    expect(mia.locator("#checkout-branch")).to_have_value("main")
    expect(mia.locator("#drift")).to_contain_text("None: the live schema matches HEAD")
    mark_and_wait_for_socket(mia)
    snap(mia, "dashboard-on-main")

    cli = subprocess.run([sys.executable, "-m", "pggit", "--dsn", repo.dsn, "checkout", "feature-colors"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr

    expect(mia.locator("#current-branch")).to_have_text("feature-colors", timeout=LIVE_MS)
    expect(mia.locator("#about-head")).to_have_text("feature-colors", timeout=LIVE_MS)
    expect(mia.locator("#checkout-branch")).to_have_value("feature-colors", timeout=LIVE_MS)
    expect(mia.locator("#drift")).to_contain_text("None: the live schema matches HEAD")
    assert_not_reloaded(mia)
    snap(mia, "dashboard-after-cli-checkout")

    with psycopg.connect(repo.dsn, autocommit=True) as conn:  # DDL behind the engine's back: drift
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("CREATE TABLE public.sneaky (id integer)")
    AlertRule.objects.filter(repository=repo).update(checked_at=None)  # the periodic check is due
    assert run_checks() == 1  # the worker's periodic job; the worker thread runs the check it enqueues

    expect(mia.locator("#drift .drift-found")).to_contain_text("1 object changed", timeout=LIVE_MS)
    expect(mia.locator("#drift")).to_contain_text("table public.sneaky")
    assert_not_reloaded(mia)
    snap(mia, "dashboard-drift-found")
    assert repo.events.filter(kind="drift.found").count() == 1


def test_a_rolled_back_statement_leaves_the_open_commit_log_alone(people, live_app, repo, author):
    ada = people.open(author)
    ada.goto(f"/repos/{repo.slug}/commits/")
    live_app.wait_for_listener(repo)
    mark_and_wait_for_socket(ada)
    ada.evaluate("window.__events = []; document.addEventListener('pggit:event', e => window.__events.push(e.detail.kind))")
    heads = ada.locator("#log tr[data-commit]").evaluate_all("rows => rows.map(r => r.dataset.commit)")
    with psycopg.connect(repo.dsn) as conn:
        conn.execute("CREATE TABLE public.never (id integer)")
        conn.rollback()
        conn.execute("COMMENT ON TABLE public.widgets IS 'seen'")  # then one that commits
        conn.commit()
    expect(ada.locator("#log tr[data-commit]")).to_have_count(len(heads) + 1, timeout=LIVE_MS)
    assert ada.evaluate("window.__events") == ["commit.captured"]
    assert_not_reloaded(ada)


def test_an_outsiders_socket_is_refused(people, live_app, repo, author, outsider):
    """The outsider cannot open the repository's pages (404), nor its socket from a page of the site."""
    otto = people.open(outsider)
    response = otto.goto(f"/repos/{repo.slug}/commits/")
    assert response.status == 404
    assert otto.locator("[data-live-socket]").count() == 0
    outcome = otto.evaluate("""path => new Promise(done => {
        const socket = new WebSocket('ws://' + location.host + path);
        socket.onopen = () => done('open');
        socket.onclose = e => done('closed ' + e.code);
    })""", f"/ws/repos/{repo.slug}/")
    assert outcome.startswith("closed"), outcome
    ada = people.open(author)  # the same socket from a member's page opens
    assert ada.evaluate("""path => new Promise(done => {
        const socket = new WebSocket('ws://' + location.host + path);
        socket.onmessage = e => done(JSON.parse(e.data).kind);
        socket.onclose = e => done('closed ' + e.code);
    })""", f"/ws/repos/{repo.slug}/") == "hello"
