"""Websocket consumers (Channels): live events for the pages, with the pages' roles.

A socket is opened on a repository (``/ws/repos/<slug>/``: dashboard, commit log, branch list),
on a merge request (``/ws/repos/<slug>/merge-requests/<n>/``) or on the signed-in user
(``/ws/me/``: notifications). Who connects is the session's user or the API's JWT / personal
access token (``monitoring.ws_auth``). An outsider's, or an anonymous, socket is refused (403
before the handshake completes, like the pages' 404/403); the role is checked again before each
event is sent, so a member removed meanwhile stops receiving and is disconnected (4403).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from monitoring.fanout import merge_request_group, repository_group, user_group

FORBIDDEN = 4403


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Joins the groups ``allowed_groups()`` names; forwards ``pggit.event`` messages as JSON."""

    joined: list[str] = []

    def allowed_groups(self) -> list[str] | None:  # runs in a thread (database access)
        raise NotImplementedError

    def still_allowed(self) -> bool:  # runs in a thread
        return self.allowed_groups() is not None

    def _fresh_user(self):
        user = self.scope.get("user")
        if user is not None and hasattr(user, "_pggit_roles"):
            del user._pggit_roles  # role_of's per-request cache: a socket lives longer
        return user

    async def connect(self):
        groups = await database_sync_to_async(self._groups)()
        if groups is None:
            await self.close(code=FORBIDDEN)
            return
        self.joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"kind": "hello", "groups": len(groups)})

    def _groups(self):
        user = self._fresh_user()
        if user is None or not user.is_authenticated or not self._credentials_alive(user):
            return None
        return self.allowed_groups()

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
        # (in a thread of its own, not the one thread that serves the pages' views: an event
        # does not wait behind page renders)
        if not await database_sync_to_async(self._groups, thread_sensitive=False)():
            await self.close(code=FORBIDDEN)
            return
        await self.send_json(message["event"])


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
