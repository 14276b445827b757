"""Search, labels and keyboard shortcuts in a real browser (issue 14, second pass): `/` focuses the
repository's search box, the search from the header finds a merge request and an object, a label
filter narrows the merge request list (its chip coloured by static/js/pggit.js, no style
attribute: the CSP), `g` `m` goes to the merge requests and `?` shows the shortcuts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merges import actions
from merges.models import Label

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_label_filter_and_shortcuts(tab, shot, sign_in, engine, repo, author, maintainer):
    page = tab
    engine.create_branch("feature-two", "main")
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    colours = actions.open_merge_request(author, repo, source="feature-colors", target="main",
                                         title="Colours for widgets")
    actions.open_merge_request(maintainer, repo, source="feature-two", target="main", title="Second thoughts")
    actions.set_labels(author, colours, ["bug"])

    sign_in(author)
    page.goto(f"/repos/{repo.slug}/")
    search = page.locator("#repo-search-input")
    expect(search).not_to_be_focused()

    # "/" focuses the search box; typing "/" in it then is plain text --------------------------
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.type("colours")
    expect(search).to_have_value("colours")
    shot("search-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/repos/{repo.slug}/search/\?q=colours$"))
    found = page.locator('#search-merge-requests [data-result="merge-request"]')
    expect(found).to_have_count(1)
    expect(found).to_contain_text(f"!{colours.number} Colours for widgets")
    shot("search-merge-request")
    found.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/merge-requests/{colours.number}/$"))
    expect(page.locator("#side-labels p.labels [data-label=bug]")).to_have_css("background-color", "rgb(215, 58, 74)")

    # an object, from the header's box on any repository page --------------------------------
    page.locator("#repo-search-input").fill("widgets")
    page.locator("#repo-search").get_by_role("button", name="Search").click()
    objects = page.locator('#search-objects [data-result="object"]')
    expect(objects.filter(has_text="table public.widgets")).to_have_count(1)
    shot("search-object")
    objects.filter(has_text="table public.widgets").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/objects/\?identity=table\+public\.widgets$"))

    # g m: the merge requests; the label filter narrows the list -------------------------------
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("g")
    page.keyboard.press("m")
    expect(page).to_have_url(re.compile(rf"/repos/{repo.slug}/merge-requests/$"))
    rows = page.locator("#merge-requests .mr-row")
    expect(rows).to_have_count(2)
    page.locator("#filter-label").select_option("bug")
    page.locator("#mr-filters").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"label=bug"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Colours for widgets")
    expect(page.locator("#active-filters")).to_contain_text("labelled bug")
    shot("filtered-by-label")
    # the state links keep the label
    page.locator("#mr-filter").get_by_role("link", name=re.compile("^All")).click()
    expect(page).to_have_url(re.compile(r"state=all&label=bug"))
    expect(rows).to_have_count(1)

    # ? shows the shortcuts, Esc closes them ---------------------------------------------------
    help_box = page.locator("#kbd-help")
    expect(help_box).to_be_hidden()
    page.keyboard.press("Shift+Slash")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("Search this repository")
    shot("shortcuts-help")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
