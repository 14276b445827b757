"""What changes a repository: each function checks the user's role, then changes state through
the engine. Pages (and later the REST API) call these; views stay thin.

Every function takes the acting user first and raises ``Http404`` (outsider),
``PermissionDenied`` (role too low) or ``pggit_web.errors.ActionError``.
"""

from __future__ import annotations

import psycopg
from django.db import transaction

from branches.access import check_role, grant, merge_role_for
from branches.models import Repository, Role
from pggit.client import Client
from pggit_web.errors import ActionError, Conflict, engine_errors

MAX_NAME = 200


def client_for(repo: Repository) -> Client:
    """A client on the repository's database; use it as a context manager to close it."""
    return Client(repo.dsn)


def _author_message(user, message: str | None, sql: str) -> str:
    first = (message or "").strip() or sql.strip().splitlines()[0][:200]
    return f"{first}\n\nApplied-by: {user.get_username()} (pgGit web)"


# repositories ------------------------------------------------------------------------------

def check_can_add_repository(user) -> None:
    from django.core.exceptions import PermissionDenied

    if not (user.is_superuser or user.has_perm("branches.add_repository")):
        raise PermissionDenied("Adding a repository needs the 'add repository' permission.")


def add_repository(user, *, name: str, dsn: str, description: str = "", default_branch: str = "main",
                   install: bool = True) -> tuple[Repository, str | None]:
    """Register a managed database and make ``user`` its maintainer; with ``install``, install or
    upgrade the engine there first (nothing is saved if that fails). Returns (repo, version)."""
    check_can_add_repository(user)
    name = name.strip()
    if not name:
        raise ActionError("a repository needs a name", code="invalid_name")
    from django.utils.text import slugify

    from branches.models import RESERVED_SLUGS

    slug = slugify(name)
    if not slug or slug in RESERVED_SLUGS:
        raise ActionError(f"the name {name!r} gives the address {slug!r}, which is empty or reserved",
                          code="invalid_name")
    if Repository.objects.filter(name=name).exists():
        raise Conflict(f"a repository named {name!r} exists already", code="repository_exists")
    version = None
    if install:
        with engine_errors(), Client(dsn) as client:
            version = client.install()
    else:
        with engine_errors(), psycopg.connect(dsn, connect_timeout=10):
            pass
    with transaction.atomic():
        repo = Repository(name=name, dsn=dsn, description=description, default_branch=default_branch or "main",
                          created_by=user)
        repo.save()
        if Repository.objects.filter(slug=repo.slug).exclude(pk=repo.pk).exists():
            raise Conflict(f"a repository with the address {repo.slug!r} exists already", code="repository_exists")
        grant(repo, user, Role.MAINTAINER)
    return repo, version


def install_engine(user, repo: Repository) -> str:
    """Install or upgrade the engine in the repository's database; returns the installed version."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo) as client:
        return client.install()


# branches --------------------------------------------------------------------------------

def create_branch(user, repo: Repository, name: str, from_ref: str | None = None) -> str:
    """Create branch ``name`` at ``from_ref`` (HEAD when empty); returns its head commit."""
    check_role(user, repo, Role.DEVELOPER)
    if not name or len(name) > MAX_NAME:
        raise ActionError(f"a branch name has 1 to {MAX_NAME} characters", code="invalid_name")
    with engine_errors(), client_for(repo) as client:
        return client.create_branch(name, from_ref or None)


def delete_branch(user, repo: Repository, name: str, force: bool = False) -> str:
    """Delete a branch; returns the head it had. Protected branches need the role their rule
    names for merging."""
    check_role(user, repo, max(Role.DEVELOPER, merge_role_for(repo, name)))
    with engine_errors(), client_for(repo) as client:
        return client.delete_branch(name, force)


def check_can_apply(user, repo: Repository, branch: str, *, is_head: bool) -> None:
    """Developers apply DDL to unprotected branches; a protected branch needs its merge role;
    the checked-out branch (the live database) needs a maintainer."""
    needed = Role.MAINTAINER if is_head else max(Role.DEVELOPER, merge_role_for(repo, branch))
    check_role(user, repo, needed)


def apply_sql(user, repo: Repository, branch: str, sql: str, message: str | None = None) -> str | None:
    """Run DDL on ``branch`` and return the commit it made (None when nothing changed).

    On a branch that is not checked out the engine client's ``apply`` runs it in the shadow
    database and commits what changed; the live database is untouched. On the checked-out
    branch it runs on the live database in one transaction, where the engine's event triggers
    capture it as one commit (all statements or none). The commit message names the web user.
    """
    if not sql or not sql.strip():
        raise ActionError("there is no SQL to run", code="empty_sql")
    with engine_errors(), client_for(repo) as client:
        is_head = client.current_branch() == branch
        check_can_apply(user, repo, branch, is_head=is_head)
        text = _author_message(user, message, sql)
        if not is_head:
            return client.apply(branch, sql, text)
        before = client.resolve(branch)
        with psycopg.connect(repo.dsn) as conn:  # one transaction: all statements or none
            conn.execute("SELECT pggit.begin_commit(%s)", (text,))  # the statements make one commit
            conn.execute(sql)
        after = client.resolve(branch)
        return after if after != before else None


def checkout(user, repo: Repository, branch: str, force: bool = False) -> str:
    """Migrate the live schema to ``branch`` and make it HEAD (maintainers)."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo) as client:
        return client.switch_branch(branch, force)


def revert(user, repo: Repository, commit: str, branch: str | None = None, force: bool = False) -> str:
    """Make a commit on ``branch`` (HEAD's when None) undoing ``commit`` (maintainers)."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo) as client:
        return client.revert(commit, branch, force)


# members and branch protection (repository settings) ------------------------------------------

def members(user, repo: Repository) -> list[tuple]:
    """(user, role) of every member, highest role first (maintainers only)."""
    check_role(user, repo, Role.MAINTAINER)
    out = {}
    for link in repo.role_groups.select_related("group").prefetch_related("group__user_set"):
        for member in link.group.user_set.all():
            if member.pk not in out or out[member.pk][1] < link.role:
                out[member.pk] = (member, Role(link.role))
    return sorted(out.values(), key=lambda m: (-m[1], m[0].get_username()))


def set_member_role(user, repo: Repository, username: str, role: Role | None) -> None:
    """Give ``username`` exactly ``role`` in the repository, or no role (None). Maintainers
    only; the last maintainer cannot step down or be removed (the repository would be orphaned)."""
    from django.contrib.auth import get_user_model

    check_role(user, repo, Role.MAINTAINER)
    try:
        member = get_user_model().objects.get(username=(username or "").strip())
    except get_user_model().DoesNotExist:
        raise ActionError(f"there is no user named {username!r}", code="unknown_user", status=404) from None
    with transaction.atomic():
        Repository.objects.select_for_update().get(pk=repo.pk)  # one membership change at a time
        maintainers = [m for m, r in members(user, repo) if r == Role.MAINTAINER]
        if role != Role.MAINTAINER and maintainers == [member]:
            raise Conflict(f"{member.get_username()} is the last maintainer of {repo.name}", code="last_maintainer")
        if role is None:
            for link in repo.role_groups.select_related("group"):
                link.group.user_set.remove(member)
        else:
            grant(repo, member, Role(role))


def save_protection(user, repo: Repository, *, pattern: str, required_approvals: int = 1,
                    allow_self_approval: bool = False, merge_role: Role = Role.MAINTAINER,
                    dismiss_stale_approvals: bool = True, position: int | None = None):
    """Create or update the protection rule for ``pattern`` (maintainers only)."""
    from branches.models import BranchProtection

    check_role(user, repo, Role.MAINTAINER)
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > 200:
        raise ActionError("a branch pattern has 1 to 200 characters (e.g. main or release/*)", code="invalid_pattern")
    if required_approvals < 0 or required_approvals > 20:
        raise ActionError("required approvals must be between 0 and 20", code="invalid_approvals")
    if Role(merge_role) not in (Role.DEVELOPER, Role.REVIEWER, Role.MAINTAINER):
        raise ActionError("who may merge: developer, reviewer or maintainer", code="invalid_role")
    defaults = {"required_approvals": required_approvals, "allow_self_approval": allow_self_approval,
                "merge_role": Role(merge_role), "dismiss_stale_approvals": dismiss_stale_approvals}
    if position is not None:
        defaults["position"] = position
    rule, _ = BranchProtection.objects.update_or_create(repository=repo, pattern=pattern, defaults=defaults)
    return rule


def delete_protection(user, repo: Repository, pattern: str) -> None:
    from branches.models import BranchProtection

    check_role(user, repo, Role.MAINTAINER)
    deleted, _ = BranchProtection.objects.filter(repository=repo, pattern=pattern).delete()
    if not deleted:
        raise ActionError(f"no protection rule for {pattern!r}", code="not_found", status=404)
