"""The data conflicts of a merge request whose source is a data branch, through the REST API:
list, resolve a row or a cell, remove a resolution, and the merge that stops on them (409
``data_conflicts``) or applies them with the schema."""

from __future__ import annotations

import pytest
from django.urls import reverse

from merges import actions
from merges.models import DataResolution
from web.test_data_merge_requests import BRANCH, HOSTILE_ID, data_mr, hostile, widgets  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

CONFLICTS_FIELDS = {"data", "target_checked_out", "checked_out", "open", "items", "violations", "stale"}
ITEM_FIELDS = {"table_identity", "key", "conflict", "columns", "base", "source", "target", "open", "resolutions"}
RESOLUTION_FIELDS = {"id", "table_identity", "key", "column", "take", "value", "resolved_by", "created_at",
                     "dismissed", "dismissed_reason"}


def url(name, mr, *args):
    return reverse(f"api:{name}", args=[mr.repository.slug, mr.number, *args])


def test_the_data_conflicts_are_listed_for_who_may_resolve(as_api, data_mr, author, maintainer, viewer, outsider):
    response = as_api(author).get(url("merge_request_data_conflicts", data_mr))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == CONFLICTS_FIELDS
    assert (body["data"], body["target_checked_out"], body["checked_out"], body["open"]) == (True, True, "main", 2)
    items = {i["table_identity"]: i for i in body["items"]}
    assert set(items) == {HOSTILE_ID, "table public.widgets"}
    w = items["table public.widgets"]
    assert set(w) == ITEM_FIELDS
    assert (w["key"], w["conflict"], w["columns"], w["open"]) == ({"id": 1}, "changed on both sides", ["label"], True)
    assert (w["base"]["label"], w["source"]["label"], w["target"]["label"]) == ("bolt", "bolt-branch", "bolt-main")
    assert as_api(maintainer).get(url("merge_request_data_conflicts", data_mr)).status_code == 200
    assert as_api(viewer).get(url("merge_request_data_conflicts", data_mr)).status_code == 403
    response = as_api(outsider).get(url("merge_request_data_conflicts", data_mr))
    assert response.status_code == 404 and set(response.json()["error"]) == {"code", "message", "detail"}


def test_a_cell_and_a_row_are_resolved_and_a_resolution_removed(as_api, data_mr, author, viewer, outsider):
    api = as_api(author)
    resolve = url("merge_request_data_resolve", data_mr)
    body = {"table": "public.widgets", "key": {"id": 1}, "column": "label", "take": "value", "value": "typed ✓"}
    assert as_api(viewer).post(resolve, body, format="json").status_code == 403
    assert as_api(outsider).post(resolve, body, format="json").status_code == 404
    assert not DataResolution.objects.exists()
    response = api.post(resolve, body, format="json")
    assert response.status_code == 201, response.content
    cell = response.json()
    assert set(cell) == RESOLUTION_FIELDS
    assert (cell["table_identity"], cell["key"], cell["column"], cell["take"], cell["value"], cell["resolved_by"]) == (
        "table public.widgets", {"id": 1}, "label", "value", "typed ✓", author.get_username())
    response = api.post(resolve, {"table": HOSTILE_ID, "key": {"k ey": 1}, "take": "source"}, format="json")
    assert response.status_code == 201 and response.json()["column"] == ""
    listed = api.get(url("merge_request_data_conflicts", data_mr)).json()
    assert listed["open"] == 0 and all(len(i["resolutions"]) == 1 for i in listed["items"])
    timeline = api.get(url("merge_request_conversation", data_mr)).json()["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "data_resolved", "data_resolved"]
    assert timeline[1]["resolution"] is None and timeline[1]["data_resolution"] == cell
    # refusals: the one error body
    for payload, status, code in [
        ({"table": "public.widgets", "key": {"id": 1}, "take": "mine"}, 400, "invalid_resolution"),
        ({"table": "public.widgets", "key": {"id": 2}, "take": "source"}, 404, "not_in_merge"),
        ({"table": "public.widgets", "key": {"id": 1}, "column": "weight_grams", "take": "value", "value": "x"},
         422, "sql_error"),
    ]:
        response = api.post(resolve, payload, format="json")
        assert response.status_code == status, response.content
        assert response.json()["error"]["code"] == code
    # removing one opens its conflict again
    remove = url("merge_request_data_resolution", data_mr, cell["id"])
    assert as_api(viewer).delete(remove).status_code == 403
    assert as_api(outsider).delete(remove).status_code == 404
    assert api.delete(remove).status_code == 204
    assert api.delete(remove).status_code == 404  # not in force any more
    assert DataResolution.objects.get(pk=cell["id"]).dismissed
    assert api.get(url("merge_request_data_conflicts", data_mr)).json()["open"] == 1


def test_the_merge_stops_on_data_conflicts_then_applies_the_resolutions(as_api, data_mr, author, reviewer, maintainer,
                                                                        repo):
    actions.approve(reviewer, data_mr)
    before = widgets(repo)
    response = as_api(maintainer).post(url("merge_request_merge", data_mr), {}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "data_conflicts"
    assert {(r["table_identity"], str(r["key"])) for r in error["detail"]["rows"]} == {
        ("table public.widgets", "{'id': 1}"), (HOSTILE_ID, "{'k ey': 1}")}
    assert widgets(repo) == before
    api = as_api(author)
    resolve = url("merge_request_data_resolve", data_mr)
    api.post(resolve, {"table": "public.widgets", "key": {"id": 1}, "column": "label", "take": "source"}, format="json")
    api.post(resolve, {"table": HOSTILE_ID, "key": {"k ey": 1}, "column": 'vál "ue"', "take": "value",
                       "value": None}, format="json")
    response = as_api(maintainer).post(url("merge_request_merge", data_mr), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "merged"
    assert widgets(repo) == [(1, "bolt-branch", 10), (2, "nut", 25), (3, "gear", 30), (4, "washer", 40)]
    assert hostile(repo) == [(1, None)]


def test_the_changes_tab_has_the_rows_the_data_branch_changed(as_api, data_mr, viewer, outsider):
    response = as_api(viewer).get(url("merge_request_changes", data_mr))
    assert response.status_code == 200
    data = response.json()["data"]
    assert {(r["table_identity"], str(r["key"])): (r["change"], r["columns"]) for r in data} == {
        ("table public.widgets", "{'id': 1}"): ("changed", ["label"]),
        ("table public.widgets", "{'id': 2}"): ("changed", ["weight_grams"]),
        ("table public.widgets", "{'id': 4}"): ("added", None),
        (HOSTILE_ID, "{'k ey': 1}"): ("changed", ['vál "ue"']),
    }
    assert set(data[0]) == {"table_identity", "key", "change", "columns", "old_row", "new_row"}
    assert as_api(outsider).get(url("merge_request_changes", data_mr)).status_code == 404
