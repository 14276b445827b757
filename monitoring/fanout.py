"""Fanning an event out: the Channels groups (live pages), then the hooks a delivered event goes
through.

``monitoring.tasks.deliver_event`` first sends the event to the Channels groups
(``to_channel_groups``) in a transaction of its own that marks it sent, so the pages have it
without waiting for the hooks, and once. ``HOOKS`` are dotted paths of functions
``hook(event)``, then called in order inside the delivery's second transaction; each must
tolerate being called again for the same event after a failure (delivery is at least once; a
hook that must act once keys its rows by the event).
"""

from __future__ import annotations

import asyncio
import threading

from channels.layers import get_channel_layer
from django.utils.module_loading import import_string

# the type of the Channels message a consumer receives (``LiveConsumer.pggit_event``)
MESSAGE_TYPE = "pggit.event"

HOOKS: list[str] = [
    "monitoring.alerts.on_event",
    "monitoring.notifications.on_event",
    "monitoring.webhooks.on_event",  # (enqueues deliveries only: the HTTP is the task's)
]


def repository_group(repository_id: int) -> str:
    return f"repo-{repository_id}"


def merge_request_group(merge_request_id: int) -> str:
    return f"mr-{merge_request_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def access_group(user_id: int) -> str:
    """Every live socket of the user (``monitoring.access`` tells them to check their access)."""
    return f"access-{user_id}"


def message(event) -> dict:
    """What a websocket receives for ``event`` (JSON)."""
    mr = event.merge_request
    return {
        "id": event.pk,
        "kind": event.kind,
        "source": event.source,
        "repository": event.repository.slug if event.repository_id else None,
        "merge_request": mr.number if mr is not None else None,
        "actor": event.actor_name or None,
        "at": event.created_at.isoformat(),
        "payload": event.payload,
    }


_server_loop = None


def use_server_loop(loop) -> None:
    """The worker runs as a thread of the ASGI server's process (``runapp`` with one process):
    send through that process's event loop, where the in-memory channel layer's consumers wait
    (its queues are not safe to fill from another thread's loop)."""
    global _server_loop
    _server_loop = loop


_sender_loop = None
_sender_lock = threading.Lock()


def _loop():
    """The event loop that sends: the server's (one process, in-memory layer), else one of this
    process's own, kept running in a thread so that the channel layer's Redis connections are
    kept from one event to the next (``async_to_sync`` would make a new loop, and new
    connections, for every send)."""
    global _sender_loop
    if _server_loop is not None and _server_loop.is_running():
        return _server_loop
    with _sender_lock:
        if _sender_loop is None or not _sender_loop.is_running():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="pggit-channel-sender", daemon=True).start()
            _sender_loop = loop
        return _sender_loop


def send_to_groups(groups: list[str], data: dict, message_type: str = MESSAGE_TYPE) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all():
        for group in groups:
            await layer.group_send(group, {"type": message_type, "event": data})

    asyncio.run_coroutine_threadsafe(send_all(), _loop()).result(timeout=30)


def to_channel_groups(event) -> None:
    """The repository's group (dashboard, commit log, branch list) and, for a merge request's
    event, the request's group (its page)."""
    groups = []
    if event.repository_id:
        groups.append(repository_group(event.repository_id))
    if event.merge_request_id:
        groups.append(merge_request_group(event.merge_request_id))
    if groups:
        send_to_groups(groups, message(event))


def fan_out(event) -> None:
    for path in HOOKS:
        import_string(path)(event)
