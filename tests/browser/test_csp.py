"""The Content-Security-Policy in a real browser: inline code is refused (and the check that the
review flow passes it does see a refusal), and what inline handlers did before, static/js/pggit.js
does now: a confirmation before deleting a branch, the live-database warning in the console."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser.conftest import watch_csp

pytestmark = pytest.mark.django_db(transaction=True)


def test_inline_code_is_refused_and_reported(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    violations = watch_csp(page)
    try:
        page.goto("/accounts/login/")
        ran = page.evaluate("""() => {
            window.inlineRan = false;
            const script = document.createElement('script');
            script.textContent = 'window.inlineRan = true';
            document.body.appendChild(script);
            const style = document.createElement('style');
            style.textContent = 'body { background: rgb(255, 0, 0) }';
            document.head.appendChild(style);
            return window.inlineRan;
        }""")
        assert ran is False
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
        page.wait_for_timeout(200)  # violation events are queued
        assert any("script-src" in v for v in violations), violations
        assert any("style-src" in v for v in violations), violations
    finally:
        context.close()


def test_deleting_a_branch_asks_first_and_cancel_keeps_it(tab, sign_in, repo, author, engine):
    sign_in(author)
    tab.goto(f"/repos/{repo.slug}/branches/")
    row = tab.locator('tr[data-branch="feature-colors"]')
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    tab.once("dialog", lambda d: answer(d, False))
    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_visible()
    assert questions == ["Delete this branch?"]
    assert "feature-colors" in [b["name"] for b in engine.branches()]

    tab.once("dialog", lambda d: answer(d, True))
    row.get_by_role("button", name="Delete").click()
    expect(tab.locator('tr[data-branch="feature-colors"]')).to_have_count(0)
    assert "feature-colors" not in [b["name"] for b in engine.branches()]


def test_console_warns_only_while_the_checked_out_branch_is_chosen(tab, sign_in, repo, maintainer):
    sign_in(maintainer)
    tab.goto(f"/repos/{repo.slug}/console/")
    warning = tab.locator("#live-warning")
    select = tab.locator("select[name=branch]")
    select.select_option("feature-colors")
    expect(warning).to_be_hidden()
    select.select_option("main")
    expect(warning).to_be_visible()


def test_console_offers_to_record_drift_only_while_the_checked_out_branch_is_chosen(tab, sign_in, repo, maintainer):
    import psycopg

    with psycopg.connect(repo.dsn) as conn:  # a change behind the engine's back
        conn.execute("SET LOCAL pggit.capture = off")
        conn.execute("ALTER TABLE public.widgets ADD COLUMN sneaky text")
    sign_in(maintainer)
    tab.goto(f"/repos/{repo.slug}/console/")  # the picker starts on HEAD
    drift, consent = tab.locator("#drift-warning"), tab.locator("#with-drift-row")
    expect(drift).to_be_visible()
    expect(drift).to_contain_text("table public.widgets")
    expect(consent).to_be_visible()
    tab.locator("select[name=branch]").select_option("feature-colors")
    expect(drift).to_be_hidden()
    expect(consent).to_be_hidden()
    tab.locator("select[name=branch]").select_option("main")
    expect(consent).to_be_visible()
