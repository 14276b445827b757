"""Who may do what in a repository.

An outsider (no role) does not see the repository at all: 404, as if it did not exist. A
member whose role is too low for an action gets 403. Superusers are maintainers everywhere.

A request made with a personal access token (``api.authentication``) carries the token's limits
on its user object (``user.pggit_token_scope``, a ``TokenScope``): a repository the token does not
name is the same as one the user has no role in, and the token's maximum role caps the user's.
Every check (pages' and actions') goes through ``role_of``, so the limits hold everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404

from branches.models import Repository, Role


@dataclass(frozen=True)
class TokenScope:
    """What a personal access token limits its owner to: these repositories, at most this role."""

    repository_ids: frozenset
    max_role: Role

    def cap(self, repo: Repository, role: Role | None) -> Role | None:
        if role is None or repo.pk not in self.repository_ids:
            return None
        return min(role, self.max_role)


def token_scope(user) -> TokenScope | None:
    return getattr(user, "pggit_token_scope", None)


def role_of(user, repo: Repository) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    scope = token_scope(user)
    if user.is_superuser:
        return scope.cap(repo, Role.MAINTAINER) if scope else Role.MAINTAINER
    cache = getattr(user, "_pggit_roles", None)
    if cache is None:
        cache = user._pggit_roles = {}
    if repo.pk not in cache:
        roles = repo.role_groups.filter(group__user=user).values_list("role", flat=True)
        cache[repo.pk] = Role(max(roles)) if roles else None
    return scope.cap(repo, cache[repo.pk]) if scope else cache[repo.pk]


def has_role(user, repo: Repository, role: Role) -> bool:
    mine = role_of(user, repo)
    return mine is not None and mine >= role


def check_role(user, repo: Repository, role: Role) -> Role:
    """Raise Http404 for an outsider, PermissionDenied below ``role``; return the user's role."""
    mine = role_of(user, repo)
    if mine is None:
        raise Http404("No such repository")
    if mine < role:
        raise PermissionDenied(f"This needs the {role.label} role in {repo.name}; you are {mine.label}.")
    return mine


def repository_for(user, slug: str, role: Role = Role.VIEWER) -> Repository:
    try:
        repo = Repository.objects.get(slug=slug)
    except Repository.DoesNotExist:
        raise Http404("No such repository") from None
    check_role(user, repo, role)
    return repo


def visible_repositories(user):
    qs = Repository.objects.all()
    scope = token_scope(user)
    if scope is not None:
        qs = qs.filter(pk__in=scope.repository_ids)
    if user.is_superuser:
        return qs
    return qs.filter(role_groups__group__user=user).distinct()


def merge_role_for(repo: Repository, branch: str) -> Role:
    """The lowest role that may merge into or apply DDL on ``branch``."""
    rule = repo.protection_for(branch)
    return Role(rule.merge_role) if rule else Role.DEVELOPER


def grant(repo: Repository, user, role: Role) -> None:
    """Make ``user`` a member with exactly ``role`` (any other role in the repository is removed)."""
    for link in repo.role_groups.select_related("group"):
        if link.role == role:
            link.group.user_set.add(user)
        else:
            link.group.user_set.remove(user)
    if hasattr(user, "_pggit_roles"):
        user._pggit_roles.pop(repo.pk, None)
