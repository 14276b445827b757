"""What changes a repository: each function checks the user's role, then changes state through
the engine. Pages (and later the REST API) call these; views stay thin.

Every function takes the acting user first and raises ``Http404`` (outsider),
``PermissionDenied`` (role too low) or ``pggit_web.errors.ActionError``.
"""

from __future__ import annotations

import glob
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, transaction
from psycopg.conninfo import conninfo_to_dict

from branches.access import check_role, grant, merge_role_for
from branches.models import Repository, Role
from pggit import console
from pggit import errors as pe
from pggit.client import Client
from pggit.console import DatabaseIdentity, database_identity, identity_of
from pggit.shadow import SUFFIX as SHADOW_SUFFIX
from pggit_web.errors import ActionError, Conflict, DataLoss, engine_errors

MAX_NAME = 200


def client_for(repo: Repository, user=None) -> Client:
    """A client on the repository's database; use it as a context manager to close it. With
    ``user``, what the client commits names that user as its author (the engine keeps the
    database role as committer)."""
    return Client(repo.dsn, person=user.get_username() if user is not None else None)


def _commit_message(message: str | None, sql: str) -> str:
    return (message or "").strip() or sql.strip().splitlines()[0][:200]


# repositories ------------------------------------------------------------------------------

def check_can_add_repository(user) -> None:
    """Adding a repository is a site-level permission (``branches.add_repository``): only
    superusers have it unless an administrator grants it to a user or group."""
    from django.core.exceptions import PermissionDenied

    from branches.access import token_scope

    if token_scope(user) is not None:
        raise PermissionDenied("A personal access token cannot add repositories: sign in, or use a JWT.")
    if not (user.is_active and (user.is_superuser or user.has_perm("branches.add_repository"))):
        raise PermissionDenied("Adding a repository needs the 'add repository' permission.")


def _password_of(dsn: str) -> str | None:
    try:
        return conninfo_to_dict(dsn).get("password") or None
    except psycopg.ProgrammingError:
        return None


@contextmanager
def _secret_kept(dsn: str):
    """Engine and connection errors as ActionError, with the DSN's password never in them."""
    password = _password_of(dsn)
    try:
        with engine_errors():
            yield
    except ActionError as exc:
        if password:
            exc.message = exc.message.replace(password, "***")
            exc.detail = exc.detail and exc.detail.replace(password, "***")
            exc.args = (exc.message,)
        raise exc from None


def check_dsn(dsn: str) -> None:
    """A connection URL (or key=value string) that libpq can read; its text is never echoed."""
    if not dsn or not dsn.strip():
        raise ActionError("a repository needs a connection URL", code="invalid_dsn")
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ActionError("the connection URL cannot be read: give postgresql://user:password@host:port/dbname "
                          "(or key=value pairs)", code="invalid_dsn") from None


def app_database_identity() -> DatabaseIdentity:
    """Where Django's own database (DATABASES['default']) is, as its server says."""
    from django.db import connections

    return database_identity(connections["default"])


def repository_identity(repo: Repository, connect_timeout: int = 3) -> DatabaseIdentity | None:
    """Where ``repo``'s database is: asked of its server (and remembered), or, when it does not
    answer, what it said when last reached (None if never)."""
    try:
        identity = identity_of(repo.dsn, connect_timeout=connect_timeout)
    except (psycopg.Error, ValueError):
        return DatabaseIdentity.from_dict(repo.database_identity) if repo.database_identity else None
    if repo.pk and repo.database_identity != identity.as_dict():
        Repository.objects.filter(pk=repo.pk).update(database_identity=identity.as_dict())
        repo.database_identity = identity.as_dict()
    return identity


def check_dsn_target(user, dsn: str, *, exclude: Repository | None = None) -> DatabaseIdentity:
    """Connect with ``dsn`` and refuse it when the server says it is the app's own database, a
    shadow database, or the database of another repository (``exclude`` aside); returns what the
    server said. Names are compared as the server reports them, after connecting, so another
    spelling of the same place (localhost, 127.0.0.1, a Unix socket, another role) is caught."""
    from branches.access import role_of

    check_dsn(dsn)
    with _secret_kept(dsn):
        target = identity_of(dsn)
    if target.database.endswith(SHADOW_SUFFIX):
        raise Conflict(f"{target.database!r} is a shadow database (pgGit's scratch copy, dropped and made again at "
                       "will): register the database it belongs to", code="dsn_is_shadow")
    if target.same_database(app_database_identity()):
        raise Conflict("this connection reaches pgGit's own database (where the web app keeps its users and "
                       "repositories): register a database of your own", code="dsn_is_app_database")
    for other in Repository.objects.exclude(pk=exclude.pk if exclude else None):
        identity = repository_identity(other)
        if identity is not None and target.same_database(identity):
            known = other.name if user is not None and role_of(user, other) is not None else "another repository"
            raise Conflict(f"this connection reaches the database of {known}: a database is one repository",
                           code="dsn_is_repository")
    return target


def protect_default_branch(repo: Repository):
    """The default branch of a new repository is protected: 1 approval, not the author's own,
    maintainers merge (an existing rule for it is left as it is)."""
    from branches.models import BranchProtection

    pattern = glob.escape(repo.default_branch)  # a branch named 'a*' matches only itself
    rule, _ = BranchProtection.objects.get_or_create(
        repository=repo, pattern=pattern,
        defaults={"required_approvals": 1, "allow_self_approval": False, "merge_role": Role.MAINTAINER,
                  "dismiss_stale_approvals": True})
    return rule


def add_repository(user, *, name: str, dsn: str, description: str = "", default_branch: str = "main",
                   install: bool = True) -> tuple[Repository, str | None]:
    """Register a managed database and make ``user`` its maintainer; with ``install``, install or
    upgrade the engine there first (nothing is saved if that fails). Returns (repo, version).

    Needs the site-level permission; refuses a name or address in use (before touching the
    database), a URL reaching the app's own database, a shadow or another repository's database
    (``check_dsn_target``). The default branch is protected (``protect_default_branch``)."""
    from django.utils.text import slugify

    from branches.models import RESERVED_SLUGS

    check_can_add_repository(user)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ActionError("a repository needs a name of 1 to 100 characters", code="invalid_name")
    slug = slugify(name)
    if not slug or slug in RESERVED_SLUGS:
        raise ActionError(f"the name {name!r} gives the address {slug!r}, which is empty or reserved",
                          code="invalid_name")
    default_branch = (default_branch or "main").strip() or "main"

    def taken():
        if Repository.objects.filter(name=name).exists():
            return Conflict(f"a repository named {name!r} exists already", code="repository_exists")
        if Repository.objects.filter(slug=slug).exists():
            return Conflict(f"the name {name!r} gives the address {slug!r}, which another repository has: "
                            "choose another name", code="repository_exists")
        return None

    if (error := taken()) is not None:
        raise error
    identity = check_dsn_target(user, dsn)
    version = None
    if install:
        with _secret_kept(dsn), Client(dsn) as client:
            version = client.install()
    try:
        with transaction.atomic():
            repo = Repository(name=name, slug=slug, dsn=dsn, description=description, default_branch=default_branch,
                              created_by=user, database_identity=identity.as_dict())
            repo.save()
            grant(repo, user, Role.MAINTAINER)
            protect_default_branch(repo)
    except IntegrityError:  # added meanwhile under the same name or address
        raise taken() or Conflict(f"a repository named {name!r} exists already", code="repository_exists") from None
    return repo, version


def install_engine(user, repo: Repository) -> str:
    """Install or upgrade the engine in the repository's database; returns the installed version."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo, user) as client:
        return client.install()


# branches --------------------------------------------------------------------------------

def create_branch(user, repo: Repository, name: str, from_ref: str | None = None, with_data: bool = False) -> str:
    """Create branch ``name`` at ``from_ref`` (HEAD when empty); returns its head commit. With
    ``with_data`` the branch also carries the live rows (a data branch, which starts at HEAD)."""
    check_role(user, repo, Role.DEVELOPER)
    if not name or len(name) > MAX_NAME:
        raise ActionError(f"a branch name has 1 to {MAX_NAME} characters", code="invalid_name")
    with engine_errors(), client_for(repo, user) as client:
        return client.create_branch(name, from_ref or None, with_data=with_data)


def delete_branch(user, repo: Repository, name: str, force: bool = False) -> str:
    """Delete a branch; returns the head it had. Protected branches need the role their rule
    names for merging."""
    check_role(user, repo, max(Role.DEVELOPER, merge_role_for(repo, name)))
    with engine_errors(), client_for(repo, user) as client:
        return client.delete_branch(name, force)


def check_can_apply(user, repo: Repository, branch: str, *, is_head: bool) -> None:
    """Developers apply DDL to unprotected branches; a protected branch needs its merge role;
    the checked-out branch (the live database) needs a maintainer."""
    needed = Role.MAINTAINER if is_head else max(Role.DEVELOPER, merge_role_for(repo, branch))
    check_role(user, repo, needed)


CONSOLE_OFF = ("the console on the checked-out branch is off in {repo}: it runs SQL on the live database as a "
               "role of its own, never as the repository's connection role. A maintainer names that role in "
               "the repository's Settings (SQL console): a role that can log in, with no SUPERUSER, CREATEROLE, "
               "CREATEDB, REPLICATION or BYPASSRLS and no pg_* role, e.g. CREATE ROLE {repo_slug}_console LOGIN "
               "PASSWORD '...'; and owning the objects it should change.")


def drift_refusal(drifted: list[dict]) -> Conflict:
    """Why SQL on the live database is refused while it has drift (unless ``with_drift``)."""
    listed = ", ".join(f"{d['identity']} ({d['change']})" for d in drifted[:5]) + (
        f" and {len(drifted) - 5} more" if len(drifted) > 5 else "")
    return Conflict(f"the live database differs from HEAD in {len(drifted)} object{'s' if len(drifted) != 1 else ''} "
                    f"changed behind the engine's back: {listed}. A statement that changes one of them records its "
                    "whole live definition, the drift included, in this commit. Review the drift first, or run "
                    "the SQL again saying to record the drift with it", code="live_drift",
                    detail="\n".join(f"{d['change']}: {d['identity']}" for d in drifted))


@dataclass
class ConsoleResult:
    """What SQL run in the console did: the commit it made (None when it changed no tracked
    object) and the rows of its last statement that returned some (a ``SELECT``), else None."""

    commit: str | None
    rows: console.Rows | None = None


def apply_sql(user, repo: Repository, branch: str, sql: str, message: str | None = None, *,
              with_drift: bool = False) -> str | None:
    """``run_console``'s commit: the commit the SQL made on ``branch``, None when nothing changed."""
    return run_console(user, repo, branch, sql, message, with_drift=with_drift).commit


def run_console(user, repo: Repository, branch: str, sql: str, message: str | None = None, *,
                with_drift: bool = False) -> ConsoleResult:
    """Run SQL on ``branch``: the commit it made (None when nothing changed) and the rows of its
    last statement that returned some, the first ``console.ROWS_SHOWN`` with their count.

    On a branch that is not checked out the engine client's ``apply`` runs it in the shadow
    database and commits what changed; the live database is untouched. On the checked-out
    branch it runs on the live database as the repository's console role (``pggit.console``:
    a login as that role, checked again before the SQL runs), in one transaction that the
    engine's event triggers capture as one commit (all statements or none); with no console role
    it is refused. The commit's author is the web user, its committer the role that ran it. Rows are read by the same unprivileged
    login as the SQL: the console role on the live database (the data it may read), the shadow
    role on other branches (the branch's schema, without data).

    Drift is not absorbed silently: while the live database differs from HEAD (``pggit.drift()``),
    SQL on it is refused (409 ``live_drift``) unless ``with_drift`` says to go on; the commit
    message then lists the drifted objects (``Live-drift:`` trailers), since a statement that
    touches one records its live definition with the drift. (Drift made between the check and
    the run is not seen: the check is a guard against the common case, not a lock.)
    """
    if not sql or not sql.strip():
        raise ActionError("there is no SQL to run", code="empty_sql")
    with engine_errors(), client_for(repo, user) as client:
        is_head = client.current_branch() == branch
        check_can_apply(user, repo, branch, is_head=is_head)
        text = _commit_message(message, sql)
        if not is_head:
            return ConsoleResult(*client.apply_with_rows(branch, sql, text))
        if not repo.console_role:
            raise Conflict(CONSOLE_OFF.format(repo=repo.name, repo_slug=repo.slug.replace("-", "_")), code="console_off")
        drifted = client.drift()
        if drifted and not with_drift:
            raise drift_refusal(drifted)
        text += "".join(f"\nLive-drift: {d['identity']} ({d['change']})" for d in drifted)
        before = client.resolve(branch)
        try:
            rows = console.run(repo.dsn, repo.console_role, repo.console_password or None, sql, text,
                               person=user.get_username())
        except console.ConsoleRoleRefused as exc:
            raise Conflict(f"the SQL did not run: {exc}. A maintainer can name another role in Settings.",
                           code="console_role_refused") from None
        after = client.resolve(branch)
        return ConsoleResult(after if after != before else None, rows)


def checkout(user, repo: Repository, branch: str, force: bool = False) -> str:
    """Migrate the live schema to ``branch`` and make it HEAD (maintainers)."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo, user) as client:
        try:
            return client.switch_branch(branch, force)
        except pe.DataLossRefused:  # say what would be lost, from the engine's data-loss rows
            losses = client.data_loss_steps(client.current_branch(), branch)
            raise DataLoss(f"Checking out {branch} would lose data.", losses) from None


def record_drift(user, repo: Repository, message: str | None = None) -> str | None:
    """Record the live database's drift as one commit on HEAD (maintainers); returns it, or
    None when there was no drift. The engine takes HEAD's branch lock."""
    check_role(user, repo, Role.MAINTAINER)
    if message is not None and len(message) > 10_000:
        raise ActionError("a commit message has at most 10,000 characters", code="invalid_message")
    with engine_errors(), client_for(repo, user) as client:
        return client.commit_drift((message or "").strip() or None)


def discard_drift(user, repo: Repository, force: bool = False) -> str | None:
    """Migrate the live database back to HEAD, undoing its drift (maintainers); returns HEAD, or
    None when there was no drift. Steps that lose data are refused unless ``force`` (named, as
    for a checkout). One engine transaction under HEAD's branch lock."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo, user) as client:
        try:
            return client.discard_drift(force)
        except pe.DataLossRefused:
            raise DataLoss("Undoing the drift would lose data.", client.drift_data_loss()) from None


def revert(user, repo: Repository, commit: str, branch: str | None = None, force: bool = False) -> str:
    """Make a commit on ``branch`` (HEAD's when None) undoing ``commit`` (maintainers)."""
    check_role(user, repo, Role.MAINTAINER)
    with engine_errors(), client_for(repo, user) as client:
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


# the console role (repository settings) ----------------------------------------------------------

def check_console_role(dsn: str, role: str, password: str | None) -> None:
    """Check ``role`` through the repository's connection ``dsn`` (exists, can log in, no dangerous
    attribute or pg_* membership, does not own the engine), grant it the engine's
    ``begin_commit``, and log in as it with ``password`` (checked again as that session).
    Raises ActionError; the admin's form calls it too."""
    try:
        console.check_role_name(role)
    except ValueError as exc:
        raise ActionError(f"console role: {exc}", code="invalid_console_role") from None
    try:
        with _secret_kept(dsn):
            console.prepare_role(dsn, role)
            console.connect(dsn, role, password or None).close()
    except console.ConsoleRoleRefused as exc:
        raise ActionError(str(exc), code="console_role_refused") from None


def set_console_role(user, repo: Repository, role: str, password: str = "", *, keep_password: bool = True) -> None:
    """Name the role the console logs in as on the checked-out branch (maintainers only); an
    empty ``role`` turns the console on the checked-out branch off. An empty ``password`` keeps
    the stored one while the role stays the same (``keep_password``), else means none."""
    check_role(user, repo, Role.MAINTAINER)
    role = role or ""
    if not role:
        repo.console_role, repo.console_password = "", ""
    else:
        if not password and keep_password and role == repo.console_role:
            password = repo.console_password
        check_console_role(repo.dsn, role, password)
        repo.console_role, repo.console_password = role, password or ""
    repo.save(update_fields=["console_role", "console_password"])
