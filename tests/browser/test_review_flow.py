"""The review flow end to end in a real browser: a developer branches, changes a table in the
console, opens a merge request that conflicts with main, resolves the conflict side by side
(PostgreSQL's error shown in place first), a reviewer approves, a maintainer merges, and the
live database ends up with the resolved column. Each step is checked in the page and in the
engine or Django's database."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merges.models import MergeRequest, Review

pytestmark = pytest.mark.django_db(transaction=True)

BRANCH = "shade-widgets"


def column_type(live_sql, table: str, column: str) -> str | None:
    rows = live_sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped", (table, column))
    return rows[0][0] if rows else None


def test_branch_console_conflict_review_and_merge_reach_the_live_database(
        tab, shot, sign_in, live_sql, engine, repo, author, reviewer, maintainer):
    page = tab

    # sign in as the author -------------------------------------------------------------------
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in to pgGit")).to_be_visible()
    shot("login")
    sign_in(author)
    expect(page.get_by_role("link", name="widgets")).to_be_visible()
    shot("repositories")

    # the repository's dashboard --------------------------------------------------------------
    page.get_by_role("link", name="widgets").click()
    expect(page).to_have_url(re.compile(rf"/repos/{repo.slug}/$"))
    expect(page.locator("#current-branch")).to_have_text("main")
    expect(page.locator("#branches")).to_contain_text("feature-colors")
    shot("dashboard")

    # branches page: create a branch ----------------------------------------------------------
    page.get_by_role("navigation", name="Repository").get_by_role("link", name="Branches").click()
    main_head = engine.resolve("main")
    form = page.locator("#create-branch")
    form.get_by_label("Name").fill(BRANCH)
    form.get_by_role("button", name="Create branch").click()
    expect(page.locator(".messages")).to_contain_text(f"Created branch {BRANCH}")
    row = page.locator(f'#branches tr[data-branch="{BRANCH}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text(main_head[:12])
    assert engine.resolve(BRANCH) == main_head
    shot("branches")

    # console: apply DDL to the branch (shadow database; the live one is untouched) ------------
    page.get_by_role("navigation", name="Repository").get_by_role("link", name="SQL console").click()
    page.get_by_label("Branch").select_option(BRANCH)
    expect(page.locator("#live-warning")).to_be_hidden()
    page.get_by_label("SQL", exact=True).fill("ALTER TABLE public.widgets ADD COLUMN shade text")
    page.get_by_label("Commit message").fill("Widgets get a shade")
    page.get_by_role("button", name="Run and commit").click()
    result = page.locator("#result")
    expect(result).to_be_visible()
    branch_head = engine.resolve(BRANCH)
    assert branch_head != main_head
    expect(result.locator("a.sha").first).to_have_text(branch_head[:12])
    expect(result).to_contain_text("Widgets get a shade")
    expect(result).to_contain_text("table public.widgets")
    expect(result).to_contain_text("shade text")
    assert engine.log(BRANCH, 1)[0]["message"].startswith("Widgets get a shade")
    assert column_type(live_sql, "public.widgets", "shade") is None  # the live database is on main
    shot("console-result")

    # meanwhile main diverges on the same table, on the live database ------------------------
    live_sql("ALTER TABLE public.widgets ADD COLUMN shade integer")
    assert engine.resolve("main") != main_head
    assert column_type(live_sql, "public.widgets", "shade") == "integer"

    # compare main...branch, side by side ----------------------------------------------------
    page.get_by_role("navigation", name="Repository").get_by_role("link", name="Compare").click()
    page.get_by_label("base").fill("main")
    page.get_by_label("compare").fill(BRANCH)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#summary")).to_contain_text("1 object changed")
    expect(page.locator("#migration")).to_contain_text("shade")
    shot("compare")
    continue_with_merge_request(page, shot, sign_in, live_sql, engine, repo, author, reviewer, maintainer)


def continue_with_merge_request(page, shot, sign_in, live_sql, engine, repo, author, reviewer, maintainer):
    # open a merge request from the compare page ---------------------------------------------
    page.locator("#open-mr").click()
    expect(page.get_by_role("heading", name="Open a merge request")).to_be_visible()
    expect(page.get_by_label("from (source)")).to_have_value(BRANCH)
    expect(page.get_by_label("into (target)")).to_have_value("main")
    expect(page.locator("#new-preview")).to_contain_text("table public.widgets")
    page.get_by_label("Title").fill("Widgets get a shade")
    page.get_by_label("Description").fill("A shade for every widget.")
    page.get_by_role("button", name="Open merge request").click()
    expect(page.locator(".messages")).to_contain_text("Opened merge request !1")
    mr = MergeRequest.objects.get(repository=repo, number=1)
    assert (mr.source, mr.target, mr.state, mr.author) == (BRANCH, "main", "open", author)
    assert mr.source_head == engine.resolve(BRANCH)
    expect(page).to_have_url(re.compile(rf"/repos/{repo.slug}/merge-requests/1/$"))
    expect(page.locator("#mr-title-text")).to_have_text("Widgets get a shade")
    conflicts_row = page.locator("#mb-conflicts")
    expect(conflicts_row).to_contain_text("1 conflicting object")
    expect(page.locator("#side-conflicts")).to_contain_text("table public.widgets")
    expect(page.locator("#merge-button")).to_be_disabled()  # no approval yet, and the author is no maintainer

    # the Changes tab: the object side by side -----------------------------------------------
    tabs = page.get_by_role("navigation", name="Merge request")
    tabs.get_by_role("link", name=re.compile(r"^Changes")).click()
    expect(page.locator("#summary")).to_contain_text("1 object changed")
    box = page.locator("section.filebox", has_text="table public.widgets")
    expect(box).to_be_visible()
    diff = box.locator("table.diff")
    expect(diff.locator("th.diff-title").first).to_have_text("merge base")
    expect(diff.locator("th.diff-title").nth(1)).to_have_text(BRANCH)
    expect(diff.locator("tr", has_text="weight_grams").first).to_be_visible()
    expect(diff.locator("td.code.right", has_text="shade text")).to_be_visible()
    expect(diff.locator("td.code.left", has_text="shade")).to_have_count(0)
    shot("changes-side-by-side")

    # conflicts: a wrong type first (PostgreSQL's error in place), then a valid one -----------
    tabs.get_by_role("link", name=re.compile(r"^Conversation")).click()
    page.locator("#resolve-conflicts").click()
    expect(page.locator("#conflict-identity")).to_have_text("table public.widgets")
    three_way = page.locator("#three-way")
    expect(three_way).to_contain_text("shade text")
    expect(three_way).to_contain_text("shade integer")
    mr.refresh_from_db()
    assert mr.engine_merge_id is not None
    assert [i["identity"] for i in engine.merge_items(mr.engine_merge_id) if i["resolution"] is None] == [
        "table public.widgets"]
    result = page.get_by_label("Result definition")
    source_text = result.input_value()
    assert "shade text" in source_text
    result.fill(source_text.replace("shade text", "shade no_such_type"))
    page.get_by_role("button", name="Resolve with this text").click()
    error = page.locator("#resolve-error")
    expect(error).to_contain_text("PostgreSQL rejected this text")
    expect(error).to_contain_text('type "no_such_type" does not exist')
    expect(page.get_by_label("Result definition")).to_have_value(re.compile("shade no_such_type"))
    assert engine.merge_info(mr.engine_merge_id)["status"] == "conflicts"
    assert not mr.resolutions.exists()
    shot("conflicts-with-error")

    page.get_by_label("Result definition").fill(source_text.replace("shade text", "shade varchar(40)"))
    page.get_by_role("button", name="Resolve with this text").click()
    expect(page.locator(".messages")).to_contain_text("All conflicts resolved")
    expect(page).to_have_url(re.compile(rf"/merge-requests/1/$"))
    resolution = mr.resolutions.get()
    assert (resolution.object_identity, resolution.resolution, resolution.resolved_by) == (
        "table public.widgets", "custom", author)
    assert engine.merge_info(mr.engine_merge_id)["status"] == "ready"
    assert column_type(live_sql, "public.widgets", "shade") == "integer"  # nothing merged yet
    expect(page.locator("#conflicts-resolved")).to_have_text("Every conflict is resolved")
    expect(page.locator("#side-risks")).to_contain_text("character varying(40)")  # the resolved result's migration
    shot("conflicts-resolved")

    # the reviewer approves --------------------------------------------------------------------
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    sign_in(reviewer)
    open_request_from_dashboard(page, repo)
    page.locator("#review-box").get_by_label("Review").fill("The varchar(40) keeps both sides' values.")
    page.locator("#verdict-approve").get_by_role("radio").check()
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator(".messages")).to_contain_text("Approved.")
    expect(page.locator("#mb-approvals")).to_contain_text("1 of 1 required approval")
    expect(page.locator("#side-approvals")).to_contain_text(reviewer.get_username())
    mr.refresh_from_db()
    assert mr.state == "approved"
    assert Review.objects.filter(merge_request=mr, reviewer=reviewer, verdict="approve", dismissed=False).count() == 1
    expect(page.locator("#merge-button")).to_be_disabled()  # reviewers do not merge into main
    shot("approved")

    # the maintainer merges --------------------------------------------------------------------
    page.get_by_role("button", name="Sign out").click()
    sign_in(maintainer)
    open_request_from_dashboard(page, repo)
    merge_button = page.locator("#merge-button")
    expect(merge_button).to_be_enabled()
    merge_button.click()
    expect(page.locator(".messages")).to_contain_text("Merged !1 into main")
    mr.refresh_from_db()
    main_head = engine.resolve("main")
    assert (mr.state, mr.merged_by, mr.merge_commit) == ("merged", maintainer, main_head)
    assert len(engine.log("main", 1)[0]["parent_ids"]) == 2
    box = page.locator("#merge-box")
    expect(box).to_contain_text("Merged")
    expect(page.locator("#merge-commit")).to_have_text(main_head[:12])
    expect(page.locator("#mr-head")).to_contain_text("merged")
    assert column_type(live_sql, "public.widgets", "shade") == "character varying(40)"
    shot("merged")


def open_request_from_dashboard(page, repo):
    """Repositories -> the repository -> its open merge request !1."""
    page.get_by_role("link", name="Repositories", exact=True).first.click()
    page.get_by_role("link", name="widgets").click()
    page.locator("#merge-requests").get_by_role("link", name=re.compile(r"^!1 ")).click()
    expect(page).to_have_url(re.compile(rf"/repos/{repo.slug}/merge-requests/1/$"))


def test_object_definition_with_script_is_shown_as_text_on_the_compare_page(tab, sign_in, shot, engine, repo, author):
    page = tab
    hostile = "<script>window.__xss=1</script>"
    engine.apply("feature-colors", f"COMMENT ON TABLE public.widgets IS '{hostile}'")
    sign_in(author)
    page.goto(f"/repos/{repo.slug}/compare/?from=main&to=feature-colors")
    expect(page.locator("#summary")).to_contain_text("1 object changed")
    expect(page.get_by_text(hostile).first).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert page.locator("script", has_text="__xss").count() == 0
    shot("compare-with-script-in-a-comment")
