"""Running the event pipeline inside a test process: the tasks django-tasks-db holds, the worker
and the listener as threads (for tests with a live server), and reading a websocket's events.

``run_tasks()`` runs every task that is ready, as the worker would, and fails the test when one
of them failed (django-tasks-db records a task's exception instead of raising it).
"""

from __future__ import annotations

import threading

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def _worker(interval: float, batch: bool) -> Worker:
    return Worker(queue_names=["*"], interval=interval, batch=batch, backend_name="default", startup_delay=False,
                  max_tasks=None, worker_id=f"test-{threading.get_ident()}", excluded_queue_names=[])


def failed_tasks() -> list[str]:
    return [f"{t.task_path}: {t.exception_class_path}: {t.traceback}"
            for t in DBTaskResult.objects.filter(status="FAILED")]


def run_tasks() -> None:
    """Run the ready tasks until none is left; raise if any failed."""
    _worker(0, True).run()
    failed = failed_tasks()
    if failed:
        raise AssertionError("tasks failed:\n" + "\n".join(failed))


class WorkerThread(threading.Thread):
    """The worker in a thread of the test process (polling every ``interval`` seconds)."""

    def __init__(self, interval: float = 0.02):
        super().__init__(name="test-worker", daemon=True)
        self.worker = _worker(interval, False)

    def run(self) -> None:
        from django.db import connections

        try:
            self.worker.run()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.worker.running = False
        self.join(timeout=10)


class Socket:
    """A websocket client speaking ASGI straight to the app (no server), like Channels'
    WebsocketCommunicator (whose package needs daphne, which the app does not use)."""

    def __init__(self, application, path: str, headers=None, user=None):
        from urllib.parse import unquote, urlsplit

        from asgiref.testing import ApplicationCommunicator

        parts = urlsplit(path)
        scope = {"type": "websocket", "path": unquote(parts.path), "raw_path": parts.path.encode(),
                 "query_string": parts.query.encode(), "headers": list(headers or []), "subprotocols": [],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
        if user is not None:
            scope["user"] = user  # what the session middleware would find (it keeps one already set)
        self.scope = scope
        self.app = application
        self._comm = None

    async def connect(self, timeout: float = 5) -> tuple[bool, int | None]:
        from asgiref.testing import ApplicationCommunicator

        self._comm = ApplicationCommunicator(self.app, self.scope)
        await self._comm.send_input({"type": "websocket.connect"})
        reply = await self._comm.receive_output(timeout)
        if reply["type"] == "websocket.close":
            return False, reply.get("code", 1000)
        assert reply["type"] == "websocket.accept", reply
        return True, None

    async def receive_output(self, timeout: float = 5) -> dict:
        return await self._comm.receive_output(timeout)

    async def receive_json(self, timeout: float = 5) -> dict:
        import json

        message = await self._comm.receive_output(timeout)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self._comm.receive_nothing(timeout)

    async def send_json(self, data) -> None:
        import json

        await self._comm.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def disconnect(self) -> None:
        await self._comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await self._comm.wait(1)
