"""Merge requests whose source is a data branch: the data diff on the Changes tab, data conflicts
resolved per row or per cell (stored in Django, shown in the timeline, dismissed when the rows
change), and the merge that applies the schema merge and the data merge in one transaction."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.test import Client as Client_web
from django.urls import reverse

from merges import actions
from merges.models import DataResolution, MergeRequest
from pggit.client import Client
from pggit_web.errors import ActionError, Conflict, NotFound, Rejected

pytestmark = pytest.mark.django_db(transaction=True)

BRANCH = "rows ✓ \"q\""
HOSTILE = 'Ördér "x" y'          # a table name with quotes, a space and unicode
HOSTILE_ID = 'table public."Ördér ""x"" y"'
HOSTILE_COL = 'vál "ue"'


def run(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in statements:
            conn.execute(s)


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def widgets(repo) -> list[tuple]:
    return rows(repo.dsn, "SELECT id, label, weight_grams FROM public.widgets ORDER BY id")


def hostile(repo) -> list[tuple]:
    return rows(repo.dsn, 'SELECT "k ey", "vál ""ue""" FROM public."Ördér ""x"" y" ORDER BY 1')


@pytest.fixture
def data_mr(repo, author):
    """Branch ``BRANCH`` carries data; against main it has one row merged by itself (2), one
    insert (4), a conflict on widgets 1's label and one on the hostile table's cell."""
    run(repo.dsn,
        "INSERT INTO public.widgets VALUES (1, 'bolt', 10), (2, 'nut', 20), (3, 'gear', 30)",
        'CREATE TABLE public."Ördér ""x"" y" ("k ey" int PRIMARY KEY, "vál ""ue""" text)',
        'INSERT INTO public."Ördér ""x"" y" VALUES (1, \'a\')')
    with Client(repo.dsn) as client:
        client.create_branch(BRANCH, with_data=True)
        branch = client.data_dsn(BRANCH)
    run(branch, "UPDATE widgets SET label = 'bolt-branch' WHERE id = 1",
        "UPDATE widgets SET weight_grams = 25 WHERE id = 2",
        "INSERT INTO widgets VALUES (4, 'washer', 40)",
        'UPDATE "Ördér ""x"" y" SET "vál ""ue""" = \'b-branch\' WHERE "k ey" = 1')
    run(repo.dsn, "UPDATE public.widgets SET label = 'bolt-main' WHERE id = 1",
        'UPDATE public."Ördér ""x"" y" SET "vál ""ue""" = \'b-main\' WHERE "k ey" = 1')
    mr = actions.open_merge_request(author, repo, source=BRANCH, target="main", title="Rows")
    yield mr
    with Client(repo.dsn) as client:
        if client.is_data_branch(BRANCH):
            client.delete_branch(BRANCH, force=True)


def head(repo) -> str:
    with Client(repo.dsn) as client:
        return client.resolve("main")


def test_the_changes_tab_shows_the_data_diff_with_the_changed_cells(as_user, data_mr, author, outsider, repo):
    page = as_user(author)
    url = reverse("merges:changes", args=[repo.slug, data_mr.number])
    html = page.get(url).content.decode()
    assert 'id="data-diff"' in html and "4 rows differ" in html
    assert "<del>bolt-main</del> <ins>bolt-branch</ins>" in html  # against the checked-out rows
    assert HOSTILE_ID.replace('"', "&quot;") in html and "<del>b-main</del> <ins>b-branch</ins>" in html
    assert "data-target-warning" not in html  # main is checked out
    page.force_login(outsider)
    assert page.get(url).status_code == 404


def test_a_merge_with_data_conflicts_left_changes_nothing_and_says_why(data_mr, reviewer, maintainer, repo):
    actions.approve(reviewer, data_mr)
    before = (widgets(data_mr.repository), hostile(repo), head(repo))
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=data_mr.pk))
    assert outcome.status == "data_conflicts"
    assert (widgets(repo), hostile(repo), head(repo)) == before
    mr = MergeRequest.objects.get(pk=data_mr.pk)
    assert mr.state == "approved" and "2 row(s) need a resolution" in mr.merge_error
    assert HOSTILE_ID in mr.merge_error


def test_a_cell_resolution_and_a_row_resolution_end_up_in_the_target_rows(
        as_user, data_mr, author, reviewer, maintainer, repo):
    page = as_user(author)
    conflicts_url = reverse("merges:data_conflicts", args=[repo.slug, data_mr.number])
    response = page.get(conflicts_url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 of 2" in html and "changed on both sides" in html and HOSTILE_ID in html.replace("&quot;", '"')
    # a typed value in one cell, through the page
    resolve_url = reverse("merges:data_resolve", args=[repo.slug, data_mr.number])
    response = page.post(resolve_url, {"table": "table public.widgets", "key": json.dumps({"id": 1}),
                                       "column": "label", "take": "value", "value": "bolt ✓ 'typed'"})
    assert response.status_code == 302
    # the hostile table's row: the target's whole row
    page.post(resolve_url, {"table": HOSTILE_ID, "key": json.dumps({"k ey": 1}), "take": "target"})
    stored = {(r.table_identity, r.column): (r.take, r.value) for r in DataResolution.objects.filter(dismissed=False)}
    assert stored == {("table public.widgets", "label"): ("value", "bolt ✓ 'typed'"), (HOSTILE_ID, ""): ("target", None)}
    html = page.get(conflicts_url).content.decode()
    assert "0 of 2" in html and "bolt ✓ &#x27;typed&#x27;" in html
    timeline = page.get(reverse("merges:detail", args=[repo.slug, data_mr.number])).content.decode()
    assert timeline.count('class="tl-item tl-event event-data_resolved"') == 2
    assert "with the value <code>bolt ✓ &#x27;typed&#x27;</code>" in timeline

    actions.approve(reviewer, data_mr)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=data_mr.pk))
    assert outcome.status == "merged", outcome.message
    assert widgets(repo) == [(1, "bolt ✓ 'typed'", 10), (2, "nut", 25), (3, "gear", 30), (4, "washer", 40)]
    assert hostile(repo) == [(1, "b-main")]
    mr = MergeRequest.objects.get(pk=data_mr.pk)
    assert mr.state == "merged" and mr.merge_commit == head(repo)  # no schema commit: the target's head


def test_a_resolution_is_dismissed_when_the_branch_rows_change(data_mr, author, repo):
    res = actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "source", "label")
    assert res.table_identity == "table public.widgets"
    plan = actions.read_data_conflicts(author, data_mr)
    assert [c.key for c in plan.open_conflicts] == [{"k ey": 1}]
    with Client(repo.dsn) as client:
        run(client.data_dsn(BRANCH), "UPDATE widgets SET label = 'bolt-again' WHERE id = 1")
    plan = actions.read_data_conflicts(author, data_mr)
    assert {json.dumps(c.key) for c in plan.open_conflicts} == {'{"id": 1}', '{"k ey": 1}'}
    assert [r.pk for r in plan.stale] == [res.pk] and plan.stale[0].stale_reason.startswith("the rows changed")
    # a new resolution replaces it; removing it opens the conflict again
    again = actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "target")
    assert DataResolution.objects.get(pk=res.pk).dismissed
    actions.remove_data_resolution(author, data_mr, again.pk)
    assert not DataResolution.objects.filter(dismissed=False).exists()
    assert len(actions.read_data_conflicts(author, data_mr).open_conflicts) == 2


def test_resolving_data_is_checked(data_mr, author, reviewer, outsider, viewer):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    with pytest.raises(PermissionDenied):
        actions.resolve_data(viewer, data_mr, "public.widgets", {"id": 1}, "source")
    with pytest.raises(Http404):
        actions.resolve_data(outsider, data_mr, "public.widgets", {"id": 1}, "source")
    with pytest.raises(NotFound):
        actions.resolve_data(author, data_mr, "public.widgets", {"id": 2}, "source")  # no conflict there
    with pytest.raises(ActionError, match="no column"):
        actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "source", "nope")
    with pytest.raises(ActionError, match="one cell"):
        actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "value")
    with pytest.raises(Rejected):  # PostgreSQL's word: not an integer
        actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "value", "weight_grams", "heavy")
    assert not DataResolution.objects.exists()


def test_a_constraint_violation_rolls_back_the_schema_merge_too(data_mr, author, reviewer, maintainer, repo):
    """The source also adds a table (a fast-forward into the checked-out main, which migrates the
    live database) and its rows break a CHECK constraint of the target: nothing is applied, the
    schema neither."""
    run(repo.dsn, "ALTER TABLE public.widgets ADD CONSTRAINT weight_positive CHECK (weight_grams > 0) NOT VALID")
    with Client(repo.dsn) as client:
        client.reset_branch(BRANCH, client.resolve("main"))  # (its schema at main's, with the constraint)
        run(client.data_dsn(BRANCH), "UPDATE widgets SET weight_grams = -5 WHERE id = 3")
        client.apply(BRANCH, "CREATE TABLE public.extra (id int PRIMARY KEY)")
    actions.resolve_data(author, data_mr, "public.widgets", {"id": 1}, "source")
    actions.resolve_data(author, data_mr, HOSTILE_ID, {"k ey": 1}, "source")
    plan = actions.read_data_conflicts(author, data_mr)
    assert not plan.open_conflicts and "weight_positive" in plan.violations[0]["message"]
    actions.approve(reviewer, actions.sync(MergeRequest.objects.get(pk=data_mr.pk)))  # (at the new head)
    before = (widgets(repo), hostile(repo), head(repo))
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=data_mr.pk))
    assert outcome.status == "data_conflicts" and "weight_positive" in outcome.message
    assert (widgets(repo), hostile(repo), head(repo)) == before
    assert rows(repo.dsn, "SELECT to_regclass('public.extra')") == [(None,)]
    mr = MergeRequest.objects.get(pk=data_mr.pk)
    assert mr.state != "merged" and "weight_positive" in mr.merge_error
    page_errors = [e for e in mr.events.all() if e.kind == "merge.failed"]
    assert page_errors and "weight_positive" in page_errors[-1].payload["error"]
    # with the row fixed on the branch, the same merge applies both: the table and the rows
    with Client(repo.dsn) as client:
        run(client.data_dsn(BRANCH), "UPDATE widgets SET weight_grams = 5 WHERE id = 3")
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=data_mr.pk))
    assert outcome.status == "merged", outcome.message
    assert rows(repo.dsn, "SELECT to_regclass('public.extra')::text") == [("extra",)]
    assert widgets(repo) == [(1, "bolt-branch", 10), (2, "nut", 25), (3, "gear", 5), (4, "washer", 40)]
    assert hostile(repo) == [(1, "b-branch")] and head(repo) == outcome.commit


def test_a_target_that_is_not_checked_out_is_named_and_the_merge_refused(data_mr, author, reviewer, maintainer, repo,
                                                                         as_user):
    with Client(repo.dsn) as client:
        client.create_branch("release")
    mr = actions.open_merge_request(author, repo, source=BRANCH, target="release", title="Into release")
    html = as_user(author).get(reverse("merges:changes", args=[repo.slug, mr.number])).content.decode()
    assert 'id="data-target-warning"' in html
    with pytest.raises(Conflict) as exc:
        actions.merge(maintainer, mr)
    assert exc.value.code == "data_target_not_checked_out"


def test_the_last_schema_resolution_finishes_the_merge_with_the_data_or_neither(data_mr, author, reviewer, maintainer,
                                                                               repo):
    """Schema conflicts first: resolving the last one (as someone who may merge, approvals in)
    finishes the engine merge and the data merge together; with data conflicts left, neither is
    applied, the engine merge stays open and ready, and Merge finishes it once they are resolved."""
    with Client(repo.dsn) as client:
        client.apply(BRANCH, "ALTER TABLE public.widgets ADD COLUMN shade text")
    run(repo.dsn, "ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = actions.sync(MergeRequest.objects.get(pk=data_mr.pk))
    actions.approve(reviewer, mr)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    assert outcome.status == "conflicts" and [i["identity"] for i in outcome.conflicts] == ["table public.widgets"]
    page = Client_web()
    page.force_login(author)
    html = page.get(reverse("merges:conflicts", args=[repo.slug, mr.number])).content.decode()
    assert 'id="data-conflicts-link"' in html and 'id="conflict-identity">table public.widgets' in html
    before = (widgets(repo), hostile(repo), head(repo))
    outcome = actions.resolve(maintainer, MergeRequest.objects.get(pk=mr.pk), "table public.widgets", None, "target")
    assert outcome.status == "data_conflicts" and "2 row(s)" in outcome.message
    assert (widgets(repo), hostile(repo), head(repo)) == before
    mr = MergeRequest.objects.get(pk=mr.pk)
    assert mr.engine_merge_id and "2 row(s)" in mr.merge_error
    with Client(repo.dsn) as client:
        assert client.merge_info(mr.engine_merge_id)["status"] == "ready"
    actions.resolve_data(author, mr, "public.widgets", {"id": 1}, "base")
    actions.resolve_data(author, mr, HOSTILE_ID, {"k ey": 1}, "value", HOSTILE_COL, None)
    outcome = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
    assert outcome.status == "merged", outcome.message
    assert widgets(repo) == [(1, "bolt", 10), (2, "nut", 25), (3, "gear", 30), (4, "washer", 40)]
    assert hostile(repo) == [(1, None)] and head(repo) == outcome.commit != before[2]
    assert rows(repo.dsn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                          "WHERE attrelid = 'public.widgets'::regclass AND attname = 'shade'") == [("integer",)]
