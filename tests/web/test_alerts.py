"""Alerts: each rule raises its alert from a real situation (drift made behind the engine's back,
capture turned off in the catalog, a refused merge, a forced merge that drops a column, a merge
request nobody reviewed), one alert per condition while it is active, the events recorded with
them, and the page's roles (developers acknowledge and resolve, viewers read, outsiders get 404)."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.urls import reverse
from django.utils import timezone

from events_support import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def behind_the_engines_back(repo, *statements):
    """DDL run with the engine's capture off (as its owner may): drift."""
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        for statement in statements:
            conn.execute(statement)


def live(repo, *statements):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def alerts(repo, **filters):
    from monitoring.models import Alert

    return list(Alert.objects.filter(repository=repo, **filters).order_by("id"))


def kinds(repo, prefix=""):
    from monitoring.models import Event

    return [k for k in Event.objects.filter(repository=repo).order_by("id").values_list("kind", flat=True)
            if k.startswith(prefix)]


def make_due(repo):
    from monitoring.models import AlertRule

    AlertRule.objects.filter(repository=repo).update(checked_at=None)


def open_request(repo, author, **kw):
    from merges import actions

    kw.setdefault("source", "feature-colors")
    kw.setdefault("target", "main")
    kw.setdefault("title", "Colors")
    return actions.open_merge_request(author, repo, **kw)


# rules ---------------------------------------------------------------------------------------

def test_every_repository_gets_the_default_rules_when_first_read(repo):
    from monitoring.alerts import rules_for
    from monitoring.models import AlertRule

    assert not AlertRule.objects.filter(repository=repo).exists()  # made before alerts were looked at
    rules = rules_for(repo)
    assert {k: (r.enabled, r.severity, r.threshold) for k, r in rules.items()} == {
        "drift": (True, "warning", 15), "merge_failed": (True, "warning", None),
        "data_loss_forced": (True, "critical", None), "capture_off": (True, "critical", 15),
        "stale_review": (True, "info", 48), "webhook_failing": (True, "warning", None)}
    rules_for(repo)
    assert AlertRule.objects.filter(repository=repo).count() == 6


# drift ---------------------------------------------------------------------------------------

def test_periodic_drift_check_raises_one_alert_then_clears_it(repo):
    from monitoring.alerts import run_checks

    assert run_checks() == 1  # never checked: due
    run_tasks()
    assert alerts(repo) == []  # no drift yet
    assert run_checks() == 0  # checked less than 15 minutes ago
    behind_the_engines_back(repo, "CREATE TABLE public.sneaky (id integer)")
    make_due(repo)
    assert run_checks() == 1
    run_tasks()
    [alert] = alerts(repo)
    assert (alert.kind, alert.severity, alert.state, alert.dedup_key) == ("drift", "warning", "open", "drift")
    assert alert.detail["objects"] == [{"identity": "table public.sneaky", "kind": "table", "change": "added"}]
    assert alert.event.kind == "drift.found" and alert.event.payload["drift"][0]["identity"] == "table public.sneaky"
    assert kinds(repo) == ["drift.found", "alert.raised"]
    # checked again while it is open: the same alert, seen twice, no new events
    make_due(repo)
    run_checks()
    run_tasks()
    [alert] = alerts(repo)
    assert alert.occurrences == 2 and kinds(repo) == ["drift.found", "alert.raised"]
    # the drift goes away: the alert is resolved by nobody
    behind_the_engines_back(repo, "DROP TABLE public.sneaky")
    make_due(repo)
    run_checks()
    run_tasks()
    [alert] = alerts(repo)
    assert alert.state == "resolved" and alert.resolved_by is None and "matches HEAD" in alert.resolution
    assert kinds(repo) == ["drift.found", "alert.raised", "alert.resolved"]


def test_the_dashboards_drift_box_key_changes_when_drift_may_have_changed(repo, as_user, author):
    """The drift box loads itself after the page; a live dashboard loads it again only when its
    key (data-live-key) changes: on drift found or cleared, a checkout or a merge, not on a commit."""
    import re

    from monitoring.alerts import check_repository_now
    from monitoring.events import record

    page = as_user(author)

    def key():
        html = page.get(reverse("branches:dashboard", kwargs={"slug": repo.slug})).content.decode()
        return re.search(r'id="drift" data-live-region data-live-key="(\d+)"', html).group(1)

    first = key()
    record("commit.captured", repo, actor_name="psql")
    assert key() == first
    behind_the_engines_back(repo, "CREATE TABLE public.sneaky (id integer)")
    check_repository_now(repo.pk, ["drift"])  # drift.found, alert.raised
    found = key()
    assert found != first
    check_repository_now(repo.pk, ["drift"])  # the same drift again: no event
    assert key() == found
    behind_the_engines_back(repo, "DROP TABLE public.sneaky")
    check_repository_now(repo.pk, ["drift"])  # alert.resolved
    cleared = key()
    assert cleared != found
    record("checkout", repo, actor_name="psql")
    assert key() != cleared


def test_two_workers_checking_the_same_drift_at_once_raise_it_once(repo):
    from django.db import connections

    from monitoring.alerts import check_repository_now, claim_check, rules_for

    rule = rules_for(repo)["drift"]
    assert claim_check(rule) and not claim_check(rule)  # the second worker finds it claimed
    behind_the_engines_back(repo, "ALTER TABLE public.widgets ADD COLUMN sneaky text")
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait(5)
            results.append(check_repository_now(repo.pk, ["drift"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["drift", "drift"]
    [alert] = alerts(repo)
    assert alert.occurrences == 2 and alert.title.startswith("1 object(s) changed behind the engine's back")
    assert kinds(repo) == ["drift.found", "alert.raised"]


def test_a_checkout_is_followed_by_a_drift_check(repo, maintainer):
    from branches import actions as branch_actions
    from monitoring.listener import catch_up
    from monitoring.models import AlertRule
    from pggit.events import EngineEvents

    source = EngineEvents(repo.dsn).connect()
    try:
        catch_up(repo, source)
        branch_actions.checkout(maintainer, repo, "feature-colors")
        behind_the_engines_back(repo, "CREATE TABLE public.after_checkout (id integer)")
        made = catch_up(repo, source)
    finally:
        source.close()
    assert "checkout" in [e.kind for e in made]
    run_tasks()  # delivers the checkout event (its hook enqueues a drift check), then runs the check
    [alert] = alerts(repo)
    assert alert.kind == "drift" and "table public.after_checkout" in alert.title
    assert not AlertRule.objects.filter(repository=repo, checked_at__isnull=False).exists()  # not the periodic job


def test_a_rule_turned_off_raises_nothing(repo, maintainer):
    from monitoring import actions
    from monitoring.alerts import check_repository_now

    actions.save_rule(maintainer, repo, "drift", enabled=False)
    behind_the_engines_back(repo, "CREATE TABLE public.sneaky (id integer)")
    check_repository_now(repo.pk, ["drift"])
    assert alerts(repo) == [] and kinds(repo) == []


# capture off ---------------------------------------------------------------------------------

def test_capture_turned_off_in_the_catalog_raises_a_critical_alert_until_it_is_back(repo):
    from monitoring.alerts import check_repository_now

    dbname = psycopg.conninfo.conninfo_to_dict(repo.dsn)["dbname"]
    live(repo, "ALTER EVENT TRIGGER pggit_ddl_end DISABLE")
    check_repository_now(repo.pk, ["capture_off"])
    [alert] = alerts(repo)
    assert (alert.kind, alert.severity, alert.state) == ("capture_off", "critical", "open")
    assert alert.detail["reasons"] == [{"reason": "trigger_disabled", "detail": "event trigger pggit_ddl_end is disabled"}]
    live(repo, "ALTER EVENT TRIGGER pggit_ddl_end ENABLE",
         psycopg.sql.SQL("ALTER DATABASE {} SET pggit.capture = off").format(psycopg.sql.Identifier(dbname)))
    check_repository_now(repo.pk, ["capture_off"])
    [alert] = alerts(repo)  # still the same condition: capture is off for new sessions
    assert alert.occurrences == 2
    live(repo, psycopg.sql.SQL("ALTER DATABASE {} RESET pggit.capture").format(psycopg.sql.Identifier(dbname)))
    check_repository_now(repo.pk, ["capture_off"])
    [alert] = alerts(repo)
    assert alert.state == "resolved" and alert.resolution == "capture is on again"
    assert kinds(repo) == ["alert.raised", "alert.resolved"]


# merges ----------------------------------------------------------------------------------------

def test_a_refused_merge_raises_merge_failed_once_from_the_app_and_the_engine(repo, author, reviewer, maintainer):
    from merges import actions
    from monitoring.listener import catch_up
    from pggit.client import Client
    from pggit.events import EngineEvents

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    source = EngineEvents(repo.dsn).connect()
    try:
        catch_up(repo, source)
        outcome = actions.merge(maintainer, mr)
        assert outcome.status == "refused"
        engine_events = [e.kind for e in catch_up(repo, source)]
    finally:
        source.close()
    assert "merge.failed" in engine_events  # the engine's audit row of the same refusal
    run_tasks()
    [alert] = alerts(repo)
    assert (alert.kind, alert.dedup_key, alert.state) == ("merge_failed", "merge_failed:main", "open")
    assert alert.merge_request == mr and alert.event.kind == "merge.failed" and alert.event.source == "app"
    assert "weight_grams" in alert.detail["error"] and alert.detail["forced"] is False
    assert alert.occurrences == 2  # the app's event and the engine's: one condition
    assert kinds(repo, "alert.") == ["alert.raised"]


def test_a_forced_merge_that_drops_a_column_with_data_raises_a_critical_alert(repo, author, reviewer, maintainer):
    from merges import actions
    from monitoring.models import Event
    from pggit.client import Client

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")  # a real three-way merge
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    assert actions.merge(maintainer, mr, force=True).status == "merged"
    merged = Event.objects.get(repository=repo, kind="merge_request.merged")
    assert merged.payload["forced"] is True and merged.payload["data_loss"] == ["public.widgets"]
    run_tasks()
    [alert] = alerts(repo, kind="data_loss_forced")
    assert (alert.severity, alert.state, alert.merge_request) == ("critical", "open", mr)
    assert alert.event == merged and alert.detail["lost"] == ["public.widgets"]
    assert "public.widgets" in alert.title
    with psycopg.connect(repo.dsn) as conn:  # the column is really gone
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.widgets'::regclass "
                            "AND attname = 'weight_grams' AND NOT attisdropped").fetchone()[0] == 0


def test_a_merge_forced_from_the_cli_raises_the_data_loss_alert_naming_what_went(repo):
    """No merge request: the engine's audit row (0.9.0) says it was forced and what it dropped."""
    from monitoring.listener import catch_up
    from pggit.client import Client
    from pggit.events import EngineEvents

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")  # a real three-way merge
    source = EngineEvents(repo.dsn).connect()
    try:
        catch_up(repo, source)
        with Client(repo.dsn, person="ops-pipeline") as cli:
            assert cli.merge("feature-colors", "main", force=True)["status"] == "merged"
            cli.drop_shadow()
        made = catch_up(repo, source)
    finally:
        source.close()
    [completed] = [e for e in made if e.kind == "merge.completed"]
    run_tasks()
    [alert] = alerts(repo, kind="data_loss_forced")
    assert (alert.severity, alert.state, alert.merge_request, alert.event) == ("critical", "open", None, completed)
    assert alert.detail["lost"] == ["table public.widgets"] and "table public.widgets" in alert.title
    assert alert.dedup_key == f"data_loss_forced:commit:{completed.payload['audit']['args']['commit']}"
    assert completed.payload["audit"]["person"] == "ops-pipeline"


def test_a_forced_merge_request_raises_one_alert_from_the_app_and_the_engine(repo, author, reviewer, maintainer):
    from merges import actions
    from monitoring.listener import catch_up
    from pggit.client import Client
    from pggit.events import EngineEvents

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    source = EngineEvents(repo.dsn).connect()
    try:
        catch_up(repo, source)
        assert actions.merge(maintainer, mr, force=True).status == "merged"
        assert "merge.completed" in [e.kind for e in catch_up(repo, source)]
    finally:
        source.close()
    run_tasks()
    [alert] = alerts(repo, kind="data_loss_forced")
    assert alert.occurrences == 2  # the app's merged event and the engine's: one merge


def conflicting_request(repo, author, reviewer, *, approve=True):
    """!1 with a conflict on public.widgets (both sides add ``shade``); the source also drops
    ``weight_grams``, which holds data on main (HEAD): taking the source's side loses it."""
    from pggit.client import Client

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams; "
                                             "ALTER TABLE public.widgets ADD COLUMN shade text")
    live(repo, "ALTER TABLE public.widgets ADD COLUMN shade integer")
    mr = open_request(repo, author)
    if approve:
        from merges import actions

        actions.approve(reviewer, mr)
    return mr


def assert_forced_loss_alerted(repo, mr):
    """The request is merged, its merged event names what was lost, and the critical alert is up."""
    from merges.models import MergeRequest
    from monitoring.models import Event

    assert MergeRequest.objects.get(pk=mr.pk).state == "merged"
    merged = Event.objects.get(repository=repo, kind="merge_request.merged")
    assert merged.payload["forced"] is True and merged.payload["data_loss"] == ["public.widgets"], merged.payload
    run_tasks()
    [alert] = alerts(repo, kind="data_loss_forced")
    assert (alert.severity, alert.state, alert.merge_request, alert.event) == ("critical", "open", mr, merged)
    assert alert.detail["lost"] == ["public.widgets"]
    with psycopg.connect(repo.dsn) as conn:  # the column and its data are really gone
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.widgets'::regclass "
                            "AND attname = 'weight_grams' AND NOT attisdropped").fetchone()[0] == 0


def test_the_last_conflict_resolved_with_force_raises_the_data_loss_alert(repo, author, reviewer, maintainer):
    """The conflicts page's path: the last resolution completes the merge, with force."""
    from merges import actions

    mr = conflicting_request(repo, author, reviewer)
    assert actions.merge(maintainer, mr).status == "conflicts"
    outcome = actions.resolve(maintainer, MergeRequest_(mr), "table public.widgets", None, choice="source", force=True)
    assert outcome.status == "merged", outcome
    assert_forced_loss_alerted(repo, mr)


def test_the_last_conflict_resolved_into_a_refused_merge_records_merge_failed_on_the_request(repo, author, reviewer,
                                                                                              maintainer):
    """The conflicts page's last resolution stopped by the data-loss guard is a failed merge of the
    request, as the merge box's would be: merge.failed (app) with the request, its merge_error,
    one merge_failed alert about it (the engine's audit row of the same refusal counts on it)."""
    from merges import actions
    from monitoring.models import Event

    mr = conflicting_request(repo, author, reviewer)
    assert actions.merge(maintainer, mr).status == "conflicts"
    refused = actions.resolve(maintainer, MergeRequest_(mr), "table public.widgets", None, choice="source")
    assert refused.status == "refused" and "weight_grams" in refused.message
    assert "weight_grams" in MergeRequest_(mr).merge_error
    [failed] = Event.objects.filter(repository=repo, kind="merge.failed", source="app")
    assert failed.merge_request == mr and failed.payload["forced"] is False
    run_tasks()
    [alert] = alerts(repo, kind="merge_failed")
    assert (alert.merge_request, alert.event, alert.state) == (mr, failed, "open")
    assert alerts(repo, kind="data_loss_forced") == []


def test_forcing_a_merge_whose_conflicts_were_resolved_raises_the_data_loss_alert(repo, author, reviewer, maintainer):
    """Resolved first (refused by the data-loss guard), then merged with force from the merge box."""
    from merges import actions

    mr = conflicting_request(repo, author, reviewer)
    assert actions.merge(maintainer, mr).status == "conflicts"
    assert actions.resolve(maintainer, MergeRequest_(mr), "table public.widgets", None,
                           choice="source").status == "refused"
    assert actions.merge(maintainer, MergeRequest_(mr), force=True).status == "merged"
    assert_forced_loss_alerted(repo, mr)


def test_forcing_a_merge_that_applies_earlier_resolutions_again_raises_the_data_loss_alert(repo, author, reviewer,
                                                                                           maintainer):
    """Resolved before the approval, the engine merge aborted: the forced merge opens a new one and
    applies the stored resolution again; what it lost is the merge as resolved, not as opened."""
    from merges import actions

    mr = conflicting_request(repo, author, reviewer, approve=False)
    actions.open_conflicts(author, mr)
    assert actions.resolve(author, MergeRequest_(mr), "table public.widgets", None, choice="source").status == "ready"
    actions.abort(author, MergeRequest_(mr))
    actions.approve(reviewer, MergeRequest_(mr))
    assert actions.merge(maintainer, MergeRequest_(mr), force=True).status == "merged"
    assert_forced_loss_alerted(repo, mr)


def test_a_forced_merge_whose_resolutions_keep_the_data_raises_no_data_loss_alert(repo, author, reviewer, maintainer):
    """The same request resolved with the target's side (main's table, its column kept): forced or
    not, nothing is lost, and the merged event says so."""
    from merges import actions
    from monitoring.models import Event

    mr = conflicting_request(repo, author, reviewer, approve=False)
    actions.open_conflicts(author, mr)
    assert actions.resolve(author, MergeRequest_(mr), "table public.widgets", None, choice="target").status == "ready"
    actions.abort(author, MergeRequest_(mr))
    actions.approve(reviewer, MergeRequest_(mr))
    assert actions.merge(maintainer, MergeRequest_(mr), force=True).status == "merged"
    merged = Event.objects.get(repository=repo, kind="merge_request.merged")
    assert merged.payload["forced"] is True and merged.payload["data_loss"] == [], merged.payload
    run_tasks()
    assert alerts(repo, kind="data_loss_forced") == []
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT weight_grams FROM public.widgets").fetchall() == [(12,)]


def test_resolving_with_force_on_the_conflicts_page_raises_the_data_loss_alert(repo, author, reviewer, maintainer,
                                                                              as_user):
    from merges import actions

    mr = conflicting_request(repo, author, reviewer)
    assert actions.merge(maintainer, mr).status == "conflicts"
    page = as_user(maintainer)
    url = reverse("merges:resolve", kwargs={"slug": repo.slug, "number": mr.number})
    response = page.post(url, {"object": "table public.widgets", "choice": "source", "result": "", "force": "on"})
    assert response.status_code == 302
    assert_forced_loss_alerted(repo, mr)


def test_merging_with_force_from_the_merge_box_raises_the_data_loss_alert(repo, author, reviewer, maintainer,
                                                                           as_user):
    from merges import actions
    from pggit.client import Client

    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    page = as_user(maintainer)
    url = reverse("merges:merge", kwargs={"slug": repo.slug, "number": mr.number})
    assert page.post(url, {"force": "on"}).status_code == 302
    assert_forced_loss_alerted(repo, mr)


def MergeRequest_(mr):
    """The request as it is now (actions take the row, and some read its engine merge)."""
    from merges.models import MergeRequest

    return MergeRequest.objects.get(pk=mr.pk)


def test_a_merge_without_force_raises_no_data_loss_alert(repo, author, reviewer, maintainer):
    from merges import actions
    from pggit.client import Client

    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (id integer)")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    assert actions.merge(maintainer, mr).status == "merged"
    run_tasks()
    assert alerts(repo, kind="data_loss_forced") == [] and alerts(repo, kind="merge_failed") == []


# reviews -----------------------------------------------------------------------------------------

def test_a_request_waiting_for_review_too_long_raises_info_until_reviewed(repo, author, reviewer):
    from merges import actions
    from merges.models import MergeRequest
    from monitoring.alerts import run_checks

    mr = open_request(repo, author)
    draft = open_request(repo, author, source="main", target="feature-colors", title="Draft", draft=True)
    run_checks()
    assert alerts(repo, kind="stale_review") == []  # just opened
    MergeRequest.objects.filter(pk__in=[mr.pk, draft.pk]).update(created_at=timezone.now() - timedelta(hours=49))
    run_checks()
    run_checks()
    [alert] = alerts(repo, kind="stale_review")
    assert (alert.severity, alert.merge_request, alert.occurrences) == ("info", mr, 2)
    assert alert.dedup_key == f"stale_review:mr:{mr.pk}" and "48 h" in alert.title
    actions.add_comment(reviewer, mr, "a comment is not a review")
    run_checks()
    assert alerts(repo, kind="stale_review")[0].state == "open"
    actions.approve(reviewer, mr)
    run_checks()
    [alert] = alerts(repo, kind="stale_review")
    assert alert.state == "resolved" and alert.resolved_by is None


# acknowledging and resolving (actions and the page) ---------------------------------------------

def _raise(repo, key="merge_failed:main", kind="merge_failed"):
    from monitoring.alerts import raise_alert

    alert, new = raise_alert(repo, kind, key, f"Merge into {key} failed", detail={"error": "boom <b>"})
    assert new
    return alert


def test_developers_acknowledge_and_resolve_viewers_cannot_outsiders_see_nothing(as_user, repo, author, viewer,
                                                                                 outsider):
    from monitoring.models import Alert, Event

    alert = _raise(repo)
    ack = reverse("monitoring:acknowledge", kwargs={"slug": repo.slug, "alert_id": alert.pk})
    res = reverse("monitoring:resolve", kwargs={"slug": repo.slug, "alert_id": alert.pk})
    assert as_user(outsider).post(ack).status_code == 404
    assert as_user(viewer).post(ack).status_code == 403
    assert as_user(viewer).post(res).status_code == 403
    assert Alert.objects.get(pk=alert.pk).state == "open"
    c = as_user(author)
    assert c.post(ack, {"next": "?state=all"})["Location"].endswith("/alerts/?state=all")
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", author) and alert.acknowledged_at
    acked = Event.objects.get(repository=repo, kind="alert.acknowledged")
    assert acked.actor == author and acked.payload["alert"]["state"] == "acknowledged"
    assert acked.payload["alert"]["acknowledged_by"] == author.username
    # acknowledged is still active: the condition raises nothing new
    from monitoring.alerts import raise_alert

    assert raise_alert(repo, "merge_failed", "merge_failed:main", "again")[1] is False
    c.post(res, {"reason": "fixed the migration"})
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_by, alert.resolution) == ("resolved", author, "fixed the migration")
    assert kinds(repo, "alert.") == ["alert.raised", "alert.acknowledged", "alert.resolved"]
    # resolving twice says so and records nothing
    page = c.post(res, follow=True).content.decode()
    assert "resolved already" in page
    assert kinds(repo, "alert.") == ["alert.raised", "alert.acknowledged", "alert.resolved"]
    # now resolved, the same condition opens a new alert
    assert raise_alert(repo, "merge_failed", "merge_failed:main", "again")[1] is True
    assert as_user(author).get(reverse("monitoring:acknowledge", kwargs={"slug": repo.slug, "alert_id": 999999})
                               ).status_code == 405


def test_alerts_page_lists_filters_and_counts(as_user, repo, author, viewer, outsider):
    from monitoring import actions

    drift = _raise(repo, "drift", "drift")
    failed = _raise(repo)
    capture = _raise(repo, "capture_off", "capture_off")  # critical by default
    actions.resolve(author, drift)
    url = reverse("monitoring:alerts", kwargs={"slug": repo.slug})
    assert as_user(outsider).get(url).status_code == 404
    c = as_user(viewer)
    page = c.get(url).content.decode()
    assert f'id="alert-{failed.pk}"' in page and f'id="alert-{capture.pk}"' in page
    assert f'id="alert-{drift.pk}"' not in page  # active by default
    assert 'data-count="active">2<' in page and 'data-count="resolved">1<' in page and 'data-count="all">3<' in page
    assert 'data-count="critical">1<' in page and 'data-count="warning">1<' in page
    assert "/acknowledge/" not in page and "/resolve/" not in page and "boom &lt;b&gt;" in page  # read only; escaped
    page = c.get(url, {"state": "all", "severity": "critical"}).content.decode()
    assert f'id="alert-{capture.pk}"' in page and f'id="alert-{failed.pk}"' not in page
    page = c.get(url, {"state": "resolved", "kind": "drift"}).content.decode()
    assert f'id="alert-{drift.pk}"' in page and f'id="alert-{failed.pk}"' not in page
    assert f"/alerts/{failed.pk}/acknowledge/" in as_user(author).get(url).content.decode()
    assert 'href="/repos/%s/alerts/"' % repo.slug in c.get(reverse("branches:dashboard", kwargs={"slug": repo.slug})
                                                            ).content.decode()


def test_maintainers_edit_rules_others_cannot(as_user, repo, maintainer, author, outsider):
    from monitoring.models import AlertRule

    url = reverse("monitoring:rules", kwargs={"slug": repo.slug})
    assert as_user(outsider).get(url).status_code == 404
    assert as_user(author).get(url).status_code == 403
    assert as_user(author).post(url, {"kind": "drift", "severity": "critical"}).status_code == 403
    c = as_user(maintainer)
    assert 'id="rule-stale_review"' in c.get(url).content.decode()
    c.post(url, {"kind": "stale_review", "enabled": "on", "severity": "warning", "threshold": "6"})
    rule = AlertRule.objects.get(repository=repo, kind="stale_review")
    assert (rule.enabled, rule.severity, rule.threshold, rule.updated_by) == (True, "warning", 6, maintainer)
    c.post(url, {"kind": "drift", "severity": "info"})  # the box unticked: off
    assert AlertRule.objects.get(repository=repo, kind="drift").enabled is False
    page = c.post(url, {"kind": "merge_failed", "enabled": "on", "severity": "info", "threshold": "3"},
                  follow=True).content.decode()
    assert "takes no threshold" in page
    assert AlertRule.objects.get(repository=repo, kind="merge_failed").severity == "warning"
