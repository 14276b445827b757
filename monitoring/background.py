"""The listener and the task worker as threads of one process (``runapp`` serving one process;
tests with a live server). Production with several web workers runs them as processes of their
own: ``manage.py pggit_listener`` and ``manage.py pggit_worker``."""

from __future__ import annotations

import threading

from django.db import connections

from monitoring.listener import Listener


class Background:
    def __init__(self, *, listener_poll: float | None = None, worker_interval: float | None = None):
        from django.conf import settings
        from django_tasks_db.management.commands.db_worker import Worker
        from django.utils.crypto import get_random_string

        from monitoring.management.commands.pggit_worker import install_waker

        install_waker()
        self.listener = Listener(poll=listener_poll)
        self.worker = Worker(queue_names=["*"], interval=worker_interval or settings.PGGIT_WORKER_POLL_SECONDS,
                             batch=False, backend_name="default", startup_delay=False, max_tasks=None,
                             worker_id=f"inproc-{get_random_string(12)}", excluded_queue_names=[])
        self.worker_thread = threading.Thread(target=self._work, name="pggit-worker", daemon=True)

    def _work(self) -> None:
        try:
            self.worker.run()
        finally:
            connections.close_all()

    def start(self) -> "Background":
        self.listener.start()
        self.worker_thread.start()
        return self

    def stop(self) -> None:
        self.worker.running = False
        self.listener.stop()
        self.worker_thread.join(timeout=5)
