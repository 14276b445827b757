"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, headless) against
the app served by pytest-django's ``live_server``.

The browser is launched here with ``playwright.sync_api`` rather than through pytest-playwright's
session-wide ``browser`` fixture, so that Playwright's event loop (which runs in the test
thread) exists only while this folder's tests run: Django refuses ORM calls from a thread with a
running event loop unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set, and that is set here, for the
same span, not for the whole test session.

Without /usr/bin/chromium the tests fail (never skip) with the command that installs it.
Screenshots go to ``test-artifacts/screenshots/<test name>/NN-<step>.png`` (plus
``failure.png`` when a test fails).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import psycopg
import pytest

# Users, the throwaway engine database and the repository with roles: the web tests' fixtures.
from web.conftest import (  # noqa: F401  (fixtures are found by name)
    PASSWORD,
    author,
    console_role,
    engine_db,
    maintainer,
    make_role,
    repo,
    reviewer,
    server,
    throwaway_db,
    throwaway_dbname,
    viewer,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = (
    f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with\n"
    "    sudo apt-get update && sudo apt-get install -y chromium chromium-driver\n"
    "(`python3 dev.py test` and .ci/run do this themselves when run as root with apt-get).")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 30_000  # an engine merge verifies in the shadow database: seconds, not minutes


@pytest.fixture(scope="package")
def chromium():
    """One headless Chromium for this folder's tests."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(INSTALL_HINT, pytrace=False)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.fail(f"{CHROMIUM} did not start: {exc}\n\n{INSTALL_HINT}", pytrace=False)
        yield browser
        browser.close()
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def tab(chromium, live_server, request):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server.

    (Not called ``page``: pytest-playwright would parametrize every test using that name.)"""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    server_errors: list[str] = []
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 500 else None)
    csp_violations = watch_csp(page)
    yield page
    report = getattr(request.node, "report_call", None)  # set by pytest_runtest_makereport above
    if report is not None and report.failed:
        folder = screenshot_folder(request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(folder / "failure.png"), full_page=True)
        except Exception:
            pass
    context.close()
    problems = []
    if server_errors:
        problems.append("the server answered with an error (traceback in the captured log):\n  " + "\n  ".join(server_errors))
    if csp_violations:
        problems.append("a page broke the Content-Security-Policy:\n  " + "\n  ".join(csp_violations))
    if problems:
        message = "\n".join(problems)
        if report is not None and report.failed:
            print(message, file=sys.stderr)  # shown with the failure, under "Captured stderr teardown"
        else:  # a 500 or a blocked script anywhere in a flow is a defect, even when the page's checks passed
            pytest.fail(message, pytrace=False)


def watch_csp(page) -> list[str]:
    """What ``page`` reports breaking the Content-Security-Policy (pggit_web/settings.py), a list
    that grows as it browses: Chromium writes a blocked inline script, style or handler on the
    console ("Refused to ... Content Security Policy ...") and fires securitypolicyviolation,
    which a script added to every document writes on the console too. Call before browsing."""
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' on ' + e.documentURI));")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(f"{m.text} ({page.url})")
            if "Content Security Policy" in m.text or m.text.startswith("CSP violation") else None)
    return violations


def screenshot_folder(test_name: str) -> Path:
    return SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)


@pytest.fixture
def shot(tab, request):
    """``shot("step")`` saves a full-page screenshot as NN-step.png in this test's folder."""
    folder = screenshot_folder(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(step: str) -> Path:
        taken.append(step)
        path = folder / f"{len(taken):02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(tab):
    """``sign_in(user)``: sign out whoever is signed in, then sign in on allauth's login page."""
    from playwright.sync_api import expect

    def go(user):
        tab.context.clear_cookies()
        tab.goto("/accounts/login/")
        tab.locator("input[name=login]").fill(user.get_username())
        tab.locator("input[name=password]").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#signed-in-as")).to_have_text(user.get_username())

    return go


@pytest.fixture
def live_sql(repo):
    """``live_sql(sql)`` runs SQL on the repository's live database (autocommit) and returns rows."""

    def run(sql, params=None):
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    return run


@pytest.fixture
def engine(repo):
    """The engine client on the repository's database, to check what the pages did."""
    from pggit.client import Client

    with Client(repo.dsn) as client:
        yield client
