"""A merge request from a data branch in a real browser: the Changes tab shows the rows the branch
changed, a data conflict is resolved cell by cell (a typed value) and row by row (a hostile table
name) on the Conflicts tab, and the merge applies the rows to the live table. Each step is checked
in the page and in the live database or Django's."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merges import actions
from merges.models import DataResolution, MergeRequest
from web.test_data_merge_requests import HOSTILE_ID, data_mr, hostile, widgets  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_data_diff_shows_and_a_data_conflict_is_resolved_then_merged(
        tab, shot, sign_in, repo, data_mr, author, reviewer, maintainer):
    page = tab
    sign_in(author)
    base = f"/repos/{repo.slug}/merge-requests/{data_mr.number}/"

    # the Changes tab: the data diff beside the schema changes ----------------------------------
    page.goto(base + "changes/")
    diff = page.locator("#data-diff")
    expect(diff).to_contain_text("4 rows differ")
    expect(diff.locator("del", has_text="bolt-main")).to_be_visible()
    expect(diff.locator("ins", has_text="bolt-branch")).to_be_visible()
    expect(diff).to_contain_text(HOSTILE_ID)
    shot("changes-data-diff")

    # the Conflicts tab: two rows, base / source / target side by side --------------------------
    page.goto(base)
    page.locator("#data-conflicts-link").click()
    expect(page).to_have_url(re.compile(r"/conflicts/data/$"))
    expect(page.locator("#data-open-count")).to_have_text("2 of 2")
    row = page.locator('section.data-conflict[data-table="table public.widgets"]')
    cell = row.locator('tr[data-column="label"]')
    expect(cell.locator(".side-base")).to_have_text("bolt")
    expect(cell.locator(".side-source")).to_have_text("bolt-branch")
    expect(cell.locator(".side-target")).to_have_text("bolt-main")
    shot("data-conflicts")

    # a typed value in one cell
    cell.get_by_label("Resolve label with").select_option("value")
    cell.get_by_label("Value of label").fill("bolt ✓ 'typed'")
    cell.get_by_role("button", name="Resolve cell").click()
    expect(page.locator(".messages")).to_contain_text("Resolved table public.widgets")
    expect(page.locator("#data-open-count")).to_have_text("1 of 2")
    expect(page.locator('section.data-conflict[data-table="table public.widgets"] .cell-resolution')).to_contain_text(
        "bolt ✓ 'typed'")
    assert [(r.column, r.take, r.value) for r in DataResolution.objects.filter(dismissed=False)] == [
        ("label", "value", "bolt ✓ 'typed'")]

    # the hostile table's row: the target's whole row
    hostile_row = page.locator("section.data-conflict").filter(has_text=HOSTILE_ID)
    hostile_row.get_by_role("button", name="Take target row").click()
    expect(page.locator("#data-open-count")).to_have_text("0 of 2")
    expect(page.locator("section.data-conflict.open")).to_have_count(0)
    shot("data-conflicts-resolved")

    # a reviewer approves; a maintainer merges from the conversation ----------------------------
    actions.approve(reviewer, MergeRequest.objects.get(pk=data_mr.pk))
    sign_in(maintainer)
    page.goto(base)
    expect(page.locator("#mb-data")).to_contain_text("every data conflict is resolved")
    expect(page.locator("#data-resolution-1, .event-data_resolved").first).to_be_visible()
    page.locator("#merge-button").click()
    expect(page.locator(".messages")).to_contain_text(f"Merged !{data_mr.number} into main")
    shot("merged")
    assert widgets(repo) == [(1, "bolt ✓ 'typed'", 10), (2, "nut", 25), (3, "gear", 30), (4, "washer", 40)]
    assert hostile(repo) == [(1, "b-main")]
    assert MergeRequest.objects.get(pk=data_mr.pk).state == "merged"
