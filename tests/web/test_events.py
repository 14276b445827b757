"""Live events: the outbox row written with the action, delivery once through a real worker and
the real Redis channel layer, websockets with the pages' roles, and the listener's engine events."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from asgiref.sync import sync_to_async

from events_support import Socket, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def _open_request(author, repo):
    from merges import actions

    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def _kinds(repo):
    from monitoring.models import Event

    return list(Event.objects.filter(repository=repo).order_by("id").values_list("kind", flat=True))


def _communicator(path: str, user=None, headers=None, origin=b"http://127.0.0.1"):
    from pggit_web.asgi import application

    hdrs = ([(b"origin", origin)] if origin else []) + [(b"host", b"127.0.0.1")] + list(headers or [])
    return Socket(application, path, headers=hdrs, user=user)


async def _connect(path, user=None, headers=None, origin=b"http://127.0.0.1"):
    comm = _communicator(path, user, headers, origin)
    connected, code = await comm.connect(timeout=5)
    if connected:
        hello = await comm.receive_json(timeout=5)
        assert hello["kind"] == "hello"
    return comm, connected, code


def test_actions_write_their_event_in_the_same_transaction(repo, author, reviewer):
    from merges import actions
    from monitoring.models import Event

    mr = _open_request(author, repo)
    actions.add_comment(reviewer, mr, "looks fine @ada_author")
    actions.approve(reviewer, mr)
    assert _kinds(repo) == ["merge_request.opened", "comment.created", "merge_request.approved"]
    approved = Event.objects.get(kind="merge_request.approved")
    assert approved.actor == reviewer and approved.merge_request == mr
    assert approved.payload["merge_request"]["number"] == mr.number
    assert approved.payload["merge_request"]["approvals"]["count"] == 1
    assert approved.payload["review"]["verdict"] == "approve"
    # a refused action writes nothing
    with pytest.raises(Exception):
        actions.add_comment(reviewer, mr, "   ")
    assert len(_kinds(repo)) == 3


def test_each_event_is_delivered_once(repo, author):
    from monitoring.models import Event
    from monitoring.tasks import deliver_event

    _open_request(author, repo)
    event = Event.objects.get(repository=repo)
    assert event.delivered_at is None
    run_tasks()
    event.refresh_from_db()
    delivered = event.delivered_at
    assert delivered is not None
    assert deliver_event(event.pk) == "already delivered"
    event.refresh_from_db()
    assert event.delivered_at == delivered


def test_pages_get_an_event_when_its_transaction_commits_and_once_whatever_the_hooks_do(repo, author, monkeypatch):
    """The process that records an event sends it to the pages when its transaction commits
    (``sent_at``), before any worker runs; the worker's delivery runs the hooks, and a failing
    hook's retry sends nothing to the pages again."""
    from monitoring import notifications
    from monitoring.models import Event
    from monitoring.tasks import deliver_event

    hook = notifications.on_event

    def failing(event):
        raise RuntimeError("the hook failed")

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", author)
        assert connected
        await sync_to_async(_open_request)(author, repo)
        event = await sync_to_async(Event.objects.get)(repository=repo)
        assert (await comm.receive_json(timeout=5))["id"] == event.pk  # no worker has run
        await sync_to_async(event.refresh_from_db)()
        assert event.sent_at is not None and event.delivered_at is None
        monkeypatch.setattr(notifications, "on_event", failing)
        with pytest.raises(RuntimeError):
            await sync_to_async(deliver_event)(event.pk)
        await sync_to_async(event.refresh_from_db)()
        assert event.delivered_at is None
        monkeypatch.setattr(notifications, "on_event", hook)
        assert await sync_to_async(deliver_event)(event.pk) == "delivered"
        assert await comm.nothing(0.5)  # sent once
        await sync_to_async(event.refresh_from_db)()
        assert event.delivered_at is not None
        await comm.disconnect()

    asyncio.run(scenario())


def test_the_worker_sends_to_the_pages_what_was_not_sent_at_commit_then_runs_the_hooks(repo, author, monkeypatch):
    """When the send at commit did not happen (Redis down then, say), the worker's delivery sends
    the event to the pages before the hooks; a failing hook does not make it send twice."""
    from monitoring import notifications
    from monitoring.models import Event
    from monitoring.tasks import deliver_event

    hook = notifications.on_event

    def failing(event):
        raise RuntimeError("the hook failed")

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", author)
        assert connected
        await sync_to_async(_open_request)(author, repo)
        event = await sync_to_async(Event.objects.get)(repository=repo)
        assert (await comm.receive_json(timeout=5))["id"] == event.pk
        await sync_to_async(lambda: Event.objects.filter(pk=event.pk).update(sent_at=None))()
        monkeypatch.setattr(notifications, "on_event", failing)
        with pytest.raises(RuntimeError):
            await sync_to_async(deliver_event)(event.pk)
        assert (await comm.receive_json(timeout=5))["id"] == event.pk  # sent before the hooks ran
        await sync_to_async(event.refresh_from_db)()
        assert event.sent_at is not None and event.delivered_at is None
        monkeypatch.setattr(notifications, "on_event", hook)
        assert await sync_to_async(deliver_event)(event.pk) == "delivered"
        assert await comm.nothing(0.5)
        await comm.disconnect()

    asyncio.run(scenario())


def test_stale_events_are_delivered_again_and_old_task_rows_pruned(repo, author):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from monitoring.models import Event
    from monitoring.tasks import prune_task_results, redeliver_stale

    _open_request(author, repo)
    DBTaskResult.objects.all().delete()  # its task was lost with a worker
    event = Event.objects.get(repository=repo)
    assert redeliver_stale() == 0  # too recent: its task may still run
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert redeliver_stale() == 1
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert redeliver_stale() == 0

    from monitoring.events import record

    record("merge_request.updated", repo, actor=author)
    run_tasks()
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1
    assert prune_task_results() == 0
    DBTaskResult.objects.update(finished_at=timezone.now() - timedelta(days=2))
    assert prune_task_results() == 1
    assert not DBTaskResult.objects.exists()


def test_merge_request_socket_receives_approval_through_redis(repo, author, reviewer):
    from merges import actions

    mr = _open_request(author, repo)
    run_tasks()

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/merge-requests/{mr.number}/", author)
        assert connected
        repo_comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", author)
        assert connected
        await sync_to_async(actions.approve)(reviewer, mr, "ship it")
        await sync_to_async(run_tasks)()
        message = await comm.receive_json(timeout=5)
        assert message["kind"] == "merge_request.approved"
        assert message["merge_request"] == mr.number and message["actor"] == reviewer.username
        assert message["payload"]["review"]["body"] == "ship it"
        assert (await repo_comm.receive_json(timeout=5))["kind"] == "merge_request.approved"
        await comm.disconnect()
        await repo_comm.disconnect()

    asyncio.run(scenario())


def test_outsiders_and_anonymous_sockets_are_refused(repo, author, outsider):
    mr = _open_request(author, repo)

    async def scenario():
        for path in (f"/ws/repos/{repo.slug}/", f"/ws/repos/{repo.slug}/merge-requests/{mr.number}/",
                     "/ws/repos/no-such-repo/", f"/ws/repos/{repo.slug}/merge-requests/999/"):
            comm, connected, _ = await _connect(path, outsider)
            assert not connected, path
            comm, connected, _ = await _connect(path, None)
            assert not connected, path
        comm, connected, _ = await _connect("/ws/me/", None)
        assert not connected
        # a page of another site cannot open a socket with the session's user
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", author, origin=b"http://evil.example")
        assert not connected

    asyncio.run(scenario())


def test_api_tokens_open_sockets_and_a_removed_member_stops_receiving(repo, author, viewer):
    from rest_framework_simplejwt.tokens import RefreshToken

    from branches.models import Role

    jwt = str(RefreshToken.for_user(viewer).access_token)

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", origin=None,
                                            headers=[(b"authorization", f"Bearer {jwt}".encode())])
        assert connected  # no Origin: not a browser, and it brings a token
        bad, connected, _ = await _connect(f"/ws/repos/{repo.slug}/?token=not-a-token")
        assert not connected
        await sync_to_async(lambda: repo.group(Role.VIEWER).user_set.remove(viewer))()
        await sync_to_async(_open_request)(author, repo)
        await sync_to_async(run_tasks)()
        closed = await comm.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    asyncio.run(scenario())


def test_a_socket_ends_with_the_session_or_token_that_opened_it(repo, author, viewer, client):
    """Signed in through the login page's session cookie: signing out ends the socket at the next
    event; an expired JWT is refused."""
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    client.force_login(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    expired = AccessToken.for_user(viewer)
    expired.set_exp(lifetime=-timedelta(seconds=1))

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", headers=[(b"cookie", cookie)])
        assert connected  # the session's user, found by AuthMiddlewareStack
        await sync_to_async(client.logout)()
        await sync_to_async(_open_request)(author, repo)
        await sync_to_async(run_tasks)()
        assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
        _, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", origin=None,
                                         headers=[(b"authorization", f"Bearer {expired}".encode())])
        assert not connected

    asyncio.run(scenario())


@pytest.mark.parametrize("change", ["group_user_set_remove", "user_groups_clear", "role_group_deleted",
                                    "user_deactivated", "signed_out"])
def test_a_socket_closes_as_soon_as_its_reader_loses_access_without_waiting_for_an_event(
        repo, author, viewer, client, change):
    """Sockets forward events without a query while their last check is recent
    (PGGIT_WS_RECHECK_SECONDS): each change the app makes to access tells the user's sockets to
    check at once, and a socket that lost access is closed with no event sent."""
    from branches.models import Role

    client.force_login(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    def lose_access():
        if change == "group_user_set_remove":
            repo.group(Role.VIEWER).user_set.remove(viewer)
        elif change == "user_groups_clear":
            viewer.groups.clear()
        elif change == "role_group_deleted":
            repo.group(Role.VIEWER).delete()
        elif change == "user_deactivated":
            viewer.is_active = False
            viewer.save()
        else:
            client.logout()

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", headers=[(b"cookie", cookie)])
        assert connected
        me, connected, _ = await _connect("/ws/me/", headers=[(b"cookie", cookie)])
        assert connected
        await sync_to_async(lose_access)()
        assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
        if change in ("user_deactivated", "signed_out"):  # the notifications' socket goes too
            assert await me.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
        else:  # still a user of the site: the notifications' socket stays
            assert await me.nothing(0.5)

    asyncio.run(scenario())
    from monitoring.models import Event

    assert not Event.objects.exists()  # nothing happened in the repository: the change alone closed it


def test_a_change_behind_the_apps_back_is_seen_at_the_first_event_after_the_recheck_interval(
        repo, author, viewer, settings):
    """A membership row deleted with SQL sends no signal: within the interval the socket still
    trusts its last check; the first event after it checks again and closes the socket."""
    import time

    from django.contrib.auth import get_user_model

    from merges import actions
    from merges.models import MergeRequest

    settings.PGGIT_WS_RECHECK_SECONDS = 1.0
    through = get_user_model().groups.through

    async def scenario():
        comm, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", viewer)
        assert connected
        opened = time.monotonic()
        await sync_to_async(lambda: through.objects.filter(user=viewer).delete())()  # no m2m_changed
        await sync_to_async(_open_request)(author, repo)
        await sync_to_async(run_tasks)()
        if time.monotonic() - opened < 1.0:  # (a slow machine may already be past the interval)
            assert (await comm.receive_json(timeout=5))["kind"] == "merge_request.opened"
        await asyncio.sleep(max(0.0, 1.1 - (time.monotonic() - opened)))
        mr = await sync_to_async(MergeRequest.objects.get)(repository=repo)
        await sync_to_async(actions.close)(author, mr)
        await sync_to_async(run_tasks)()
        while True:
            out = await comm.receive_output(timeout=5)
            if out["type"] == "websocket.close":
                break
            assert out["type"] == "websocket.send"  # only the opened event, sent before the interval ended
        assert out == {"type": "websocket.close", "code": 4403}

    asyncio.run(scenario())


# the listener ----------------------------------------------------------------------------------

def _listen(repo):
    from monitoring.listener import catch_up
    from pggit.events import EngineEvents

    source = EngineEvents(repo.dsn).connect()
    catch_up(repo, source)  # first read: the position is the current horizon
    return source


def _engine_kinds(repo):
    from monitoring.models import Event

    return list(Event.objects.filter(repository=repo, source="engine").order_by("id").values_list("kind", flat=True))


def test_listener_turns_psql_statements_into_events_once(repo):
    from monitoring.listener import catch_up

    source = _listen(repo)
    try:
        with psycopg.connect(repo.dsn) as conn:
            conn.execute("CREATE TABLE public.never (id int)")
            conn.execute("SELECT pggit.create_branch('never-made')")
            conn.rollback()  # notifies nothing, leaves no row
            conn.execute("CREATE TABLE public.gadgets (id int)")
            conn.commit()
        assert source.wait(5)
        made = catch_up(repo, source)
        assert [e.kind for e in made] == ["commit.captured"]
        assert made[0].payload["audit"]["args"]["branch"] == "main"
        assert catch_up(repo, source) == []  # read again: nothing new
        assert _engine_kinds(repo) == ["commit.captured"]
    finally:
        source.close()


def test_listener_catches_up_after_its_connection_is_killed(repo):
    from monitoring.listener import catch_up
    from monitoring.models import ListenerCursor
    from pggit.events import EngineEvents

    source = _listen(repo)
    pid = source.conn.info.backend_pid
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        conn.execute("CREATE TABLE public.while_down (id int)")
        conn.execute("SELECT pggit.create_branch('made-while-down')")
    with pytest.raises(psycopg.OperationalError):
        catch_up(repo, source)
    assert ListenerCursor.objects.get(repository=repo).position > 0
    source = EngineEvents(repo.dsn).connect()  # what the listener thread does after a failure
    try:
        made = catch_up(repo, source)
        assert [e.kind for e in made] == ["commit.captured", "branch.created"]
        assert made[1].payload["audit"]["args"]["name"] == "made-while-down"
        assert catch_up(repo, source) == []
    finally:
        source.close()


def test_every_event_kind_reaches_the_repository_socket(repo, author, reviewer, maintainer):
    """A real run through every kind the app and the engine report: each arrives on the
    repository's socket, the merge request's kinds on its own socket too, in order."""
    from merges import actions
    from merges.models import MergeRequest
    from monitoring.listener import catch_up
    from monitoring.models import EventKind
    from pggit.client import Client
    from pggit.events import EngineEvents

    source = EngineEvents(repo.dsn).connect()
    catch_up(repo, source)
    client = Client(repo.dsn)

    def live(sql):
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute(sql)

    def act():
        # a merge request through its life: comment, reviews, new commits, conflicts, a refused
        # merge, a forced merge; and a second one closed and reopened
        live("INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
        client.apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
        live("CREATE TABLE public.gadgets (id integer)")  # captured from "psql": commit.captured
        mr = _open_request(author, repo)
        actions.edit(author, mr, description="Drops the weight")
        actions.add_comment(reviewer, mr, "why?")
        actions.review(reviewer, mr, "comment", "a note")
        actions.request_changes(reviewer, mr, "keep it?")
        actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
        actions.sync(MergeRequest.objects.get(pk=mr.pk))  # new commits: updated, approval dismissed
        live("ALTER TABLE public.widgets ADD COLUMN shade integer")
        open_items, _ = actions.open_conflicts(author, MergeRequest.objects.get(pk=mr.pk))
        mr = MergeRequest.objects.get(pk=mr.pk)
        actions.resolve(author, mr, open_items[0]["identity"], None, choice="source")
        actions.approve(reviewer, MergeRequest.objects.get(pk=mr.pk))
        refused = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk))
        assert refused.status == "refused"
        merged = actions.merge(maintainer, MergeRequest.objects.get(pk=mr.pk), force=True)
        assert merged.status == "merged", merged
        client.create_branch("other")
        client.apply("other", "CREATE TABLE public.other_things (id int)")
        second = actions.open_merge_request(author, repo, source="other", target="main", title="Other")
        actions.close(author, second)
        actions.reopen(author, MergeRequest.objects.get(pk=second.pk))
        # the engine from psql or the CLI
        client.create_branch("scratch")
        client.reset_branch("scratch", "main~1")
        client.delete_branch("scratch", force=True)
        head = client.resolve("main")
        client.revert(head, "main", force=True)
        client.switch_branch("other", force=True)
        catch_up(repo, source)
        run_tasks()
        return mr

    async def scenario():
        repo_socket, connected, _ = await _connect(f"/ws/repos/{repo.slug}/", maintainer)
        assert connected
        mr = await sync_to_async(act)()
        count = await sync_to_async(lambda: len(_kinds(repo)))()
        received = [await repo_socket.receive_json(timeout=10) for _ in range(count)]
        assert await repo_socket.nothing(0.5)  # and nothing more
        await repo_socket.disconnect()
        return mr, received

    try:
        mr, received = asyncio.run(scenario())
    finally:
        source.close()
    kinds = [m["kind"] for m in received]
    # everything recorded arrived, once; in the order the events' transactions committed: the
    # app's as each action committed, the engine's burst (the listener's) through the worker, the
    # alerts as the worker's hooks committed; each source's own in id order here
    from monitoring.models import Event

    recorded = {e.pk: (e.kind, e.source) for e in Event.objects.filter(repository=repo)}
    assert sorted(m["id"] for m in received) == sorted(recorded)
    assert [recorded[m["id"]][0] for m in received] == kinds
    for source in ("app", "engine"):
        ids = [m["id"] for m in received if m["source"] == source]
        assert ids == sorted(ids), source
    expected = set(EventKind.values) - {
        EventKind.MR_REVIEW_REQUESTED,  # (reviewer requests: tests/web/test_notifications.py)
        EventKind.DRIFT_FOUND, EventKind.ALERT_RAISED, EventKind.ALERT_ACKNOWLEDGED, EventKind.ALERT_RESOLVED,
    }
    assert expected <= set(kinds), sorted(expected - set(kinds))
    # (the alerts its refused and forced merges raised are about the request too, and come after)
    assert {"alert.raised"} <= set(kinds)
    mr_messages = [m for m in received if m["merge_request"] == mr.number and not m["kind"].startswith("alert.")]
    assert mr_messages[0]["kind"] == "merge_request.opened"
    assert mr_messages[-1]["kind"] == "merge_request.merged"
