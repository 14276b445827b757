"""Making and revoking personal access tokens: the one place both the API and the settings page call."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from api.models import PersonalAccessToken
from branches.access import token_scope
from branches.models import Role
from pggit_web.errors import NotFound

MAX_TOKENS_PER_USER = 100


def check_can_manage_tokens(user) -> None:
    """A token cannot make or revoke tokens (a leaked one must not outlive its revocation)."""
    if token_scope(user) is not None:
        raise PermissionDenied("A personal access token cannot manage tokens: sign in, or use a JWT.")


def create_token(user, *, name: str, repositories: list, max_role: Role, expires_at=None) -> tuple[PersonalAccessToken, str]:
    """Make a token for ``user`` limited to ``repositories`` (already checked as visible) and
    ``max_role``; returns (token row, the token text: shown once, only its digest is kept)."""
    check_can_manage_tokens(user)
    from pggit_web.errors import ActionError

    name = (name or "").strip()
    if not name:
        raise ActionError("a token needs a name", code="invalid_name")
    if PersonalAccessToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ActionError(f"you have {MAX_TOKENS_PER_USER} tokens: revoke some first", code="too_many_tokens",
                          status=409)
    with transaction.atomic():
        token, text = PersonalAccessToken.objects.create(user=user, expiry=None, name=name, max_role=Role(max_role))
        if expires_at is not None:
            token.expiry = expires_at
            token.save(update_fields=["expiry"])
        token.repositories.set(repositories)
    return token, text


def user_tokens(user):
    return PersonalAccessToken.objects.filter(user=user).prefetch_related("repositories")


def revoke_token(user, token_id: str) -> None:
    """Delete the token whose id (first characters) is ``token_id``; another user's is not found."""
    check_can_manage_tokens(user)
    deleted, _ = PersonalAccessToken.objects.filter(user=user, token_key=token_id).delete()
    if not deleted:
        raise NotFound(f"you have no token {token_id!r}", code="token_not_found")
