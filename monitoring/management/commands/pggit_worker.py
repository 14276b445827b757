"""Run the task worker: django-tasks-db's ``db_worker``, woken by ``NOTIFY pggit_tasks``.

``monitoring.events`` sends ``NOTIFY pggit_tasks`` in the transaction that enqueues a task, so
the worker starts on it as soon as that transaction commits instead of at its next poll; between
tasks it runs the periodic jobs of ``monitoring.periodic``. Everything else (claiming a task in a
transaction, one worker per task, results) is django-tasks-db's.
"""

from __future__ import annotations

import time

import psycopg
from django.conf import settings
from django.db import connections
from django_tasks_db.management.commands import db_worker

from monitoring.events import WAKE_CHANNEL
from monitoring.periodic import Schedule


class Waker:
    """Stands in for the ``time`` module of ``db_worker``: its ``sleep`` waits for a NOTIFY (at most
    the worker's interval) and runs the periodic jobs."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.conn = None

    def _connect(self):
        params = connections["default"].get_connection_params()
        self.conn = psycopg.connect(**params, autocommit=True, application_name="pggit-worker")
        self.conn.execute(f"LISTEN {WAKE_CHANNEL}")

    def sleep(self, seconds: float) -> None:
        self.schedule.run_due()
        try:
            if self.conn is None or self.conn.closed:
                self._connect()
            for _ in self.conn.notifies(timeout=seconds, stop_after=1):
                break
        except psycopg.Error:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


class Command(db_worker.Command):
    help = "Run pgGit's task worker (django-tasks-db's db_worker, woken by NOTIFY pggit_tasks)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(interval=settings.PGGIT_WORKER_POLL_SECONDS, reload=False)

    def handle(self, *args, **options):
        install_waker()
        return super().handle(*args, **options)


def install_waker() -> Waker:
    """Make django-tasks-db's worker loop wait for NOTIFY pggit_tasks instead of sleeping."""
    if not isinstance(db_worker.time, Waker):
        db_worker.time = Waker(Schedule())
    return db_worker.time
