"""What the alerts page and the REST API show: the list with its filters, and the counts; and the
dashboard's drift box key (``drift_key``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from branches.models import Repository
from monitoring.models import Alert, AlertKind, Event, EventKind, Severity

# the state filter: active (open and acknowledged; the default), one state, or all
STATE_FILTERS = {
    "active": list(Alert.ACTIVE),
    "open": [Alert.State.OPEN],
    "acknowledged": [Alert.State.ACKNOWLEDGED],
    "resolved": [Alert.State.RESOLVED],
    "all": None,
}
DEFAULT_STATE = "active"


@dataclass
class Filters:
    state: str = DEFAULT_STATE
    severity: str = ""
    kind: str = ""

    @classmethod
    def parse(cls, params) -> "Filters":
        """From a query string; unknown values fall back to no filter (the page shows what it used)."""
        state = params.get("state") or DEFAULT_STATE
        severity = params.get("severity") or ""
        kind = params.get("kind") or ""
        return cls(state=state if state in STATE_FILTERS else DEFAULT_STATE,
                   severity=severity if severity in Severity.values else "",
                   kind=kind if kind in AlertKind.values else "")


def alerts(repo: Repository, filters: Filters | None = None):
    """The repository's alerts, newest first, filtered."""
    filters = filters or Filters()
    qs = (Alert.objects.filter(repository=repo)
          .select_related("merge_request", "acknowledged_by", "resolved_by", "repository"))
    states = STATE_FILTERS.get(filters.state)
    if states is not None:
        qs = qs.filter(state__in=states)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return qs.order_by("-id")


@dataclass
class Stats:
    total: int = 0
    by_state: dict = field(default_factory=dict)
    by_severity: dict = field(default_factory=dict)  # active alerts only
    by_kind: dict = field(default_factory=dict)  # active alerts only

    @property
    def active(self) -> int:
        return self.by_state.get("open", 0) + self.by_state.get("acknowledged", 0)


def stats(repo: Repository) -> Stats:
    """Counts by state (all alerts) and by severity and kind (those not resolved), every key present."""
    by_state = {state: 0 for state in Alert.State.values}
    for row in Alert.objects.filter(repository=repo).values("state").annotate(n=Count("id")):
        by_state[row["state"]] = row["n"]
    active = Alert.objects.filter(repository=repo, state__in=Alert.ACTIVE)
    by_severity = {severity: 0 for severity in Severity.values}
    for row in active.values("severity").annotate(n=Count("id")):
        by_severity[row["severity"]] = row["n"]
    by_kind = {kind: 0 for kind in AlertKind.values}
    for row in active.values("kind").annotate(n=Count("id")):
        by_kind[row["kind"]] = row["n"]
    return Stats(total=sum(by_state.values()), by_state=by_state, by_severity=by_severity, by_kind=by_kind)


# events after which the live schema may compare differently with HEAD
DRIFT_EVENTS = (EventKind.CHECKOUT, EventKind.MERGE_COMPLETED, EventKind.MR_MERGED, EventKind.BRANCH_MOVED,
                EventKind.REVERT, EventKind.DRIFT_FOUND)


def drift_key(repo: Repository) -> int:
    """The id of the repository's newest event that may change what ``pggit.drift()`` says: a
    checkout, merge, reset or revert, drift found, or a drift alert raised or resolved (the drift
    check found it gone). The dashboard's drift box, which loads itself after the page, is loaded
    again on a live page when this changes (``data-live-key``, static/js/live.js)."""
    drift_alert = Q(kind__in=(EventKind.ALERT_RAISED, EventKind.ALERT_RESOLVED), payload__alert__kind=AlertKind.DRIFT)
    newest = (Event.objects.filter(repository=repo).filter(Q(kind__in=DRIFT_EVENTS) | drift_alert)
              .order_by("-id").values_list("id", flat=True).first())
    return newest or 0
