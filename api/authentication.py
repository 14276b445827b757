"""How the API knows who calls: a personal access token, a JWT, or the session (with CSRF).

All three arrive as ``Authorization: Bearer ...`` or a cookie. A personal access token starts with
``TOKEN_PREFIX`` (``pggit_``), so it is told from a JWT by its first characters; it is checked by
django-rest-knox (digest compare) and its limits are put on the user object for
``branches.access.role_of``.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from api.models import PersonalAccessToken
from branches.access import TokenScope
from branches.models import Role

# last_used_at is written at most this often per token (a pipeline can call many times a minute)
LAST_USED_EVERY = timedelta(minutes=1)


class PersonalAccessTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer pggit_...``: a personal access token (anything else is left to the
    next authentication class). An expired token is refused but kept, so its owner still sees it."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        prefix = knox_settings.TOKEN_PREFIX.encode()
        if len(parts) != 2 or parts[0].lower() != b"bearer" or not parts[1].startswith(prefix):
            return None
        if not parts[1].isascii() or len(parts[1]) > 200:  # knox would fail to decode it (a 500)
            raise exceptions.AuthenticationFailed("Invalid token.")
        user, token = self.authenticate_credentials(parts[1])
        user.pggit_token_scope = TokenScope(
            repository_ids=frozenset(token.repositories.values_list("pk", flat=True)), max_role=Role(token.max_role))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
            PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def _cleanup_token(self, auth_token) -> bool:
        return auth_token.is_expired

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
