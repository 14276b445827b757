"""Alert rules: events and periodic checks that raise alerts (docs/events.md, "Alerts").

- ``on_event`` (a hook of ``monitoring.fanout.HOOKS``, run in the delivery's transaction) raises
  *merge failed* (``merge.failed``, from the app or the engine), *data loss forced through* (a
  merge request merged with ``force`` whose migration dropped rows, or a checkout, reset, revert or
  merge the engine ran with ``force`` that dropped data: from psql and the CLI too), and after a
  checkout or a merge enqueues a drift check.
- ``run_checks`` (a job of ``monitoring.periodic.JOBS``) claims the repositories whose *drift* or
  *capture off* check is due (a conditional UPDATE of the rule's ``checked_at``: two workers
  claim a check once) and enqueues ``check_repository`` for them; it raises *waiting for review*
  itself (the app's own tables).
- ``raise_alert`` opens an alert unless one with the same ``dedup_key`` is open or acknowledged
  (then it counts an occurrence); the unique index on active keys makes two workers raising the
  same condition at once open one. Raising and resolving record ``alert.raised`` /
  ``alert.resolved`` in the same transaction.

Rules are made with ``DEFAULTS`` the first time a repository's rules are read (``rules_for``), so
repositories added before alerts existed get them too, without a data migration.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from branches.models import Repository
from monitoring.events import _wake_worker, record
from monitoring.models import Alert, AlertKind, AlertRule, Event, EventKind, Severity

log = logging.getLogger(__name__)

# kind: (enabled, severity, threshold)
DEFAULTS = {
    AlertKind.DRIFT: (True, Severity.WARNING, 15),
    AlertKind.MERGE_FAILED: (True, Severity.WARNING, None),
    AlertKind.DATA_LOSS_FORCED: (True, Severity.CRITICAL, None),
    AlertKind.CAPTURE_OFF: (True, Severity.CRITICAL, 15),
    AlertKind.STALE_REVIEW: (True, Severity.INFO, 48),
    AlertKind.WEBHOOK_FAILING: (True, Severity.WARNING, None),
}
THRESHOLD_UNITS = {AlertKind.DRIFT: "minutes", AlertKind.CAPTURE_OFF: "minutes", AlertKind.STALE_REVIEW: "hours"}
# the periodic checks that read the repository's database (run as ``check_repository`` tasks)
DATABASE_CHECKS = (AlertKind.DRIFT, AlertKind.CAPTURE_OFF)


def rules_for(repo: Repository) -> dict[str, AlertRule]:
    """The repository's rules by kind, the missing ones made with ``DEFAULTS``."""
    rules = {r.kind: r for r in AlertRule.objects.filter(repository=repo)}
    missing = [AlertRule(repository=repo, kind=kind, enabled=enabled, severity=severity, threshold=threshold)
               for kind, (enabled, severity, threshold) in DEFAULTS.items() if kind not in rules]
    if missing:
        AlertRule.objects.bulk_create(missing, ignore_conflicts=True)
        rules = {r.kind: r for r in AlertRule.objects.filter(repository=repo)}
    return {kind: rules[kind] for kind in DEFAULTS}


def alert_payload(alert: Alert) -> dict:
    from monitoring.serializers import AlertSerializer

    return {"alert": dict(AlertSerializer(alert).data)}


def raise_alert(repo: Repository, kind: str, key: str, title: str, *, detail: dict | None = None,
                event: Event | None = None, merge_request=None, cause=None) -> tuple[Alert | None, bool]:
    """Open an alert of ``kind`` for condition ``key`` if its rule is on: (alert, True) when it
    opened one, (the active one, False) when the condition had one already (its occurrences
    counted), (None, False) when the rule is off. ``cause()``, when given, is called only if a new
    alert opens and returns the event that raised it (a periodic check's ``drift.found``).

    The existing alert is locked (``FOR UPDATE``) while its occurrence is counted; a new one is
    inserted in a savepoint, and the partial unique index on active keys turns a second worker's
    insert of the same condition into an IntegrityError, after which its occurrence is counted on
    the first worker's alert instead."""
    rule = rules_for(repo)[kind]
    if not rule.enabled:
        return None, False
    with transaction.atomic():
        existing = _active(repo, key)
        if existing is not None:
            return _seen_again(existing), False
        try:
            with transaction.atomic():
                if cause is not None:
                    event = cause()
                alert = Alert.objects.create(repository=repo, kind=kind, severity=rule.severity, title=title[:300],
                                             detail=detail or {}, dedup_key=key[:300], event=event,
                                             merge_request=merge_request)
        except IntegrityError:  # raised meanwhile by another worker
            return _seen_again(_active(repo, key)), False
        record(EventKind.ALERT_RAISED, repo, merge_request=merge_request, payload=alert_payload(alert),
               actor_name="pggit")
    return alert, True


def _active(repo: Repository, key: str) -> Alert | None:
    return (Alert.objects.select_for_update().filter(repository=repo, dedup_key=key[:300], state__in=Alert.ACTIVE)
            .first())


def _seen_again(alert: Alert) -> Alert:
    alert.occurrences += 1
    alert.last_seen_at = timezone.now()
    alert.save(update_fields=["occurrences", "last_seen_at"])
    return alert


def clear(repo: Repository, key: str, reason: str) -> Alert | None:
    """The condition ``key`` is gone (the live schema matches HEAD again, capture is back on, the
    merge request was reviewed): resolve its active alert, by nobody, recording ``alert.resolved``."""
    from monitoring.actions import mark_resolved

    with transaction.atomic():
        alert = _active(repo, key)
        if alert is None:
            return None
        return mark_resolved(alert, None, reason)


# events ------------------------------------------------------------------------------------

def _audit_args(event: Event) -> dict:
    return ((event.payload or {}).get("audit") or {}).get("args") or {}


def _on_merge_failed(event: Event) -> None:
    payload = event.payload or {}
    if event.source == Event.Source.ENGINE:
        args = _audit_args(event)
        source, target = args.get("source"), args.get("target")
        error = (payload.get("audit") or {}).get("detail") or ""
    else:
        mr = payload.get("merge_request") or {}
        source, target = mr.get("source"), mr.get("target")
        error = payload.get("error") or ""
    target = target or "HEAD"
    what = f"{source} into {target}" if source else f"into {target}"
    raise_alert(event.repository, AlertKind.MERGE_FAILED, f"merge_failed:{target}", f"Merge of {what} failed",
                detail={"source": source, "target": target, "error": str(error)[:2000],
                        "forced": bool(payload.get("forced") or _audit_args(event).get("force"))},
                event=event, merge_request=event.merge_request)


def _forced_merge_key(commit: str | None, fallback: str) -> str:
    """One alert per forced merge, whoever reports it first: the app's ``merge_request.merged``
    or the engine's own audit row of the same merge commit."""
    return f"data_loss_forced:commit:{commit}" if commit else fallback


def _on_merged(event: Event) -> None:
    payload = event.payload or {}
    lost = payload.get("data_loss") or []
    if payload.get("forced") and lost:
        mr = payload.get("merge_request") or {}
        key = _forced_merge_key(mr.get("merge_commit"), f"data_loss_forced:mr:{event.merge_request_id}")
        raise_alert(event.repository, AlertKind.DATA_LOSS_FORCED, key,
                    f"Merge request !{mr.get('number')} was merged with force and lost data in "
                    + ", ".join(str(t) for t in lost[:5]),
                    detail={"merge_commit": mr.get("merge_commit"), "target": mr.get("target"), "lost": lost},
                    event=event, merge_request=event.merge_request)
    schedule_drift_check(event)


_FORCED_WHAT = {EventKind.CHECKOUT: "Checkout", EventKind.REVERT: "Revert", EventKind.BRANCH_MOVED: "Reset",
                EventKind.MERGE_COMPLETED: "Merge"}


def _on_forceable(event: Event) -> None:
    """A checkout, revert, reset or merge run by the engine with ``force`` (from psql, the CLI or
    the app). Since engine 0.9.0 the audit row names what the forced migration dropped with its
    data (``data_loss``): an alert when it dropped something. An older engine's row says only
    that the guard was overridden: an alert when the operation changed anything."""
    args = _audit_args(event)
    lost = args.get("data_loss")
    if args.get("force") and (lost if lost is not None else (args.get("steps") or args.get("changes"))):
        if event.kind == EventKind.MERGE_COMPLETED:
            where = f"{args.get('source')} into {args.get('target')}"
            key = _forced_merge_key(args.get("commit"), f"data_loss_forced:audit:{event.engine_id}")
        else:
            where = args.get("to") or args.get("branch") or ""
            key = f"data_loss_forced:audit:{event.engine_id}"
        what = (f"lost data in {', '.join(str(t) for t in lost[:5])}" if lost
                else "steps that lose data were allowed")
        raise_alert(event.repository, AlertKind.DATA_LOSS_FORCED, key,
                    f"{_FORCED_WHAT[event.kind]} of {where} ran with force: {what}",
                    detail={"audit": args, "by": event.actor_name, "lost": lost or []}, event=event)
    if event.kind in (EventKind.CHECKOUT, EventKind.MERGE_COMPLETED):
        schedule_drift_check(event)


def schedule_drift_check(event: Event) -> None:
    """After a checkout or a merge: check the live schema against HEAD (a task, after commit)."""
    if rules_for(event.repository)[AlertKind.DRIFT].enabled:
        check_repository.enqueue(event.repository_id, [AlertKind.DRIFT.value])
        _wake_worker()


HANDLERS = {
    EventKind.MERGE_FAILED: _on_merge_failed,
    EventKind.MR_MERGED: _on_merged,
    EventKind.MERGE_COMPLETED: _on_forceable,
    EventKind.CHECKOUT: _on_forceable,
    EventKind.REVERT: _on_forceable,
    EventKind.BRANCH_MOVED: _on_forceable,
}


def on_event(event: Event) -> None:
    """The alert rules' hook (``monitoring.fanout.HOOKS``), inside the event's delivery
    transaction. A delivery that fails rolls back the alerts and tasks this made, so the retry
    makes them once; ``alert.*`` events are not looked at (no alert about an alert)."""
    if event.repository_id is None:
        return
    handler = HANDLERS.get(event.kind)
    if handler is not None:
        handler(event)


# periodic checks ---------------------------------------------------------------------------

def claim_check(rule: AlertRule, now=None) -> bool:
    """Claim ``rule``'s periodic check if it is due (never run, or ``threshold`` minutes ago):
    a conditional UPDATE, so of two workers looking at once one claims it."""
    now = now or timezone.now()
    due = now - timedelta(minutes=rule.threshold or DEFAULTS[rule.kind][2])
    return AlertRule.objects.filter(pk=rule.pk, enabled=True).filter(
        Q(checked_at__isnull=True) | Q(checked_at__lte=due)).update(checked_at=now) == 1


def run_checks() -> int:
    """The periodic job: enqueue the due database checks, raise and clear *waiting for review*.
    Returns how many checks it enqueued."""
    enqueued = 0
    for repo in Repository.objects.all():
        rules = rules_for(repo)
        kinds = [kind.value for kind in DATABASE_CHECKS if rules[kind].enabled and claim_check(rules[kind])]
        if kinds:
            with transaction.atomic():
                check_repository.enqueue(repo.pk, kinds)
                _wake_worker()
            enqueued += 1
        if rules[AlertKind.STALE_REVIEW].enabled:
            check_stale_reviews(repo, rules[AlertKind.STALE_REVIEW])
    return enqueued


def waiting_for_review(repo: Repository, hours: int):
    """Open, non-draft merge requests older than ``hours`` that nobody has reviewed (an approval or
    request for changes that is not dismissed; comments do not count)."""
    from merges.models import MergeRequest, Review

    cutoff = timezone.now() - timedelta(hours=hours)
    reviewed = Review.objects.filter(dismissed=False).exclude(verdict=Review.Verdict.COMMENT).values("merge_request")
    return (MergeRequest.objects.filter(repository=repo, state=MergeRequest.State.OPEN, draft=False,
                                        created_at__lte=cutoff).exclude(pk__in=reviewed))


def check_stale_reviews(repo: Repository, rule: AlertRule) -> list[Alert]:
    hours = rule.threshold or DEFAULTS[AlertKind.STALE_REVIEW][2]
    raised = []
    waiting = {mr.pk: mr for mr in waiting_for_review(repo, hours)}
    for mr in waiting.values():
        alert, new = raise_alert(repo, AlertKind.STALE_REVIEW, f"stale_review:mr:{mr.pk}",
                                 f"Merge request !{mr.number} has waited more than {hours} h for a review",
                                 detail={"number": mr.number, "title": mr.title, "opened_at": mr.created_at.isoformat(),
                                         "hours": hours}, merge_request=mr)
        if new:
            raised.append(alert)
    for alert in Alert.objects.filter(repository=repo, kind=AlertKind.STALE_REVIEW, state__in=Alert.ACTIVE):
        if alert.merge_request_id not in waiting:
            clear(repo, alert.dedup_key, "the merge request was reviewed, merged, closed or made a draft")
    return raised


def check_drift(repo: Repository) -> Alert | None:
    from branches.reads import read_drift

    rows = read_drift(repo)
    if not rows:
        clear(repo, "drift", "the live schema matches HEAD again")
        return None
    objects = [{"identity": r["identity"], "kind": r["kind"], "change": r["change"]} for r in rows]
    names = ", ".join(o["identity"] for o in objects[:5]) + (" ..." if len(objects) > 5 else "")
    title = f"{len(objects)} object(s) changed behind the engine's back: {names}"

    def found() -> Event:
        return record(EventKind.DRIFT_FOUND, repo, actor_name="pggit", payload={"drift": objects[:200]})

    alert, _ = raise_alert(repo, AlertKind.DRIFT, "drift", title, detail={"objects": objects[:200]}, cause=found)
    return alert


def check_capture(repo: Repository) -> Alert | None:
    from branches.engine import reader

    with reader(repo) as client:
        reasons = client.capture_off()
    if not reasons:
        clear(repo, "capture_off", "capture is on again")
        return None
    title = "Capture is off: " + "; ".join(r["detail"] for r in reasons[:3])
    alert, _ = raise_alert(repo, AlertKind.CAPTURE_OFF, "capture_off", title, detail={"reasons": reasons})
    return alert


CHECKS = {AlertKind.DRIFT.value: check_drift, AlertKind.CAPTURE_OFF.value: check_capture}


def check_repository_now(repository_id: int, kinds: list[str]) -> str:
    repo = Repository.objects.filter(pk=repository_id).first()
    if repo is None:
        return "gone"
    from pggit_web.errors import ActionError

    done = []
    for kind in kinds:
        if kind not in CHECKS:
            continue
        try:
            CHECKS[kind](repo)
        except ActionError as exc:  # the database did not answer: the next check tries again
            log.warning("alert check %s of %s: %s", kind, repo.slug, exc)
            done.append(f"{kind}: {exc.code}")
        else:
            done.append(kind)
    return ", ".join(done)


@task()
def check_repository(repository_id: int, kinds: list[str]) -> str:
    """Run the database checks ``kinds`` (drift, capture_off) of one repository."""
    return check_repository_now(repository_id, kinds)
