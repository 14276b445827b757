"""The event listener: engine events of every repository database become ``Event`` rows.

One thread per repository holds a connection that LISTENs for the engine's ``NOTIFY pggit``
(``pggit.events.EngineEvents``). On a notification, and every ``PGGIT_LISTENER_POLL_SECONDS``
without one (NOTIFY can be off, or lost while disconnected), it reads the repository's audit
trail from the position kept in ``ListenerCursor`` and writes, in one transaction of the app's
database, an event per new row (unique by repository and audit id: a row read twice is
written once) and the new position. A connection that fails (either server restarted) is made
again with backoff; the position makes the next read catch up on what happened meanwhile.

``Listener.run_forever()`` is ``manage.py pggit_listener``; ``runapp`` starts it with the app.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction

from branches.models import Repository
from monitoring.events import enqueue_delivery
from monitoring.models import Event, EventKind, ListenerCursor
from pggit.events import EngineEvents

log = logging.getLogger(__name__)

# how long to wait before reading again while captured statements are still queued
PENDING_WAIT = 0.05

# audit operations whose 'ok' rows are events (merge rows are read by _merge_kind)
_OK_KINDS = {
    "capture": EventKind.COMMIT,
    "commit_objects": EventKind.COMMIT,
    "init": EventKind.COMMIT,
    "create_branch": EventKind.BRANCH_CREATED,
    "delete_branch": EventKind.BRANCH_DELETED,
    "switch": EventKind.CHECKOUT,
    "reset": EventKind.BRANCH_MOVED,
    "revert": EventKind.REVERT,
}


def _merge_kind(row: dict) -> str | None:
    args = row.get("args") or {}
    if row["outcome"] in ("error", "refused"):
        return EventKind.MERGE_FAILED
    if args.get("commit"):
        return EventKind.MERGE_COMPLETED
    if args.get("status") == "conflicts":
        return EventKind.CONFLICT_FOUND
    return None


def event_kind(row: dict) -> str | None:
    """The event an audit row is, or None (a row nobody is told about: a resolution step, an
    abort, a failed statement)."""
    if row["operation"] == "merge":
        return _merge_kind(row)
    if row["outcome"] != "ok":
        return None
    return _OK_KINDS.get(row["operation"])


def payload(row: dict) -> dict:
    """An engine event's payload: the audit entry as the API shows it (``AuditEntrySerializer``)."""
    from branches.serializers import AuditEntrySerializer

    return {"audit": dict(AuditEntrySerializer(row).data)}


def store(repository: Repository, rows: list[dict], position: int) -> list[Event]:
    """Write the events of ``rows`` not written before and the new position, in one transaction;
    enqueue their delivery in it. Returns the new events."""
    made: list[Event] = []
    with transaction.atomic():
        cursor = ListenerCursor.objects.select_for_update().filter(repository=repository).first()
        known = set()
        ids = [r["id"] for r in rows]
        if ids:
            known = set(Event.objects.filter(repository=repository, engine_id__in=ids)
                        .values_list("engine_id", flat=True))
        for row in rows:
            kind = event_kind(row)
            if kind is None or row["id"] in known:
                continue
            made.append(Event(kind=kind, source=Event.Source.ENGINE, repository=repository, engine_id=row["id"],
                              actor_name=(row.get("person") or row.get("role_name") or "")[:200], payload=payload(row)))
        if made:
            made = Event.objects.bulk_create(made)
            enqueue_delivery(made)
        if cursor is None:
            ListenerCursor.objects.create(repository=repository, position=position)
        elif position > cursor.position or cursor.last_error:
            cursor.position = max(cursor.position, position)
            cursor.last_error = ""
            cursor.save(update_fields=["position", "last_error", "updated_at"])
    return made


def position_of(repository: Repository) -> int | None:
    return ListenerCursor.objects.filter(repository=repository).values_list("position", flat=True).first()


def catch_up(repository: Repository, source: EngineEvents) -> list[Event]:
    """Read the repository's audit trail from its position and store what is new. A repository
    read for the first time starts at the next transaction (``pggit.audit_start()``: no events
    for its past)."""
    rows, position = source.read(position_of(repository))
    try:
        return store(repository, rows, position)
    except IntegrityError:  # another listener stored the same rows meanwhile: read them again
        return store(repository, rows, position)


def note_error(repository: Repository, error: BaseException) -> None:
    ListenerCursor.objects.filter(repository=repository).update(last_error=str(error)[:2000])


class RepositoryListener(threading.Thread):
    """Listens to one repository until stopped; reconnects with backoff after any failure."""

    def __init__(self, repository: Repository, *, poll: float, stop: threading.Event):
        super().__init__(name=f"pggit-listener-{repository.slug}", daemon=True)
        self.repository = repository
        self.poll = poll
        self.stop_event = stop
        self.reads = 0  # completed reads (tests wait on it)

    def run(self) -> None:
        backoff = 0.5
        while not self.stop_event.is_set():
            source = EngineEvents(self.repository.dsn)
            try:
                source.connect()
                backoff = 0.5
                while not self.stop_event.is_set():
                    close_old_connections()
                    catch_up(self.repository, source)
                    self.reads += 1
                    # statements captured while it flushed sent no NOTIFY (pggit._notify_capture):
                    # read again soon while the queue holds some
                    source.wait(min(self.poll, PENDING_WAIT) if source.pending else self.poll)
            except Exception as e:  # noqa: BLE001 - any failure: log, wait, connect again
                if self.stop_event.is_set():
                    break
                log.warning("listener for %s: %s (reconnecting in %.1f s)", self.repository.slug, e, backoff)
                try:
                    close_old_connections()
                    note_error(self.repository, e)
                except Exception:  # noqa: BLE001 - the app's database may be the one that is down
                    pass
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                source.close()
        connection.close()  # this thread's connection to the app's database


class Listener:
    """A listener thread per repository, kept in step with the repositories table."""

    def __init__(self, *, poll: float | None = None, refresh: float = 5.0):
        self.poll = settings.PGGIT_LISTENER_POLL_SECONDS if poll is None else poll
        self.refresh = refresh
        self.stop_event = threading.Event()
        self.threads: dict[int, RepositoryListener] = {}

    def sync(self) -> None:
        """Start a thread for each new repository (or one whose address changed), stop those of
        repositories that are gone."""
        close_old_connections()
        current = {r.pk: r for r in Repository.objects.all()}
        for pk, thread in list(self.threads.items()):
            repo = current.get(pk)
            if repo is None or repo.dsn != thread.repository.dsn or not thread.is_alive():
                thread.stop_event.set()
                del self.threads[pk]
        for pk, repo in current.items():
            if pk not in self.threads:
                thread = RepositoryListener(repo, poll=self.poll, stop=threading.Event())
                self.threads[pk] = thread
                thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads.values():
            thread.stop_event.set()
        for thread in self.threads.values():
            thread.join(timeout=5)

    def run_forever(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    self.sync()
                except Exception as e:  # noqa: BLE001 - the app's database restarting
                    log.warning("listener: cannot read the repositories: %s", e)
                self.stop_event.wait(self.refresh)
        finally:
            self.stop()
            connection.close()

    def start(self) -> "Listener":
        """Run in a background thread (tests, ``runapp``); ``stop()`` ends it."""
        threading.Thread(target=self.run_forever, name="pggit-listener", daemon=True).start()
        return self
