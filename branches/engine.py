"""Reading a repository's state from its engine, for pages.

Everything here goes through ``pggit.client.Client`` on the repository's own database; nothing
is cached in Django's tables. ``read_dashboard`` turns every engine failure into
``EngineUnavailable`` (the dashboard says why, with a 503); the other readers raise
``pggit_web.errors.ActionError`` (an unknown ref is a 404, an unreachable database a 503), which
the pages show in place.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import psycopg
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from branches.models import Repository
from pggit_web.errors import engine_errors

# How far the ahead/behind walk goes: counts at or above this show as "1000+".
AHEAD_BEHIND_LIMIT = 1000
OBJECT_HISTORY_PER_PAGE = 20  # versions of one object a page (each is rendered side by side)


class EngineUnavailable(Exception):
    """The repository's database cannot be reached or does not answer like a pgGit engine."""


@dataclass
class Dashboard:
    current_branch: str
    branches: list[dict] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    version: str | None = None


@contextmanager
def engine_client(dsn: str):
    """A ``pggit.client.Client`` for ``dsn``, closed afterwards.

    Connection errors, SQL errors and the engine's own errors (e.g. not installed) become
    EngineUnavailable, so that pages can say why instead of failing with a 500.
    """
    from pggit.client import Client
    from pggit.errors import PggitError

    client = Client(dsn)
    try:
        yield client
    except (psycopg.Error, PggitError) as e:
        raise EngineUnavailable(str(e).strip() or e.__class__.__name__) from e
    finally:
        client.close()


@contextmanager
def reader(repo: Repository) -> Iterator:
    """A client on the repository's database whose errors become ``ActionError``."""
    from pggit.client import Client

    with engine_errors(), Client(repo.dsn) as client:
        yield client


def read_dashboard(repo: Repository, log_limit: int = 20) -> Dashboard:
    """The current branch, every branch, the newest ``log_limit`` commits on HEAD and the
    installed engine version."""
    with engine_client(repo.dsn) as client:
        return Dashboard(
            current_branch=client.current_branch(),
            branches=sorted(client.branches(), key=lambda b: (not b["is_head"], b["name"])),
            commits=client.log(limit=log_limit),
            version=client.installed_version(),
        )


# ahead / behind ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    """A number of commits; ``more`` when the true number is larger (shown as ``n+``)."""

    n: int
    more: bool = False

    def __str__(self):
        return f"{self.n}+" if self.more else str(self.n)


def ahead_behind(client, a: str, b: str, limit: int = AHEAD_BEHIND_LIMIT) -> tuple[Count, Count]:
    """(ahead, behind): commits reachable from ``a`` and not from ``b``, and the reverse, from
    the engine's ``pggit.ahead_behind`` (counts at ``limit``, or beyond its walk, are lower bounds)."""
    row = client.ahead_behind(a, b, limit)
    return Count(row["ahead"], row["ahead_more"]), Count(row["behind"], row["behind_more"])


@dataclass
class BranchInfo:
    name: str
    head: str
    is_head: bool
    created_at: object
    created_by: str
    is_default: bool
    ahead: Count | None
    behind: Count | None
    last_commit: dict | None
    created_by_role: str | None = None
    data: dict | None = None  # a data branch's row of pggit.data_branches(), else None

    @property
    def carries_data(self) -> bool:
        return self.data is not None


def read_branches(repo: Repository) -> tuple[str, list[BranchInfo], str | None]:
    """(HEAD's branch, every branch with ahead/behind against ``repo.default_branch`` and its
    newest commit, the default branch's name if it exists)."""
    with reader(repo) as client:
        current = client.current_branch()
        branches = client.branches()
        heads = {b["name"]: b["head"] for b in branches}
        default = repo.default_branch if repo.default_branch in heads else None
        last = client.commit_info(list(set(heads.values())))
        others = [b["head"] for b in branches if default and b["name"] != default]
        counts = client.ahead_behind_many(others, heads[default], AHEAD_BEHIND_LIMIT) if others else {}
        data = {d["branch"]: d for d in client.data_branches(sizes=False)}
        infos = []
        for b in branches:
            ahead = behind = None
            if default and b["name"] != default:
                row = counts[b["head"]]
                ahead, behind = Count(row["ahead"], row["ahead_more"]), Count(row["behind"], row["behind_more"])
            infos.append(BranchInfo(name=b["name"], head=b["head"], is_head=b["is_head"], created_at=b["created_at"],
                                    created_by=b["created_by"], is_default=b["name"] == default, ahead=ahead,
                                    behind=behind, last_commit=last.get(b["head"]),
                                    created_by_role=b.get("created_by_role"), data=data.get(b["name"])))
    infos.sort(key=lambda i: (not i.is_head, not i.is_default, i.name))
    return current, infos, default


def branch_names(repo: Repository) -> tuple[str, list[str]]:
    """(HEAD's branch, every branch name)."""
    with reader(repo) as client:
        return client.current_branch(), [b["name"] for b in client.branches()]


# commit log with its graph -------------------------------------------------------------------

LANE_W, ROW_H, PAD, RADIUS = 14, 36, 9, 4
MAX_LANES = 12


@dataclass
class GraphRow:
    """One commit of the log, with its lane and the lines to draw around it."""

    commit: dict
    column: int
    width: int
    svg: SafeString = mark_safe("")
    refs: list["RefLabel"] = field(default_factory=list)  # the branches whose head this commit is


@dataclass
class RefLabel:
    """A branch name drawn beside the commit it points at; ``is_head``: the checked-out branch."""

    name: str
    is_head: bool = False


def _x(i: int) -> int:
    return PAD + LANE_W * i


def commit_graph(commits: list[dict]) -> list[GraphRow]:
    """Lanes for a newest-first list of commits, as in ``git log --graph``.

    Each lane waits for one commit id. A commit takes the lane waiting for it (the leftmost one
    when several wait: those lines join at the commit), hands its lane to its first parent and
    opens (or joins) a lane for a second parent, so a merge commit draws two lines below it.
    """
    lanes: list[str | None] = []
    rows: list[GraphRow] = []
    mid = ROW_H // 2
    for commit in commits:
        cid = commit["commit_id"]
        parents = list(commit.get("parent_ids") or [])
        waiting = [i for i, lane in enumerate(lanes) if lane == cid]
        if waiting:
            col = waiting[0]
        else:
            col = lanes.index(None) if None in lanes else len(lanes)
            if col == len(lanes):
                lanes.append(None)
        before = list(lanes)
        after = list(lanes)
        for i in waiting:
            after[i] = None
        after[col] = parents[0] if parents else None
        targets: list[int] = [col] if parents else []
        for parent in parents[1:]:
            if parent in after:
                targets.append(after.index(parent))
            else:
                slot = after.index(None) if None in after else len(after)
                if slot == len(after):
                    after.append(None)
                after[slot] = parent
                targets.append(slot)
        while after and after[-1] is None:
            after.pop()

        parts: list[SafeString] = []
        width_lanes = max(len(before), len(after), col + 1)
        # top half: every lane coming from above; lanes waiting for this commit bend into it
        for i, lane in enumerate(before):
            if lane is None:
                continue
            if lane == cid:
                parts.append(_path(i, f"M{_x(i)} -1 C{_x(i)} {mid // 2} {_x(col)} {mid // 2} {_x(col)} {mid}"
                                   if i != col else f"M{_x(i)} -1 L{_x(i)} {mid}"))
            else:
                parts.append(_path(i, f"M{_x(i)} -1 L{_x(i)} {ROW_H + 1}"))  # passes by
        # bottom half: lines from this commit to the lanes of its parents
        for t in targets:
            end = ROW_H + 1
            if t == col:
                parts.append(_path(t, f"M{_x(col)} {mid} L{_x(col)} {end}"))
            else:
                parts.append(_path(t, f"M{_x(col)} {mid} C{_x(col)} {mid + mid // 2} {_x(t)} {mid + mid // 2} {_x(t)} {end}"))
        merge = len(parents) > 1
        parts.append(format_html('<circle class="lane-{}{}" cx="{}" cy="{}" r="{}"/>', col % 6,
                                 " merge" if merge else "", _x(col), mid, RADIUS + (1 if merge else 0)))
        shown = min(width_lanes, MAX_LANES)
        width = PAD * 2 + LANE_W * (shown - 1)
        svg = format_html(
            '<svg class="graph" width="{}" height="{}" viewBox="0 0 {} {}" overflow="visible" aria-hidden="true">{}</svg>',
            width, ROW_H, width, ROW_H, format_html_join("", "{}", ((p,) for p in parts)))
        rows.append(GraphRow(commit=commit, column=col, width=width, svg=svg))
        lanes = after
    return rows


def _path(lane: int, d: str) -> SafeString:
    return format_html('<path class="lane-{}" d="{}"/>', lane % 6, d)


@dataclass
class LogPage:
    ref: str
    rows: list[GraphRow]
    page: int
    per_page: int
    has_next: bool
    head: str


def read_log(repo: Repository, ref: str | None, page: int = 1, per_page: int = 50) -> LogPage:
    """Page ``page`` of the history reachable from ``ref`` (HEAD's branch when empty), with the
    lane graph computed over everything above it so lines continue across pages."""
    page = max(1, page)
    with reader(repo) as client:
        ref = ref or client.current_branch()
        head = client.resolve(ref)
        commits = client.log(ref, page * per_page + 1)
        branches = client.branches()
    rows = commit_graph(commits)
    labels: dict[str, list[RefLabel]] = {}
    for b in sorted(branches, key=lambda b: (not b["is_head"], b["name"])):  # HEAD's branch first
        labels.setdefault(b["head"], []).append(RefLabel(b["name"], bool(b["is_head"])))
    for row in rows:
        row.refs = labels.get(row.commit["commit_id"], [])
    start = (page - 1) * per_page
    return LogPage(ref=ref, rows=rows[start:start + per_page], page=page, per_page=per_page,
                   has_next=len(commits) > page * per_page, head=head)


# one commit ----------------------------------------------------------------------------------

@dataclass
class CommitView:
    commit: dict
    changes: list[dict]
    branches: list[str]


def read_commit(repo: Repository, ref: str) -> CommitView:
    """One commit (id, parents, author, message, time), the object changes it made against its
    first parent, and the branches whose head it is."""
    with reader(repo) as client:
        commit_id = client.resolve(ref)
        commit = client.log(commit_id, 1)[0]
        changes = client.show(commit_id)
        on = [b["name"] for b in client.branches() if b["head"] == commit_id]
    return CommitView(commit=commit, changes=changes, branches=on)


# compare -------------------------------------------------------------------------------------

@dataclass
class Comparison:
    from_ref: str
    to_ref: str
    from_id: str
    to_id: str
    merge_base: str | None
    total: int
    counts: dict
    objects: list[dict]       # this page's objects only
    page: int
    pages: int
    migration: list[str]
    data: list[dict] | None = None  # rows that differ, when one side is a data branch (else None)
    data_total: int = 0

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def read_compare(repo: Repository, from_ref: str, to_ref: str, page: int = 1, per_page: int = 50,
                 data_limit: int | None = 500) -> Comparison:
    """The per-object difference from ``from_ref`` to ``to_ref`` (one page of objects; counts
    over all of them) and the migration that turns one state into the other; when one side is a
    data branch and the other HEAD, the rows that differ too (the first ``data_limit``)."""
    with reader(repo) as client:
        from_id, to_id = client.resolve(from_ref), client.resolve(to_ref)
        diff = client.diff(from_id, to_id)
        migration = client.migration(from_id, to_id) if diff else []
        base = client.find_merge_base(from_id, to_id)
        data = _data_rows(client, from_ref, to_ref)
    counts = {"added": 0, "modified": 0, "deleted": 0}
    for d in diff:
        counts[d["change"]] = counts.get(d["change"], 0) + 1
    pages = max(1, -(-len(diff) // per_page))
    page = min(max(1, page), pages)
    return Comparison(from_ref=from_ref, to_ref=to_ref, from_id=from_id, to_id=to_id, merge_base=base,
                      total=len(diff), counts=counts, objects=diff[(page - 1) * per_page:page * per_page],
                      page=page, pages=pages, migration=migration,
                      data=None if data is None else data[:data_limit], data_total=len(data or []))


def _data_rows(client, from_ref: str, to_ref: str) -> list[dict] | None:
    """The data diff between the checked-out tables and a data branch, when the two refs are
    such a pair (HEAD or the checked-out branch, and a data branch); else None. Each row has
    ``cells``: (column, old, new, changed) in the table's column order, for the pages."""
    names = {d["branch"] for d in client.data_branches(sizes=False)}
    current = client.current_branch()
    if not ((from_ref in names and to_ref in ("HEAD", current)) or (to_ref in names and from_ref in ("HEAD", current))):
        return None
    return data_diff_rows(client, from_ref, to_ref)


def data_diff_rows(client, from_ref: str, to_ref: str) -> list[dict]:
    """``client.data_diff(from_ref, to_ref)`` with ``cells`` on each row: (column, old, new,
    changed) in the table's column order, as ``_data_diff.html`` shows them (the compare page,
    and the Changes tab of a merge request whose source is a data branch)."""
    rows = client.data_diff(from_ref, to_ref)
    for r in rows:
        old, new = r["old_row"] or {}, r["new_row"] or {}
        changed = set(r["columns"] or [])
        r["cells"] = [(c, old.get(c), new.get(c), c in changed or r["change"] != "changed")
                      for c in (new or old)]
    return rows


# one object's history ------------------------------------------------------------------------

@dataclass
class ObjectHistory:
    """One page of an object's versions reachable from ``ref``, newest first (``total`` counts
    them all)."""

    ref: str
    versions: list[dict]      # this page's versions only
    total: int
    page: int
    pages: int

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def read_object_history(repo: Repository, identity: str, ref: str | None, page: int = 1,
                        per_page: int = OBJECT_HISTORY_PER_PAGE) -> ObjectHistory:
    """Page ``page`` of the versions of ``identity`` reachable from ``ref`` (HEAD's branch when
    None), newest first. Each version carries ``previous``: the definition on the commit's first
    parent (None when it was added), which for a merge commit is the target's version, not the
    next older row. The engine reads only this page's definitions; a page past the end shows
    the last one."""
    page = max(1, page)
    with reader(repo) as client:
        ref = ref or client.current_branch()
        shown = client.object_history(identity, ref, per_page, (page - 1) * per_page)
        total = shown[0]["total"] if shown else 0
        pages = max(1, -(-total // per_page))
        if not shown and page > pages:  # past the end (or no versions at all): the last page
            page = pages
            shown = client.object_history(identity, ref, per_page, (page - 1) * per_page)
            total = shown[0]["total"] if shown else 0
    for v in shown:
        v["previous"] = v["previous_definition"]
    return ObjectHistory(ref=ref, versions=shown, total=total, page=page, pages=pages)


def render_changes(changes: list[dict]) -> list[dict]:
    """Changes (from ``show`` or ``diff``) with their side-by-side rows attached as ``rows``."""
    from branches.render import side_by_side

    return [dict(c, rows=side_by_side(c.get("old_definition"), c.get("new_definition"))) for c in changes]


__all__ = ["EngineUnavailable", "Dashboard", "engine_client", "reader", "read_dashboard", "Count", "ahead_behind",
           "BranchInfo", "read_branches", "data_diff_rows", "branch_names", "GraphRow", "RefLabel", "commit_graph", "LogPage", "read_log",
           "CommitView", "read_commit", "Comparison", "read_compare", "ObjectHistory", "read_object_history",
           "render_changes"]
