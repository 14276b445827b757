"""The app served over ASGI with websockets, in the test process: ``pggit_web.asgi``'s
``debug_application`` (the app, with static files served as runserver does) under uvicorn on a
free port, the worker that delivers events and the listener that turns engine audit rows into
events, each in a thread (as ``runapp`` runs them in one process).

pytest-django's ``live_server`` is WSGI (no websockets); this is what the live pages' browser tests
use instead. The threads use Django's configured database, which in a test is the test database:
tests using it must be ``django_db(transaction=True)`` (what they write has to be committed for
the server's threads to see it). The channel layer is the real Redis (pggit_web/settings_test.py).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveAsgiServer:
    """uvicorn in a thread of its own (with its own event loop); ``url`` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        import uvicorn

        from pggit_web.asgi import debug_application

        self.host = host
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(debug_application, host=host, port=self.port, ws="websockets-sansio",
                                lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)

    def start(self, timeout: float = 20) -> "LiveAsgiServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class LiveApp:
    """The server, the worker and the listener, started and stopped together."""

    def __init__(self, *, listener_poll: float = 0.5, worker_interval: float = 0.02):
        from events_support import WorkerThread
        from monitoring.listener import Listener

        self.server = LiveAsgiServer()
        self.worker = WorkerThread(interval=worker_interval)
        self.listener = Listener(poll=listener_poll, refresh=0.5)
        self.url = self.server.url

    def start(self) -> "LiveApp":
        self.server.start()
        self.worker.start()
        self.listener.start()
        return self

    def stop(self) -> None:
        self.listener.stop()
        self.worker.stop()
        self.server.stop()
        deadline = time.monotonic() + 10
        while any(t.name.startswith("pggit-listener") for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.02)  # the listener's threads close their connections as they end
        from django.db import connections

        connections.close_all()

    def wait_for_listener(self, repository, timeout: float = 10) -> None:
        """Until the listener has read ``repository``'s audit trail once (its position is then set:
        what is done afterwards is an event)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            thread = self.listener.threads.get(repository.pk)
            if thread is not None and thread.reads > 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"the listener did not read {repository.slug} within {timeout} s")


@pytest.fixture
def live_app(transactional_db):
    """The app over ASGI (websockets) with its worker and listener, for one test."""
    app = LiveApp().start()
    yield app
    app.stop()
