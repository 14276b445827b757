"""The REST API's documentation pages in a real browser, under the site's Content-Security-Policy:
Swagger UI and Redoc come from vendored static files, run, and show the schema (the ``tab``
fixture fails a test on any CSP violation or server error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser.conftest import PASSWORD, TIMEOUT_MS, watch_csp

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_shows_the_operations(tab, sign_in, author, live_server):
    outside = []  # nothing is loaded from another origin (no CDN)
    tab.on("request", lambda r: None if r.url.startswith((live_server.url, "data:", "blob:")) else outside.append(r.url))
    sign_in(author)
    tab.goto("/api/v1/docs/")
    expect(tab.locator(".opblock-summary-path", has_text="/api/v1/repositories/").first).to_be_visible(timeout=TIMEOUT_MS)
    assert outside == []


def test_redoc_shows_the_operations_and_fetches_nothing_from_elsewhere(chromium, live_server, author):
    """Redoc's bundle always adds Redocly's logo from their CDN to its sidebar: the policy blocks
    it (that one refusal is expected, nothing else), so no request leaves the site."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    violations = watch_csp(tab)
    fetched = []
    tab.on("requestfinished", lambda r: fetched.append(r.url))
    try:
        tab.goto("/accounts/login/")
        tab.locator("input[name=login]").fill(author.get_username())
        tab.locator("input[name=password]").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.locator("#signed-in-as")).to_have_text(author.get_username())
        tab.goto("/api/v1/redoc/")
        expect(tab.get_by_text("pgGit API").first).to_be_visible(timeout=TIMEOUT_MS)  # a 2 MB bundle to parse
        expect(tab.get_by_text("/api/v1/repositories/{slug}/branches/").first).to_be_attached(timeout=TIMEOUT_MS)
        tab.wait_for_timeout(300)  # violation events are queued
        assert [u for u in fetched if not u.startswith((live_server.url, "data:", "blob:"))] == []
        assert all("cdn.redoc.ly/redoc/logo-mini.svg" in v for v in violations), violations
    finally:
        context.close()
