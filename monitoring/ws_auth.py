"""Who opens a websocket: the session's user (Channels' AuthMiddleware), or the REST API's
credentials for clients that are not a browser: ``Authorization: Bearer <JWT or pggit_ token>``,
or ``?token=`` in the URL for clients that cannot set headers (a URL can end up in logs: prefer
the header). A token that does not check out leaves the socket anonymous (it is then refused)."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

TOKEN_MAX = 2000


def _bearer(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            parts = value.split()
            if len(parts) == 2 and parts[0].lower() == b"bearer":
                return parts[1].decode("latin-1")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


def authenticate_token(raw: str):
    """(user, personal access token or None) for a JWT or personal access token, else (None, None)."""
    from knox.settings import knox_settings
    from rest_framework import exceptions
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    from api.authentication import PersonalAccessTokenAuthentication
    from branches.access import TokenScope
    from branches.models import Role

    if not raw or len(raw) > TOKEN_MAX or not raw.isascii():
        return None, None
    if raw.startswith(knox_settings.TOKEN_PREFIX):
        try:
            user, token = PersonalAccessTokenAuthentication().authenticate_credentials(raw.encode())
        except exceptions.AuthenticationFailed:
            return None, None
        if token.is_expired:
            return None, None
        user.pggit_token_scope = TokenScope(
            repository_ids=frozenset(token.repositories.values_list("pk", flat=True)), max_role=Role(token.max_role))
        return user, token
    auth = JWTAuthentication()
    try:
        validated = auth.get_validated_token(raw.encode())
        user = auth.get_user(validated)
    except (InvalidToken, TokenError, exceptions.AuthenticationFailed):
        return None, None
    user.pggit_jwt_expires = validated.get("exp")  # the socket closes when the token would
    return user, None


class TokenAuthMiddleware:
    """Sets ``scope['user']`` (and ``scope['pggit_token']``) from API credentials when the socket
    brings some; otherwise leaves the session's user in place."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        raw = _bearer(scope)
        if raw is not None:
            user, token = await database_sync_to_async(authenticate_token)(raw)
            scope = dict(scope, user=user or AnonymousUser(), pggit_token=token)
        return await self.app(scope, receive, send)


class OriginCheck:
    """Browsers always send Origin: a socket from a page of another site is refused (cross-site
    websocket hijacking with the session cookie). A client that is not a browser and brings API
    credentials may leave Origin out."""

    def __init__(self, app):
        from channels.security.websocket import AllowedHostsOriginValidator

        self.app = app
        self.validated = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if not any(name == b"origin" for name, _ in scope.get("headers", ())) and _bearer(scope) is not None:
            return await self.app(scope, receive, send)
        return await self.validated(scope, receive, send)
