"""Issue 14, second pass, in a real browser: a reviewer leaves a line comment with a suggestion, the
author applies it with one click and the new commit shows on the Commits tab; a deleted source
branch is restored from the merge request's page; the pages follow a dark system colour scheme."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merges import actions
from merges.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)

IDENTITY = "table public.colors"
SUGGESTION = "ALTER TABLE public.colors ADD COLUMN \"shade ü\" text DEFAULT 'it''s'"


def open_request(engine, repo, author):
    engine.apply("feature-colors", "CREATE TABLE public.colors (name text, hex text)", "Colors table")
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def test_reviewer_suggests_author_applies_and_a_deleted_branch_is_restored(
        tab, shot, sign_in, engine, repo, author, reviewer):
    page = tab
    mr = open_request(engine, repo, author)
    base = f"/repos/{repo.slug}/merge-requests/{mr.number}/"

    # the reviewer suggests a change on line 2 -------------------------------------------------
    sign_in(reviewer)
    page.goto(base + "changes/")
    section = page.locator("section.filebox", has_text=IDENTITY)
    section.locator("details.object-comment-form > summary").click()
    section.get_by_label(f"Comment on {IDENTITY}").fill("A shade would help; 'quoted' ü")
    section.locator("input[name=line]").fill("2")
    section.locator("details.suggest-box summary").click()
    section.get_by_label(f"Suggested SQL for {IDENTITY}").fill(SUGGESTION)
    section.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Comment added on table public.colors, line 2")
    comment = Comment.objects.get()
    assert comment.suggestion == SUGGESTION and comment.line == 2
    expect(page.locator(f"#suggestion-{comment.pk}")).to_contain_text("Suggested change")
    expect(page.locator(f"#apply-suggestion-{comment.pk}")).to_be_visible()  # the reviewer may push too
    shot("suggested")

    # the author applies it ----------------------------------------------------------------------
    sign_in(author)
    before = engine.resolve("feature-colors")
    page.goto(base + "changes/")
    page.locator(f"#apply-suggestion-{comment.pk}").click()
    expect(page.locator(".messages")).to_contain_text("Applied the suggestion on feature-colors as commit")
    after = engine.resolve("feature-colors")
    assert after != before
    comment.refresh_from_db()
    assert comment.suggestion_commit == after and comment.suggestion_applied_by == author
    expect(page.locator(f"#suggestion-{comment.pk}")).to_contain_text(f"applied by {author.username}")
    expect(page.locator(f"#apply-suggestion-{comment.pk}")).to_have_count(0)
    definition = next(o["definition"] for o in engine.tree("feature-colors") if o["identity"] == IDENTITY)
    assert '"shade ü" text' in definition
    shot("applied")

    # the new commit on the Commits tab ------------------------------------------------------------
    page.get_by_role("navigation", name="Merge request").get_by_role("link", name=re.compile("^Commits")).click()
    expect(page.locator("body")).to_contain_text(f"Apply suggestion by {reviewer.username} on !{mr.number}")
    expect(page.locator(f'a[href$="/commits/{after}/"]').first).to_be_visible()
    shot("commits")

    # the source branch is deleted, then restored from the request's page ----------------------------
    engine.delete_branch("feature-colors", True)
    page.goto(base)
    expect(page.locator("#source-deleted")).to_contain_text("The source branch feature-colors was deleted")
    page.locator("#restore-branch").click()
    expect(page.locator(".messages")).to_contain_text(f"Restored branch feature-colors at {after[:12]}")
    expect(page.locator("#source-deleted")).to_have_count(0)
    assert engine.resolve("feature-colors") == after
    shot("restored")


def test_pages_follow_a_dark_system_colour_scheme(chromium, live_server, sign_in, repo, author):
    def background(scheme: str) -> tuple[str, str, str]:
        context = chromium.new_context(base_url=live_server.url, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto("/accounts/login/")
            body = page.evaluate("getComputedStyle(document.body).backgroundColor")
            text = page.evaluate("getComputedStyle(document.body).color")
            scheme_seen = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        finally:
            context.close()
        return body, text, str(scheme_seen)

    light, dark = background("light"), background("dark")
    assert light[0] == "rgb(255, 255, 255)" and light[2] == "False"
    assert dark[2] == "True" and dark[0] != light[0] and dark[0] == "rgb(13, 17, 23)"
    assert dark[1] == "rgb(230, 237, 243)"  # light text on the dark background
