"""/metrics (monitoring/metrics.py): off without a token or networks, the token and the allowed
networks, the text parses as Prometheus' format, the engine's counts match what was done to a real
repository, an engine that does not answer is skipped and counted, and the app's own gauges
(merge requests, alerts, webhook deliveries, event lag, task queue) follow the tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from events_support import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cret-metrics-token-for-tests"
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "pggit.json"


@pytest.fixture
def token(settings):
    settings.PGGIT_METRICS_TOKEN = TOKEN
    settings.PGGIT_METRICS_ALLOWED_NETWORKS = []
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def named(samples, name, **labels):
    """The samples called ``name`` whose labels include ``labels``."""
    return {key: v for key, v in samples.items()
            if key[0] == name and all(dict(key[1]).get(k) == want for k, want in labels.items())}


# access ----------------------------------------------------------------------------------------

def test_metrics_are_off_without_a_token_or_networks(client, settings):
    settings.PGGIT_METRICS_TOKEN = ""
    settings.PGGIT_METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_the_token_is_required_and_checked_without_the_sign_in_redirect(client, token):
    missing = client.get("/metrics")
    assert missing.status_code == 401  # not a 302 to the sign-in page
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ok.status_code == 200
    assert b"pggit_task_queue_depth" in ok.content
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_an_allowed_network_opens_the_metrics_to_its_addresses_only(client, settings):
    settings.PGGIT_METRICS_TOKEN = ""
    settings.PGGIT_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200
    settings.PGGIT_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "fd00::/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="fd00::5").status_code == 200


def test_with_both_settings_the_address_and_the_token_must_hold(client, settings):
    settings.PGGIT_METRICS_TOKEN = TOKEN
    settings.PGGIT_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


# the engine's audit trail ----------------------------------------------------------------------

def test_operation_counts_and_the_histogram_match_what_the_engine_did(client, token, repo):
    from branches.actions import client_for

    before = scrape(client)
    slug = repo.slug
    # the fixture's engine_db made one branch (feature-colors)
    assert value(before, "pggit_operations_total", repository=slug, operation="create_branch", outcome="ok") == 1
    with client_for(repo) as engine:
        engine.create_branch("metrics-one")
        engine.create_branch("metrics-two")
        with pytest.raises(Exception):
            engine.merge("no-such-branch", "main")  # fails, and the client audits the failure
    after = scrape(client)
    assert value(after, "pggit_operations_total", repository=slug, operation="create_branch", outcome="ok") == 3
    count = value(after, "pggit_operation_duration_seconds_count", repository=slug, operation="create_branch")
    assert count == 3
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in
                      named(after, "pggit_operation_duration_seconds_bucket", repository=slug,
                            operation="create_branch").items()))
    assert buckets[-1] == (float("inf"), 3)
    merges = named(after, "pggit_operations_total", repository=slug, operation="merge")
    assert sum(merges.values()) == 1 and not named(after, "pggit_operations_total", repository=slug,
                                                   operation="merge", outcome="ok")
    assert value(after, "pggit_merges_total", repository=slug, outcome="failed") == 1
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))  # cumulative
    assert value(after, "pggit_operation_duration_seconds_sum", repository=slug, operation="create_branch") > 0
    assert value(after, "pggit_scrape_errors", repository=slug) == 0


def test_a_completed_merge_counts_as_completed(client, token, repo):
    from pggit.client import Client

    with Client(repo.dsn) as engine:
        engine.apply("feature-colors", "CREATE TABLE public.colors (id integer PRIMARY KEY)", "colors")
        assert engine.merge("feature-colors", "main")["status"] in ("merged", "fast_forward")
    samples = scrape(client)
    assert value(samples, "pggit_merges_total", repository=repo.slug, outcome="completed") == 1
    assert named(samples, "pggit_merges_total", repository=repo.slug, outcome="failed") == {}
    assert value(samples, "pggit_operations_total", repository=repo.slug, operation="merge", outcome="ok") >= 1


def test_the_audit_histogram_puts_each_duration_in_its_bucket(repo):
    """Durations at, below and above a bound land where Prometheus' ``le`` says (the client's
    one query), checked against the rows themselves."""
    from pggit.client import Client

    with Client(repo.dsn) as engine:
        rows = engine.audit(limit=1000)
        bounds = sorted({round(r["duration_ms"] / 1000.0, 9) for r in rows if r["duration_ms"] is not None})
        stats = engine.audit_stats(bounds)
        with pytest.raises(ValueError):
            engine.audit_stats([1.0, 0.5])
    expected: dict[tuple, int] = {}
    for r in rows:
        d = r["duration_ms"]
        bucket = None if d is None else sum(1 for b in bounds if b < d / 1000.0)
        key = (r["operation"], r["outcome"], bucket)
        expected[key] = expected.get(key, 0) + 1
    got: dict[tuple, int] = {}
    for s in stats:
        key = (s["operation"], s["outcome"], s["bucket"])
        got[key] = got.get(key, 0) + s["n"]
    assert got == expected
    assert sum(got.values()) == len(rows) > 0


def test_an_engine_that_does_not_answer_is_skipped_and_counted(client, token, repo):
    from branches.models import Repository

    down = Repository.objects.create(name="down", dsn="postgresql://postgres@127.0.0.1:1/nothing")
    samples = scrape(client)
    assert value(samples, "pggit_scrape_errors", repository=down.slug) == 1
    assert value(samples, "pggit_scrape_errors", repository=repo.slug) == 0
    assert named(samples, "pggit_operations_total", repository=down.slug) == {}
    assert named(samples, "pggit_operations_total", repository=repo.slug)
    # the app's own metrics still name it
    assert value(samples, "pggit_merge_requests", repository=down.slug, state="open") == 0


# the app's tables ------------------------------------------------------------------------------

def test_merge_requests_alerts_deliveries_lag_and_queue_follow_the_tables(client, token, repo, author):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from merges import actions
    from monitoring.models import Alert, Event, Webhook, WebhookDelivery

    run_tasks()  # (anything the fixture queued)
    quiet = scrape(client)
    assert value(quiet, "pggit_event_lag_seconds") == 0
    assert value(quiet, "pggit_task_queue_depth") == 0
    assert value(quiet, "pggit_merge_requests", repository=repo.slug, state="open") == 0

    actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")
    busy = scrape(client)
    assert value(busy, "pggit_merge_requests", repository=repo.slug, state="open") == 1
    assert value(busy, "pggit_merge_requests", repository=repo.slug, state="merged") == 0
    assert value(busy, "pggit_task_queue_depth") >= 1  # merge_request.opened's delivery waits for the worker
    run_tasks()
    assert value(scrape(client), "pggit_task_queue_depth") == 0

    # an event the live pages have not had for a minute (Redis was down, say)
    stuck = Event.objects.create(kind="branch.created", repository=repo, payload={})
    Event.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    assert 60 <= value(scrape(client), "pggit_event_lag_seconds") < 120
    Event.objects.filter(pk=stuck.pk).update(sent_at=timezone.now())
    assert value(scrape(client), "pggit_event_lag_seconds") == 0

    Alert.objects.create(repository=repo, kind="drift", severity="warning", title="drift", dedup_key="drift")
    Alert.objects.create(repository=repo, kind="merge_failed", severity="warning", title="x", dedup_key="m",
                         state=Alert.State.RESOLVED)
    hook = Webhook.objects.create(repository=repo, url="http://127.0.0.1:9/hook")
    for state in ("pending", "failed", "failed"):
        WebhookDelivery.objects.create(webhook=hook, delivery_id=uuid.uuid4(), kind="ping", body="{}", state=state,
                                       next_attempt_at=timezone.now())
    samples = scrape(client)
    assert value(samples, "pggit_alerts", state="open", kind="drift") == 1
    assert value(samples, "pggit_alerts", state="resolved", kind="merge_failed") == 1
    assert value(samples, "pggit_alerts", state="acknowledged", kind="drift") == 0
    assert value(samples, "pggit_webhook_deliveries", state="pending") == 1
    assert value(samples, "pggit_webhook_deliveries", state="failed") == 2
    assert value(samples, "pggit_webhook_deliveries", state="delivered") == 0


# the Grafana dashboard -------------------------------------------------------------------------

def dashboard_queries() -> list[str]:
    """Every PromQL text of the dashboard: the panels' ``expr`` and the variables' ``definition``."""
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("expr", "definition"):
                if isinstance(node.get(key), str):
                    exprs.append(node[key])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(DASHBOARD.read_text()))
    return exprs


def test_every_metric_the_dashboard_queries_is_in_a_real_scrape(client, token, repo):
    from branches.actions import client_for

    with client_for(repo) as engine, pytest.raises(Exception):
        engine.merge("no-such-branch", "main")  # (a merge outcome, so pggit_merges_total has a sample)
    exprs = dashboard_queries()
    assert len(exprs) >= 10
    assert any("histogram_quantile(0.95" in e and "pggit_operation_duration_seconds_bucket" in e for e in exprs)
    used = {name for e in exprs for name in re.findall(r"\b(pggit_[a-z_]+)\b", e)}
    assert used
    exposed = {name for name, _ in scrape(client)}
    assert sorted(used - exposed) == []
