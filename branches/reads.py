"""What the pages and the REST API show of a repository, as plain dataclasses.

Each reader takes a ``Repository`` (authorization is the caller's: ``branches.access``), reads
the engine through ``pggit.client.Client`` and raises ``pggit_web.errors.ActionError`` (unknown
ref 404, unreachable database 503). The page and the API endpoint of the same thing call the same
reader; the older readers that pages had already (``branches.engine``) are exported from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from branches.engine import (  # noqa: F401  (the readers pages and the API share)
    BranchInfo, CommitView, Comparison, Count, ahead_behind, branch_names, read_branches, read_commit,
    read_compare, read_object_history, reader,
)
from branches.models import Repository
from pggit_web.errors import ActionError, NotFound


# repository ------------------------------------------------------------------------------------

@dataclass
class RepositoryState:
    """What the engine says about a repository: checked-out branch, engine version, branch count."""

    current_branch: str
    engine_version: str | None
    branch_count: int
    head: str


def read_repository_state(repo: Repository) -> RepositoryState:
    with reader(repo) as client:
        branches = client.branches()
        current = client.current_branch()
        return RepositoryState(current_branch=current, engine_version=client.installed_version(),
                               branch_count=len(branches),
                               head=next((b["head"] for b in branches if b["name"] == current), ""))


@dataclass
class Reachability:
    """Whether the repository's database answered, and with which engine version."""

    ok: bool
    engine_version: str | None = None
    error: str | None = None


def check_reachable(repo: Repository) -> Reachability:
    """Never raises: a health check reports what failed."""
    try:
        with reader(repo) as client:
            version = client.installed_version()
    except ActionError as exc:
        return Reachability(ok=False, error=exc.message)
    if version is None:
        return Reachability(ok=False, error="the pgGit engine is not installed")
    return Reachability(ok=True, engine_version=version)


# history ----------------------------------------------------------------------------------------

@dataclass
class HistoryPage:
    head: str                 # the commit the walk starts at (pinned by the API's cursor)
    commits: list[dict] = field(default_factory=list)  # from ``offset``, up to ``limit`` + 1


def read_history(repo: Repository, ref: str | None, offset: int = 0, limit: int = 50) -> HistoryPage:
    """Commits reachable from ``ref`` (HEAD's branch when None), newest first, from ``offset``:
    ``limit`` + 1 of them when there are more (so the caller knows there is a next page)."""
    with reader(repo) as client:
        head = client.resolve(ref or client.current_branch())
        commits = client.log(head, offset + limit + 1)
    return HistoryPage(head=head, commits=commits[offset:])


@dataclass
class AuditPage:
    """Audit entries newest first (up to ``limit`` + 1: the extra one says there is a next page),
    and the newest id of the first page (pages are read among ids up to it)."""
    max_id: int | None
    entries: list[dict]


def read_audit(repo: Repository, max_id: int | None, offset: int = 0, limit: int = 50) -> AuditPage:
    """The engine's audit trail of the repository: who did what, when, with what outcome."""
    with reader(repo) as client:
        if max_id is None:
            first = client.audit(1)
            max_id = first[0]["id"] if first else None
        entries = client.audit(limit + 1, offset, max_id) if max_id is not None else []
    return AuditPage(max_id=max_id, entries=entries)


# objects ----------------------------------------------------------------------------------------

@dataclass
class TreeEntry:
    identity: str
    kind: str
    hash: str


def read_tree(repo: Repository, ref: str | None) -> tuple[str, str, list[TreeEntry]]:
    """(the ref read, its commit id, every object in its state ordered by identity)."""
    with reader(repo) as client:
        ref = ref or client.current_branch()
        commit = client.resolve(ref)
        rows = client.tree(commit)
    return ref, commit, [TreeEntry(identity=r["identity"], kind=r["kind"], hash=r["hash"]) for r in rows]


@dataclass
class ObjectView:
    identity: str
    ref: str
    commit_id: str
    kind: str | None          # None when the object is not in the ref's state (deleted)
    definition: str | None
    hash: str | None
    history: list[dict]       # every version reachable from ref, newest first


def read_object(repo: Repository, identity: str, ref: str | None) -> ObjectView:
    """One object at ``ref``: its definition there and every version of it in the history.
    NotFound when the object never existed on that history."""
    with reader(repo) as client:
        ref = ref or client.current_branch()
        commit = client.resolve(ref)
        row = next((r for r in client.tree(commit) if r["identity"] == identity), None)
        history = client.object_history(identity, commit)
    if row is None and not history:
        raise NotFound(f"no object {identity!r} in the history of {ref}", code="object_not_found")
    return ObjectView(identity=identity, ref=ref, commit_id=commit, kind=row["kind"] if row else history[0].get("kind"),
                      definition=row["definition"] if row else None, hash=row["hash"] if row else None,
                      history=history)


# migration --------------------------------------------------------------------------------------

@dataclass
class Migration:
    from_ref: str
    to_ref: str
    from_id: str
    to_id: str
    steps: list[dict]         # pggit.migration()'s rows: step, kind, identity, statement, reason
    data_loss: list[dict]     # identity, statement, reason of each step that would lose data

    @property
    def statements(self) -> list[str]:
        return [step["statement"] for step in self.steps]

    @property
    def script(self) -> str:
        return migration_script(self.from_ref, self.from_id, self.to_ref, self.to_id, self.statements)


def migration_script(from_ref: str, from_id: str, to_ref: str, to_id: str, statements: list[str]) -> str:
    """The migration as one SQL file (the compare page's download and the API's ``text/sql``)."""
    return (f"-- pgGit migration from {from_ref} ({from_id[:12]}) to {to_ref} ({to_id[:12]})\n\n"
            + "\n\n".join(statements) + "\n")


def read_migration(repo: Repository, from_ref: str, to_ref: str) -> Migration:
    """The ordered DDL that turns ``from_ref``'s state into ``to_ref``'s, and its data-loss steps."""
    with reader(repo) as client:
        from_id, to_id = client.resolve(from_ref), client.resolve(to_ref)
        steps, data_loss = client.migration_review(from_id, to_id)
    return Migration(from_ref=from_ref, to_ref=to_ref, from_id=from_id, to_id=to_id, steps=steps,
                     data_loss=list(data_loss or []))


# drift ------------------------------------------------------------------------------------------

def read_drift(repo: Repository) -> list[dict]:
    """Objects whose live definition differs from HEAD's tree (identity, kind, change,
    head_definition, live_definition)."""
    with reader(repo) as client:
        return client.drift()


def read_drift_quietly(repo: Repository) -> list[dict]:
    """``read_drift`` for a page where drift is a warning beside other things (the console): no
    drift when the engine cannot say (the page shows its own error for that)."""
    try:
        return read_drift(repo)
    except ActionError:
        return []
