"""What changes alerts and alert rules: each function checks the user's role, then changes state
and records the event in the same transaction. Pages and the REST API call these.

Roles: anyone who can read the repository sees its alerts; developers and above acknowledge and
resolve them (the people who act on the schema); maintainers edit the rules. An outsider gets 404
(``Http404``), a role too low 403 (``PermissionDenied``), a state that does not allow the step 409
(``pggit_web.errors.Conflict``).
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from branches.access import check_role, repository_for
from branches.models import Repository, Role
from monitoring.events import record
from monitoring.models import Alert, AlertKind, AlertRule, EventKind, Severity
from pggit_web.errors import ActionError, Conflict

RESPOND_ROLE = Role.DEVELOPER
RULES_ROLE = Role.MAINTAINER


def get_alert(user, slug: str, alert_id: int) -> Alert:
    """Alert ``alert_id`` of repository ``slug`` if ``user`` may read it (404 otherwise)."""
    repo = repository_for(user, slug)
    alert = (Alert.objects.select_related("repository", "merge_request", "acknowledged_by", "resolved_by")
             .filter(repository=repo, pk=alert_id).first())
    if alert is None:
        raise Http404("No such alert")
    return alert


def check_can_respond(user, alert: Alert) -> None:
    check_role(user, alert.repository, RESPOND_ROLE)


def _payload(alert: Alert) -> dict:
    from monitoring.alerts import alert_payload

    return alert_payload(alert)


def acknowledge(user, alert: Alert) -> Alert:
    """Someone is on it: an open alert becomes acknowledged (it stays active, so the condition
    raises no new alert). The row is locked so that two people acknowledging at once record one
    ``alert.acknowledged``; the second gets 409."""
    check_can_respond(user, alert)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state != Alert.State.OPEN:
            raise Conflict(f"the alert is {alert.state} already", code=f"alert_{alert.state}")
        alert.state, alert.acknowledged_by, alert.acknowledged_at = Alert.State.ACKNOWLEDGED, user, timezone.now()
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        record(EventKind.ALERT_ACKNOWLEDGED, alert.repository, actor=user, merge_request=alert.merge_request,
               payload=_payload(alert))
    return alert


def mark_resolved(alert: Alert, user, reason: str) -> Alert:
    """Resolve a locked, active ``alert`` (``user`` None: the condition cleared) and record
    ``alert.resolved``; the caller holds the transaction."""
    alert.state, alert.resolved_by, alert.resolved_at = Alert.State.RESOLVED, user, timezone.now()
    alert.resolution = reason[:300]
    alert.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])
    record(EventKind.ALERT_RESOLVED, alert.repository, actor=user, merge_request=alert.merge_request,
           payload=_payload(alert), actor_name="" if user else "pggit")
    return alert


def resolve(user, alert: Alert, reason: str = "") -> Alert:
    """Close an open or acknowledged alert (409 if it is resolved already). The condition, if it
    is still there, opens a new alert at its next check."""
    check_can_respond(user, alert)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state == Alert.State.RESOLVED:
            raise Conflict("the alert is resolved already", code="alert_resolved")
        return mark_resolved(alert, user, reason.strip() or f"resolved by {user.get_username()}")


def rules(user, repo: Repository) -> list[AlertRule]:
    """The repository's rules (any member may read them; the defaults made when missing)."""
    from monitoring.alerts import rules_for

    check_role(user, repo, Role.VIEWER)
    return list(rules_for(repo).values())


def save_rule(user, repo: Repository, kind: str, *, enabled: bool | None = None, severity: str | None = None,
              threshold: int | None = None) -> AlertRule:
    """Change one rule (maintainers). A threshold is minutes for drift and capture checks, hours
    for reviews; a rule that takes none refuses one."""
    from monitoring.alerts import THRESHOLD_UNITS, rules_for

    check_role(user, repo, RULES_ROLE)
    if kind not in AlertKind.values:
        raise Http404(f"No alert rule {kind!r}")
    if severity is not None and severity not in Severity.values:
        raise ActionError(f"severity is one of {', '.join(Severity.values)}", code="invalid_severity")
    if threshold is not None:
        if kind not in THRESHOLD_UNITS:
            raise ActionError(f"the rule {kind!r} takes no threshold", code="invalid_threshold")
        if not 1 <= threshold <= 10_000_000:
            raise ActionError("the threshold is a whole number from 1", code="invalid_threshold")
    rules_for(repo)
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().get(repository=repo, kind=kind)
        if enabled is not None:
            rule.enabled = enabled
        if severity is not None:
            rule.severity = severity
        if threshold is not None:
            rule.threshold = threshold
        rule.updated_by = user
        rule.save()
    return rule
