"""Websocket consumers (Channels): live events for the pages, with the pages' roles.

A socket is opened on a repository (``/ws/repos/<slug>/``: dashboard, commit log, branch list),
on a merge request (``/ws/repos/<slug>/merge-requests/<n>/``) or on the signed-in user
(``/ws/me/``: notifications). Who connects is the session's user or the API's JWT / personal
access token (``monitoring.ws_auth``). An outsider's, or an anonymous, socket is refused (403
before the handshake completes, like the pages' 404/403).

The credentials and the role are checked again while the socket is open, and a socket that lost
them is closed with 4403:

- at once when the app changes who may see what (``monitoring.access``: a member added to or
  removed from a role, a role group or repository deleted, a user saved, a personal access token
  deleted or saved, a sign-out): each socket is in its user's access group
  (``fanout.access_group``), which is sent ``pggit.access``, and checks again in full;
- before an event, when the last full check is older than ``PGGIT_WS_RECHECK_SECONDS`` (a change
  made behind the app's back, such as SQL on its tables, is seen then). A check younger than that
  lets the event through without a database read: most events of a busy page cost the socket no
  query and no thread. Expiry of a JWT or personal access token is checked before every event
  (it needs no query).
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from monitoring.fanout import access_group, merge_request_group, repository_group, user_group

FORBIDDEN = 4403


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Joins the groups ``allowed_groups()`` names; forwards ``pggit.event`` messages as JSON."""

    joined: list[str] = []
    checked_at: float | None = None  # time.monotonic() of the last full check that passed
    refused = False  # closed with FORBIDDEN: nothing more is sent

    def allowed_groups(self) -> list[str] | None:  # runs in a thread (database access)
        raise NotImplementedError

    def _fresh_user(self, reload: bool = False):
        user = self.scope.get("user")
        if user is not None and hasattr(user, "_pggit_roles"):
            del user._pggit_roles  # role_of's per-request cache: a socket lives longer
        if reload and user is not None and user.is_authenticated:
            # deactivated, or no longer a superuser, since the socket opened (a deleted user: refused)
            from django.contrib.auth import get_user_model

            try:
                user.refresh_from_db(fields=["is_active", "is_superuser"])
            except get_user_model().DoesNotExist:
                return None
        return user

    async def connect(self):
        groups = await database_sync_to_async(self._groups)()
        if groups is None:
            await self.close(code=FORBIDDEN)
            return
        self.checked_at = time.monotonic()
        self.joined = groups + [access_group(self.scope["user"].pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"kind": "hello", "groups": len(groups)})

    def _groups(self, reload: bool = False):
        user = self._fresh_user(reload)
        if user is None or not user.is_authenticated or not user.is_active or not self._credentials_alive(user):
            return None
        return self.allowed_groups()

    def still_allowed(self) -> bool:  # runs in a thread
        return self._groups(reload=True) is not None

    def _expired(self) -> bool:
        """A JWT or personal access token that has expired since the last check (no query)."""
        token = self.scope.get("pggit_token")
        if token is not None and token.is_expired:
            return True
        expires = getattr(self.scope.get("user"), "pggit_jwt_expires", None)
        return expires is not None and time.time() >= expires

    async def _check(self, force: bool = False) -> bool:
        """Whether the socket may still receive; closes it (4403) when not. A full check (database)
        when ``force``d or when the last one is older than ``PGGIT_WS_RECHECK_SECONDS``."""
        if self.refused:
            return False
        fresh = (self.checked_at is not None
                 and time.monotonic() - self.checked_at < settings.PGGIT_WS_RECHECK_SECONDS)
        if self._expired() or ((force or not fresh) and not await database_sync_to_async(
                self.still_allowed, thread_sensitive=False)()):
            # (a thread of its own, not the one thread that serves the pages' views: a check
            # does not wait behind page renders)
            self.refused = True
            await self.close(code=FORBIDDEN)
            return False
        if force or not fresh:
            self.checked_at = time.monotonic()
        return True

    def _credentials_alive(self, user) -> bool:
        """What let the socket in still holds: the personal access token exists and has not
        expired, the JWT has not expired, the session has not ended (sign-out) nor changed user."""
        import time

        token = self.scope.get("pggit_token")
        if token is not None:
            from api.models import PersonalAccessToken

            current = PersonalAccessToken.objects.filter(pk=token.pk).first()
            return current is not None and not current.is_expired
        expires = getattr(user, "pggit_jwt_expires", None)
        if expires is not None:
            return time.time() < expires
        session = self.scope.get("session")
        if session is not None and session.session_key:
            from importlib import import_module

            from django.conf import settings
            from django.contrib.auth import SESSION_KEY

            fresh = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key)
            return str(fresh.get(SESSION_KEY)) == str(user.pk)
        return True

    async def disconnect(self, code):
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("kind") == "ping":
            await self.send_json({"kind": "pong"})

    async def pggit_event(self, message):
        if await self._check():
            await self.send_json(message["event"])

    async def pggit_access(self, message):
        """Who may see what changed for this socket's user (``monitoring.access``): check now."""
        await self._check(force=True)


class RepositoryConsumer(LiveConsumer):
    def _repository(self):
        from branches.access import has_role
        from branches.models import Repository, Role

        repo = Repository.objects.filter(slug=self.scope["url_route"]["kwargs"]["slug"]).first()
        if repo is None or not has_role(self.scope["user"], repo, Role.VIEWER):
            return None
        return repo

    def allowed_groups(self):
        repo = self._repository()
        return None if repo is None else [repository_group(repo.pk)]


class MergeRequestConsumer(RepositoryConsumer):
    def allowed_groups(self):
        from merges.models import MergeRequest

        repo = self._repository()
        if repo is None:
            return None
        mr = MergeRequest.objects.filter(repository=repo, number=self.scope["url_route"]["kwargs"]["number"]).first()
        return None if mr is None else [merge_request_group(mr.pk)]


class UserConsumer(LiveConsumer):
    def allowed_groups(self):
        return [user_group(self.scope["user"].pk)]
