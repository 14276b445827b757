"""Layout in a real browser (issue 14, defects 5 and 6): at a phone's 390 px nothing overflows and
"Sign out" is whole; the conflicts page keeps the centred layout of the other pages; the
dashboard's "Check out" asks before it migrates the live database."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merges import actions

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
# the elements that reach past the viewport's right edge, innermost last (said when a page overflows)
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(-8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')"""


def conflict_request(repo, engine, live_sql, author):
    engine.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
    live_sql("ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main",
                                    title="A long title for the colours of every widget in the shop")
    actions.open_conflicts(author, mr)
    return mr


def test_at_390_px_no_page_overflows_and_sign_out_is_whole(tab, sign_in, shot, engine, live_sql, repo, author):
    page = tab
    mr = conflict_request(repo, engine, live_sql, author)
    sign_in(author)
    page.set_viewport_size(PHONE)
    base = f"/repos/{repo.slug}"
    for path in ("/", f"{base}/", f"{base}/branches/", f"{base}/commits/", f"{base}/merge-requests/",
                 f"{base}/merge-requests/{mr.number}/", f"{base}/merge-requests/{mr.number}/conflicts/",
                 f"{base}/objects/?identity=table+public.widgets", "/accounts/password/change/"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (f"{path} is {width} px wide at {PHONE['width']} px; too wide: "
                                         + page.evaluate(WIDEST))
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_visible()
        box = sign_out.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (path, box)
        clipped = sign_out.evaluate("b => b.scrollWidth > b.clientWidth + 1")
        assert not clipped, path
        shot(path.strip("/").replace("/", "-") or "repositories")


def test_conflicts_page_keeps_the_centred_layout(tab, sign_in, shot, engine, live_sql, repo, author):
    page = tab
    mr = conflict_request(repo, engine, live_sql, author)
    sign_in(author)
    page.goto(f"/repos/{repo.slug}/merge-requests/{mr.number}/")
    detail = page.locator("main").bounding_box()
    page.goto(f"/repos/{repo.slug}/merge-requests/{mr.number}/conflicts/")
    expect(page.locator("#conflict-identity")).to_have_text("table public.widgets")
    conflicts = page.locator("main").bounding_box()
    header = page.locator(".site-header .wrap").bounding_box()
    assert (conflicts["x"], conflicts["width"]) == (detail["x"], detail["width"])
    assert abs(conflicts["x"] - header["x"]) < 1 and abs(conflicts["width"] - header["width"]) < 1
    shot("conflicts-centred")


def test_dashboard_check_out_asks_first_and_cancel_migrates_nothing(tab, sign_in, shot, engine, repo, maintainer):
    page = tab
    engine.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    sign_in(maintainer)
    page.goto(f"/repos/{repo.slug}/")
    page.locator("#checkout-branch").select_option("feature-colors")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("#checkout-box").get_by_role("button", name="Check out").click()
    expect(page.locator("#current-branch")).to_have_text("main")
    assert asked == ["Check out this branch? The live database will be migrated to its head."]
    assert engine.current_branch() == "main"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#checkout-box").get_by_role("button", name="Check out").click()
    expect(page.locator(".messages")).to_contain_text("Checked out feature-colors")
    assert engine.current_branch() == "feature-colors"
    shot("checked-out")
