"""Periodic jobs the worker runs (``pggit_worker``): dotted path and how often, in seconds.

Each job runs in the worker process between tasks, at most once per period per worker; a job
that must run once across several workers takes a lock of its own (``pg_try_advisory_xact_lock``)
or enqueues tasks keyed so that a second run finds nothing to do.
"""

from __future__ import annotations

import logging
import time

from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

JOBS: list[tuple[str, float]] = [
    ("monitoring.tasks.redeliver_stale", 30.0),
    ("monitoring.tasks.prune_task_results", 3600.0),
    ("monitoring.alerts.run_checks", 60.0),
    ("monitoring.webhooks.retry_stale", 60.0),
]


class Schedule:
    def __init__(self, jobs=None):
        self.jobs = list(JOBS if jobs is None else jobs)
        now = time.monotonic()
        self.due = {path: now + min(period, 5.0) for path, period in self.jobs}

    def run_due(self) -> None:
        now = time.monotonic()
        for path, period in self.jobs:
            if now < self.due[path]:
                continue
            self.due[path] = now + period
            try:
                close_old_connections()
                import_string(path)()
            except Exception:  # noqa: BLE001 - a failing job must not stop the worker
                log.exception("periodic job %s failed", path)
