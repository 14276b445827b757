"""The alerts API: list with filters and cursor pagination, one alert, acknowledge and resolve
(developers: the author; 403 for a viewer or a token capped at viewer; 404 for an outsider or an
unknown id; 409 when the state does not allow it), the counts, and the rules (maintainers change
them). Alerts are raised through ``monitoring.alerts.raise_alert``; tests/web/test_alerts.py raises
each from its real situation."""

from __future__ import annotations

import psycopg
import pytest
from api_support import error_of

from branches.models import Role
from events_support import run_tasks

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"


def _raise(repo, kind="merge_failed", key="merge_failed:main", title="Merge into main failed"):
    from monitoring.alerts import raise_alert

    alert, new = raise_alert(repo, kind, key, title, detail={"error": "refused"})
    assert new
    return alert


def _state(alert):
    alert.refresh_from_db()
    return alert.state


def test_list_filters_and_pages(as_api, repo, viewer, outsider, author):
    from monitoring import actions

    failed = _raise(repo)
    capture = _raise(repo, "capture_off", "capture_off", "Capture is off")
    old = _raise(repo, "drift", "drift", "drift")
    actions.resolve(author, old)
    client = as_api(viewer)
    body = client.get(f"{BASE}/alerts/").json()
    assert [a["id"] for a in body["results"]] == [capture.id, failed.id]  # active, newest first
    first = body["results"][1]
    assert first["kind"] == "merge_failed" and first["severity"] == "warning" and first["state"] == "open"
    assert first["detail"] == {"error": "refused"} and first["acknowledged_by"] is None and first["occurrences"] == 1
    assert [a["id"] for a in client.get(f"{BASE}/alerts/", {"state": "all", "severity": "critical"}).json()["results"]] \
        == [capture.id]
    assert [a["id"] for a in client.get(f"{BASE}/alerts/", {"state": "resolved"}).json()["results"]] == [old.id]
    assert [a["id"] for a in client.get(f"{BASE}/alerts/", {"state": "all", "kind": "drift"}).json()["results"]] \
        == [old.id]
    page = client.get(f"{BASE}/alerts/", {"state": "all", "page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    rest = client.get(page["next"]).json()
    assert [a["id"] for a in rest["results"]] == [failed.id] or [a["id"] for a in rest["results"]] == [old.id]
    assert {a["id"] for a in page["results"] + rest["results"]} == {failed.id, capture.id, old.id}
    assert error_of(client.get(f"{BASE}/alerts/", {"cursor": "nonsense"}))["code"] == "invalid_cursor"
    assert client.get(f"{BASE}/alerts/{failed.id}/").json()["title"] == "Merge into main failed"
    response = as_api(outsider).get(f"{BASE}/alerts/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert as_api(outsider).get(f"{BASE}/alerts/{failed.id}/").status_code == 404
    assert client.get(f"{BASE}/alerts/999999/").status_code == 404


def test_acknowledge_and_resolve_with_roles(as_api, api, make_token, repo, author, viewer, maintainer, outsider):
    from monitoring.models import Event

    alert = _raise(repo)
    ack, res = f"{BASE}/alerts/{alert.id}/acknowledge/", f"{BASE}/alerts/{alert.id}/resolve/"
    assert api.post(ack).status_code == 401
    response = as_api(outsider).post(ack)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = as_api(viewer).post(ack)
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    capped = as_api(token=make_token(maintainer, [repo], Role.VIEWER))
    assert capped.post(res, {"reason": "x"}, format="json").status_code == 403
    assert as_api(author).post(f"{BASE}/alerts/999999/acknowledge/").status_code == 404
    assert _state(alert) == "open" and not Event.objects.filter(kind="alert.acknowledged").exists()

    response = as_api(author).post(ack)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == author.username and body["acknowledged_at"]
    assert _state(alert) == "acknowledged"
    response = as_api(author).post(ack)
    assert response.status_code == 409 and error_of(response)["code"] == "alert_acknowledged"

    response = as_api(author).post(res, {"reason": "dropped the stray table"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "resolved" and response.json()["resolution"] == "dropped the stray table"
    assert _state(alert) == "resolved" and alert.resolved_by == author
    response = as_api(author).post(res, {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "alert_resolved"
    response = as_api(author).post(f"{BASE}/alerts/{alert.id}/resolve/", {"reason": "x" * 301}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    events = Event.objects.filter(repository=repo, kind__startswith="alert.").order_by("id")
    assert [(e.kind, e.actor_name) for e in events] == [
        ("alert.raised", "pggit"), ("alert.acknowledged", author.username), ("alert.resolved", author.username)]
    assert events[2].payload["alert"]["state"] == "resolved"


def test_stats_count_by_state_severity_and_kind(as_api, repo, viewer, outsider, author):
    from monitoring import actions

    a = _raise(repo)
    _raise(repo, "capture_off", "capture_off", "Capture is off")
    b = _raise(repo, "drift", "drift", "drift")
    actions.acknowledge(author, a)
    actions.resolve(author, b)
    response = as_api(viewer).get(f"{BASE}/alerts/stats/")
    assert response.status_code == 200
    assert response.json() == {
        "total": 3, "by_state": {"open": 1, "acknowledged": 1, "resolved": 1},
        "by_severity": {"info": 0, "warning": 1, "critical": 1},
        "by_kind": {"drift": 0, "merge_failed": 1, "data_loss_forced": 0, "capture_off": 1, "stale_review": 0,
                    "webhook_failing": 0}}
    assert as_api(outsider).get(f"{BASE}/alerts/stats/").status_code == 404


def test_rules_read_by_members_changed_by_maintainers(as_api, repo, viewer, author, maintainer, outsider):
    from monitoring.models import AlertRule

    rules = as_api(viewer).get(f"{BASE}/alert-rules/").json()["results"]
    assert [(r["kind"], r["enabled"], r["severity"], r["threshold"], r["threshold_unit"]) for r in rules] == [
        ("drift", True, "warning", 15, "minutes"), ("merge_failed", True, "warning", None, None),
        ("data_loss_forced", True, "critical", None, None), ("capture_off", True, "critical", 15, "minutes"),
        ("stale_review", True, "info", 48, "hours"), ("webhook_failing", True, "warning", None, None)]
    url = f"{BASE}/alert-rules/stale_review/"
    assert as_api(outsider).get(f"{BASE}/alert-rules/").status_code == 404
    assert as_api(outsider).patch(url, {"threshold": 2}, format="json").status_code == 404
    response = as_api(author).patch(url, {"threshold": 2}, format="json")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    response = as_api(maintainer).patch(url, {"threshold": 2, "severity": "critical"}, format="json")
    assert response.status_code == 200 and response.json()["threshold"] == 2
    rule = AlertRule.objects.get(repository=repo, kind="stale_review")
    assert (rule.threshold, rule.severity, rule.enabled, rule.updated_by) == (2, "critical", True, maintainer)
    response = as_api(maintainer).patch(f"{BASE}/alert-rules/merge_failed/", {"threshold": 2}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_threshold"
    response = as_api(maintainer).patch(url, {"threshold": 0, "severity": "loud"}, format="json")
    assert response.status_code == 400 and set(error_of(response)["detail"]) == {"threshold", "severity"}
    assert as_api(maintainer).patch(f"{BASE}/alert-rules/nope/", {}, format="json").status_code == 404
    assert AlertRule.objects.get(repository=repo, kind="stale_review").threshold == 2


@pytest.mark.django_db(transaction=True)
def test_a_drift_check_through_the_worker_shows_in_the_api(as_api, repo, viewer):
    from monitoring.alerts import run_checks

    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("ALTER TABLE public.widgets ADD COLUMN sneaky text")
    run_checks()
    run_tasks()
    [alert] = as_api(viewer).get(f"{BASE}/alerts/", {"kind": "drift"}).json()["results"]
    assert alert["detail"]["objects"] == [{"identity": "table public.widgets", "kind": "table", "change": "modified"}]
    assert alert["event"] is not None and alert["state"] == "open"


# forced merges through the API: each path records what was lost, and the alert is raised --------

def _losing_request(repo, author, reviewer, *, conflict: bool):
    """!1 whose source drops public.widgets.weight_grams (a row holds a value in it on main, HEAD);
    with ``conflict`` both sides also add ``shade``, so the table is a conflict to resolve."""
    from merges import actions
    from pggit.client import Client

    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams"
                           + ("; ALTER TABLE public.widgets ADD COLUMN shade text" if conflict else ""))
    if conflict:
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute("ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Slimmer")
    actions.approve(reviewer, mr)
    return mr


def _assert_data_loss_alert(as_api, viewer, mr):
    from monitoring.models import Event

    merged = Event.objects.get(merge_request=mr, kind="merge_request.merged")
    assert merged.payload["forced"] is True and merged.payload["data_loss"] == ["public.widgets"], merged.payload
    run_tasks()
    [alert] = as_api(viewer).get(f"{BASE}/alerts/", {"kind": "data_loss_forced"}).json()["results"]
    assert (alert["severity"], alert["state"], alert["merge_request"]) == ("critical", "open", mr.number)
    assert alert["detail"]["lost"] == ["public.widgets"] and alert["event"] == merged.pk


@pytest.mark.django_db(transaction=True)
def test_a_merge_forced_through_the_api_raises_the_data_loss_alert(as_api, repo, author, reviewer, maintainer, viewer):
    mr = _losing_request(repo, author, reviewer, conflict=False)
    url = f"{BASE}/merge-requests/{mr.number}/merge/"
    response = as_api(maintainer).post(url, {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "data_loss_refused"
    response = as_api(maintainer).post(url, {"force": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "merged"
    _assert_data_loss_alert(as_api, viewer, mr)


@pytest.mark.django_db(transaction=True)
def test_the_last_conflict_resolved_with_force_through_the_api_raises_the_data_loss_alert(as_api, repo, author,
                                                                                          reviewer, maintainer,
                                                                                          viewer):
    mr = _losing_request(repo, author, reviewer, conflict=True)
    client = as_api(maintainer)
    response = client.post(f"{BASE}/merge-requests/{mr.number}/merge/", {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "merge_conflicts"
    response = client.post(f"{BASE}/merge-requests/{mr.number}/conflicts/resolve/",
                           {"identity": "table public.widgets", "choice": "source", "force": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "merged", response.json()
    _assert_data_loss_alert(as_api, viewer, mr)
