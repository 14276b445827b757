"""Recording events: one ``Event`` row and its delivery task, in the caller's transaction.

Actions call ``record(kind, repository, ...)`` inside the transaction that makes the change
(``transaction.atomic``), so the event exists exactly when the change does. The row's delivery
task (``monitoring.tasks.deliver``) is enqueued in the same transaction (django-tasks-db writes it
as a row), and ``NOTIFY pggit_tasks`` wakes the worker when that transaction commits.

Payloads are built here from the REST API's serializers (what ``/api/v1/`` shows of the same
objects), so every consumer (live pages, notifications, alerts, webhooks) reads one shape.
"""

from __future__ import annotations

from django.db import connection, transaction

from monitoring.models import Event, EventKind

WAKE_CHANNEL = "pggit_tasks"


def _wake_worker() -> None:
    """Ask the worker to look for tasks when this transaction commits (nothing if it rolls back)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])


# At most this many events of one transaction are sent to the pages by the process that recorded
# them when it commits; a larger burst (the listener's) is left to the worker.
SEND_AT_COMMIT_MAX = 10


def enqueue_delivery(events: list[Event]) -> None:
    """Enqueue each event's delivery task, wake the worker at commit, and send the events to the
    live pages as soon as the transaction commits (``tasks.send_to_pages``; a page should not
    wait for the worker to wake up and claim the task). A send that fails (Redis down) is logged
    and left to the worker."""
    from monitoring.tasks import deliver

    for event in events:
        deliver.enqueue(event.pk)
    if events:
        _wake_worker()
    if 0 < len(events) <= SEND_AT_COMMIT_MAX:
        ids = [event.pk for event in events]
        transaction.on_commit(lambda: _send_at_commit(ids), robust=True)


def _send_at_commit(event_ids: list[int]) -> None:
    from monitoring.tasks import send_to_pages

    for pk in event_ids:
        send_to_pages(pk)


def record(kind: str, repository=None, *, actor=None, merge_request=None, payload: dict | None = None,
           actor_name: str = "") -> Event:
    """Write an event of ``kind`` (an ``EventKind`` value) and its delivery task in the current
    transaction (one of its own in autocommit)."""
    if kind not in EventKind.values:
        raise ValueError(f"unknown event kind {kind!r}")
    if merge_request is not None and repository is None:
        repository = merge_request.repository
    name = actor_name or (actor.get_username() if actor is not None else "")
    with transaction.atomic(savepoint=False):  # (no savepoint: an event that fails fails its action)
        event = Event.objects.create(kind=kind, repository=repository, merge_request=merge_request, actor=actor,
                                     actor_name=name[:200], payload=payload or {})
        enqueue_delivery([event])
    return event


def merge_request_payload(mr, approvals=None, **extra) -> dict:
    """The merge request as the API lists it, plus ``extra`` (a review, a comment, ...).
    ``approvals``: its current approvals when the caller has just computed them (else read here)."""
    from merges.serializers import MergeRequestSerializer

    context = {"approvals": {mr.pk: approvals}} if approvals is not None else {}
    context["read_engine"] = False  # (recorded inside the action's transaction: its badge counts no conflicts)
    data = {"merge_request": dict(MergeRequestSerializer(mr, context=context).data)}
    data.update(extra)
    return data


def record_merge_request(kind: str, mr, actor, approvals=None, **extra) -> Event:
    """An event about merge request ``mr`` with its API representation in the payload."""
    return record(kind, mr.repository, actor=actor, merge_request=mr,
                  payload=merge_request_payload(mr, approvals, **extra))
