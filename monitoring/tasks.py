"""Background tasks (Django's tasks framework, django-tasks-db backend; run by ``pggit_worker``)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from monitoring.fanout import fan_out, to_channel_groups
from monitoring.models import Event


def _locked(event_id: int, wait: bool = True) -> Event | None:
    """The event's row, locked (None if it is gone; without ``wait``, also when another
    transaction holds it)."""
    return (Event.objects.select_for_update(skip_locked=not wait, of=("self",))
            .select_related("repository", "merge_request", "merge_request__author").filter(pk=event_id).first())


def _send(event: Event) -> None:
    to_channel_groups(event)
    event.sent_at = timezone.now()
    event.save(update_fields=["sent_at"])


def send_to_pages(event_id: int) -> bool:
    """Send event ``event_id`` to the live pages now, unless it has been sent (or another
    transaction holds its row: that one is sending it). Called when the transaction that
    recorded it commits (``monitoring.events.enqueue_delivery``), so the pages do not wait for the
    worker to wake up; the worker's delivery then runs the hooks only. Returns whether it sent."""
    with transaction.atomic():
        event = _locked(event_id, wait=False)
        if event is None or event.sent_at is not None or event.delivered_at is not None:
            return False
        _send(event)
    return True


def deliver_event(event_id: int) -> str:
    """Fan event ``event_id`` out once, in two transactions, each with the row locked (waiting
    for a transaction that holds it, such as ``send_to_pages``):

    1. send it to the live pages (the Channels groups) and set ``sent_at``, unless that was done
       (by ``send_to_pages`` when it was recorded): the pages do not wait for the hooks, and a
       hook that fails does not send it to them again on the retry;
    2. run the hooks (``fanout.HOOKS``: alert rules, notifications) and set ``delivered_at``. A
       hook that fails rolls this transaction back; the retry (``redeliver_stale``) runs the
       hooks again, and sends nothing to the pages.

    A call for an event delivered already does nothing."""
    with transaction.atomic():
        event = _locked(event_id)
        if event is None:
            return "gone"
        if event.delivered_at is not None:
            return "already delivered"
        if event.sent_at is None:
            _send(event)
    with transaction.atomic():
        event = _locked(event_id)
        if event is None:
            return "gone"
        if event.delivered_at is not None:
            return "already delivered"
        fan_out(event)
        event.delivered_at = timezone.now()
        event.save(update_fields=["delivered_at"])
    return "delivered"


@task()
def deliver(event_id: int) -> str:
    return deliver_event(event_id)


def redeliver_stale(older_than: timedelta = timedelta(seconds=30), limit: int = 100) -> int:
    """Deliver events that are still undelivered ``older_than`` after they were recorded (their
    task failed, or was lost with a worker): the worker calls this now and then. Returns how many
    it delivered."""
    cutoff = timezone.now() - older_than
    ids = list(Event.objects.filter(delivered_at__isnull=True, created_at__lt=cutoff)
               .order_by("id").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if deliver_event(pk) == "delivered")


def prune_task_results(successful_after: timedelta = timedelta(days=1),
                       failed_after: timedelta = timedelta(days=14)) -> int:
    """Delete the worker's finished task rows: successful ones after a day, failed ones (kept to
    look into) after two weeks. Events themselves are kept. Returns how many were deleted."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done = DBTaskResult.objects.finished()
    deleted, _ = done.filter(status="SUCCESSFUL", finished_at__lte=now - successful_after).delete()
    failed, _ = done.filter(status="FAILED", finished_at__lte=now - failed_after).delete()
    return deleted + failed
