"""Prometheus metrics (``/metrics``, docs/metrics.md): a collector that reads everything at scrape
time — the app's tables (merge requests, alerts, webhook deliveries, the event outbox, the task
queue) and, through ``Client.audit_stats``, each repository's engine audit trail — so every worker
process answers the same; nothing is counted in memory.

``render()`` builds a registry of its own for one scrape and returns the text format.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from branches.models import Repository

log = logging.getLogger(__name__)

# the upper bounds (seconds) of pggit_operation_duration_seconds' buckets
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# access ----------------------------------------------------------------------------------------

def enabled() -> bool:
    """Off (the endpoint is a 404) unless a token or allowed networks are configured."""
    return bool(settings.PGGIT_METRICS_TOKEN or settings.PGGIT_METRICS_ALLOWED_NETWORKS)


def address_allowed(address: str | None) -> bool:
    """Whether ``address`` (the client's, REMOTE_ADDR) lies in PGGIT_METRICS_ALLOWED_NETWORKS;
    True when no networks are configured."""
    networks = settings.PGGIT_METRICS_ALLOWED_NETWORKS
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def token_matches(authorization: str | None) -> bool:
    """Whether the Authorization header is ``Bearer <PGGIT_METRICS_TOKEN>`` (constant-time
    comparison); True when no token is configured."""
    expected = settings.PGGIT_METRICS_TOKEN
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


# reading the engines ---------------------------------------------------------------------------

@dataclass
class AuditStats:
    """One repository's audit trail, counted: operations by (operation, outcome), merges by
    outcome, and the duration histogram by operation (per-bucket counts, not cumulative)."""

    operations: dict[tuple[str, str], int] = field(default_factory=dict)
    merges: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def audit_stats(repo: Repository) -> AuditStats:
    """Raises what the client raises when the engine does not answer."""
    from pggit.client import Client

    timeout = settings.PGGIT_METRICS_TIMEOUT_SECONDS
    stats = AuditStats()
    with Client(repo.dsn, connect_timeout=timeout) as client:
        rows = client.audit_stats(list(BUCKETS), timeout_ms=timeout * 1000)
    for r in rows:
        op, n = r["operation"], int(r["n"])
        key = (op, r["outcome"])
        stats.operations[key] = stats.operations.get(key, 0) + n
        if r["merge_outcome"]:
            stats.merges[r["merge_outcome"]] = stats.merges.get(r["merge_outcome"], 0) + n
        if r["bucket"] is not None:
            counts = stats.buckets.setdefault(op, [0] * (len(BUCKETS) + 1))
            counts[int(r["bucket"])] += n
            stats.seconds[op] = stats.seconds.get(op, 0.0) + float(r["seconds"])
    return stats


# the collector ---------------------------------------------------------------------------------

class PggitCollector:
    """Everything ``/metrics`` shows, read when collected."""

    def collect(self):
        repos = list(Repository.objects.order_by("slug").only("id", "slug", "dsn"))
        yield from self._engine_metrics(repos)
        yield self._merge_requests(repos)
        yield self._alerts()
        yield self._webhook_deliveries()
        yield self._event_lag()
        yield self._task_queue_depth()

    def _engine_metrics(self, repos):
        ops = CounterMetricFamily("pggit_operations", "Engine operations recorded in the audit trail.",
                                  labels=["repository", "operation", "outcome"])
        durations = HistogramMetricFamily("pggit_operation_duration_seconds",
                                          "How long engine operations took (the audit trail's duration).",
                                          labels=["repository", "operation"])
        merges = CounterMetricFamily("pggit_merges", "Engine merges by outcome (completed, conflicts, failed).",
                                     labels=["repository", "outcome"])
        errors = GaugeMetricFamily("pggit_scrape_errors",
                                   "1 when the repository's engine did not answer this scrape (its metrics are left out).",
                                   labels=["repository"])
        for repo in repos:
            try:
                stats = audit_stats(repo)
            except Exception as exc:  # one engine down must not fail the scrape
                log.warning("metrics: repository %s did not answer: %s", repo.slug, str(exc).strip())
                errors.add_metric([repo.slug], 1)
                continue
            errors.add_metric([repo.slug], 0)
            for (operation, outcome), n in sorted(stats.operations.items()):
                ops.add_metric([repo.slug, operation, outcome], n)
            for outcome, n in sorted(stats.merges.items()):
                merges.add_metric([repo.slug, outcome], n)
            for operation, counts in sorted(stats.buckets.items()):
                cumulative, running = [], 0
                for bound, n in zip([*(_le(b) for b in BUCKETS), "+Inf"], counts):
                    running += n
                    cumulative.append((bound, running))
                durations.add_metric([repo.slug, operation], cumulative, stats.seconds[operation])
        return [ops, durations, merges, errors]

    def _merge_requests(self, repos):
        from merges.models import MergeRequest

        family = GaugeMetricFamily("pggit_merge_requests", "Merge requests by state.",
                                   labels=["repository", "state"])
        counts = {(r["repository__slug"], r["state"]): r["n"]
                  for r in MergeRequest.objects.values("repository__slug", "state").annotate(n=Count("id"))}
        for repo in repos:
            for state in MergeRequest.State.values:
                family.add_metric([repo.slug, state], counts.get((repo.slug, state), 0))
        return family

    def _alerts(self):
        from monitoring.models import Alert, AlertKind

        family = GaugeMetricFamily("pggit_alerts", "Alerts by state and kind (every repository).",
                                   labels=["state", "kind"])
        counts = {(r["state"], r["kind"]): r["n"] for r in Alert.objects.values("state", "kind").annotate(n=Count("id"))}
        for state in Alert.State.values:
            for kind in AlertKind.values:
                family.add_metric([state, kind], counts.get((state, kind), 0))
        return family

    def _webhook_deliveries(self):
        from monitoring.models import WebhookDelivery

        family = GaugeMetricFamily("pggit_webhook_deliveries", "Webhook deliveries by state.", labels=["state"])
        counts = dict(WebhookDelivery.objects.values_list("state").annotate(n=Count("id")))
        for state in WebhookDelivery.State.values:
            family.add_metric([state], counts.get(state, 0))
        return family

    def _event_lag(self):
        from monitoring.models import Event

        oldest = Event.objects.filter(sent_at__isnull=True).aggregate(at=Min("created_at"))["at"]
        lag = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
        return GaugeMetricFamily("pggit_event_lag_seconds",
                                 "Age of the oldest event not yet sent to the live pages (0 when none).", value=lag)

    def _task_queue_depth(self):
        from django_tasks_db.models import DBTaskResult

        return GaugeMetricFamily("pggit_task_queue_depth", "Background tasks ready to run now.",
                                 value=DBTaskResult.objects.ready().count())


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)


def render() -> bytes:
    """One scrape, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PggitCollector())
    return generate_latest(registry)
