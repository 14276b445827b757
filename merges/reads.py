"""What the merge request pages and the REST API show, as plain dataclasses.

Each reader takes the acting user (where what is shown depends on who looks) and a request that
``merges.actions.get_merge_request`` already authorized; the ones that read the engine take an
open client (``branches.actions.client_for``) so that a page reads everything it shows on one
connection. Engine failures come out as ``pggit_web.errors.ActionError`` (raise sites inside
``engine_errors``); nothing here changes state except ``actions.sync``/``actions.preview``'s
cache, which a read may fill.

The pages (``merges.views``) and the API views (``merges.api``) call these same functions: a
page renders the dataclass, an API view serializes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from branches.access import has_role, merge_role_for, role_of
from branches.actions import client_for
from branches.engine import Count, ahead_behind, data_diff_rows
from branches.models import Repository, Role
from branches.render import side_by_side
from merges import actions
from merges.actions import Approvals, Preview
from merges.markdown import Links, mentioned, referenced
from merges.models import Comment, Label, MergeRequest, Review
from pggit_web.errors import ActionError, engine_errors

State = MergeRequest.State

CHANGES_PER_PAGE = 25
COMMITS_LIMIT = 250
LIST_PER_PAGE = 25
NEW_PREVIEW_LIMIT = 200
DATA_ROWS_SHOWN = 500  # rows of a data diff shown on the Changes tab (the API returns them all)
# The list's filters: name -> states (None: every state).
FILTERS: dict[str, list | None] = {
    "open": list(actions.OPEN_STATES),
    "merged": [State.MERGED],
    "closed": [State.CLOSED],
    "all": None,
}


def anchor_for(identity: str) -> str:
    """A stable HTML id for an object on the Changes page."""
    return "obj-" + hashlib.sha1(identity.encode()).hexdigest()[:12]


# the badge ---------------------------------------------------------------------------------

@dataclass
class Badge:
    """The request's state as its pill says it. ``kind``: open, draft, approved,
    changes_requested, conflicts, blocked, merged or closed (``mr.state`` alone says "approved"
    for a request that needs no approval)."""

    kind: str
    label: str
    mergeable: bool = False  # nothing the pill shows stops a merge (approvals met, no conflict)


def badge(mr: MergeRequest, approvals: Approvals | None = None, conflicts: int | None = None,
          blocked: bool = False) -> Badge:
    """What the request's pill says: merged or closed; else draft; else its open conflicts
    (``conflicts``, when known); else blocked (``blocked``: the source branch is gone, or the last
    merge attempt was refused); else changes requested; else its approvals against the rule."""
    if mr.state in (State.MERGED, State.CLOSED):
        return Badge(mr.state, mr.get_state_display())
    if mr.draft:
        return Badge("draft", "draft")
    if conflicts:
        return Badge("conflicts", f"{conflicts} conflict{'s' if conflicts != 1 else ''}")
    if blocked:
        return Badge("blocked", "blocked")
    if mr.state == State.CHANGES_REQUESTED:
        return Badge("changes_requested", "changes requested")
    approvals = approvals or actions.approvals(mr)
    if not approvals.required:
        return Badge("open", "open", mergeable=True)
    counted = f"{approvals.count}/{approvals.required}"
    if approvals.met:
        return Badge("approved", f"approved {counted}", mergeable=True)
    return Badge("open", f"open · approvals {counted}")


def open_conflicts_count(client, mr: MergeRequest, heads: dict[str, str] | None = None) -> int | None:
    """How many objects of the request's merge wait for a resolution: those of its engine merge in
    progress, else those of its cached preview; None when not known yet (nothing is computed)."""
    if mr.is_closed:
        return 0
    with engine_errors():
        if mr.engine_merge_id:
            info = client.merge_info(mr.engine_merge_id)
            if info and info["status"] in ("conflicts", "ready"):
                return sum(1 for i in client.merge_items(mr.engine_merge_id) if i["resolution"] is None)
        heads = heads if heads is not None else actions.branch_heads(client)
        if mr.source not in heads or mr.target not in heads:
            return None
        found = actions.cached_preview(mr.repository, heads[mr.source], heads[mr.target], mr.strategy)
    return len(found.conflicts) if found is not None else None

def markdown_links(repo: Repository, text: str) -> Links:
    """What ``text`` (Markdown) may link to in ``repo``: the mentioned users who are members of it
    or superusers (highlighted: there is no profile page), and its merge requests by number.
    Two queries at most, none for a text that mentions nobody and refers to no request."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    names = mentioned(text)
    members = set()
    if names:
        members = set(get_user_model().objects.filter(username__in=names, is_active=True).filter(
            Q(is_superuser=True) | Q(groups__repository_role__repository=repo)).values_list("username", flat=True))
    wanted = referenced(text)
    numbers = set(MergeRequest.objects.filter(repository=repo, number__in=wanted).values_list("number", flat=True)) \
        if wanted else set()

    def reference(number: int) -> str | None:
        return reverse("merges:detail", kwargs={"slug": repo.slug, "number": number}) if number in numbers else None

    return Links(mentions=dict.fromkeys(members, ""), reference=reference)


# the list ----------------------------------------------------------------------------------

@dataclass
class MergeRequestRow:
    mr: MergeRequest
    approvals: Approvals
    badge: Badge | None = None


@dataclass
class ListFilters:
    """The list's filters, from the query string: ``state`` (a ``FILTERS`` name), and a label's
    name, an assignee's, an author's and a requested reviewer's user name ("" when not set)."""

    state: str = "open"
    label: str = ""
    assignee: str = ""
    author: str = ""
    reviewer: str = ""

    NAMES = ("state", "label", "assignee", "author", "reviewer")

    @classmethod
    def from_query(cls, params) -> "ListFilters":
        def value(name):
            text = params.get(name) or ""
            return text.strip()[:200]  # (a NUL matches nothing: ``filtered``)
        return cls(state=state_filter(params.get("state")), label=value("label"), assignee=value("assignee"),
                   author=value("author"), reviewer=value("reviewer"))

    def query(self, **changes) -> str:
        """This list's query string with ``changes`` (a value of "" drops that filter): the
        links that change one filter and keep the others."""
        from urllib.parse import urlencode

        values = {name: getattr(self, name) for name in self.NAMES}
        values.update(changes)
        return "?" + urlencode({k: v for k, v in values.items() if v})

    @property
    def narrowed(self) -> bool:
        return bool(self.label or self.assignee or self.author or self.reviewer)


@dataclass
class MergeRequestList:
    """One page of a repository's merge requests in one state, newest first, with the count of
    every state filter (under the other filters), and what the filter menus offer."""

    state: str
    counts: dict[str, int]
    rows: list[MergeRequestRow]
    page: Page
    filters: ListFilters = field(default_factory=ListFilters)
    labels: list = field(default_factory=list)
    people: list = field(default_factory=list)


def state_filter(state: str | None) -> str:
    """A known filter name (``open`` when ``state`` is none of them)."""
    return state if state in FILTERS else "open"


def filtered(qs: QuerySet, *, label: str = "", assignee: str = "", author: str = "", reviewer: str = "") -> QuerySet:
    """``qs`` (merge requests) narrowed to those with the label ``label`` (its name, any case),
    assigned to ``assignee``, by ``author``, or with a review requested from ``reviewer`` (user
    names); an empty value does not narrow. Values are compared, never interpreted (a value with
    a NUL, which no name holds, matches nothing)."""
    if any("\x00" in v for v in (label, assignee, author, reviewer)):
        return qs.none()
    if label:
        qs = qs.filter(labels__name__iexact=label)
    if assignee:
        qs = qs.filter(assignees__username=assignee)
    if author:
        qs = qs.filter(author__username=author)
    if reviewer:
        qs = qs.filter(review_requests__reviewer__username=reviewer)
    return qs.distinct() if (label or assignee or reviewer) else qs


def merge_requests(repo: Repository, state: str | None = "all", **narrow) -> QuerySet:
    """The repository's merge requests in the ``state`` filter, newest first (a queryset that the
    API paginates and filters further); ``narrow``: ``filtered``'s label, assignee, author, reviewer."""
    qs = filtered(MergeRequest.objects.filter(repository=repo), **narrow)
    states = FILTERS.get(state or "all")
    if states:
        qs = qs.filter(state__in=states)
    return qs.select_related("repository", "author").prefetch_related("labels", "assignees").order_by("-number")


DASHBOARD_OPEN_LIMIT = 20


def open_merge_requests(repo: Repository, limit: int = DASHBOARD_OPEN_LIMIT, branch: str | None = None
                        ) -> list[MergeRequest]:
    """The repository's open requests (open, changes requested, approved), newest first, or only
    those from or into ``branch``: the repository dashboard's box and the branch deletion's
    warning, which ``merges`` renders (``{% open_merge_requests_box %}``) so that ``branches``
    needs nothing from ``merges``."""
    qs = MergeRequest.objects.filter(repository=repo, state__in=actions.OPEN_STATES)
    if branch is not None:
        qs = qs.filter(Q(source=branch) | Q(target=branch))
    return list(qs.select_related("author")[:limit])


def state_counts(repo: Repository, **narrow) -> dict[str, int]:
    base = filtered(MergeRequest.objects.filter(repository=repo), **narrow)
    return {name: (base.filter(state__in=states) if states else base).count() for name, states in FILTERS.items()}


def label_text_color(color: str) -> str:
    """Black or white, whichever reads better on the label's colour (#rrggbb)."""
    try:
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    except (TypeError, ValueError):
        return "#000000"
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#ffffff"


def labels(repo: Repository) -> list[Label]:
    """The repository's labels, by name."""
    return list(Label.objects.filter(repository=repo).order_by("name"))


def members(repo: Repository) -> list:
    """Every active member of the repository (any role), by user name: who may be assigned, and
    the list's author / assignee / reviewer menus."""
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(is_active=True, groups__repository_role__repository=repo)
                .distinct().order_by("username"))


def _list_engine_state(repo: Repository, mrs: list[MergeRequest]) -> dict[int, tuple[int | None, bool]]:
    """For each open request of a page: (its open conflicts when known, whether its source branch
    was deleted), read on one connection; nothing when the engine does not answer."""
    open_ones = [mr for mr in mrs if not mr.is_closed]
    if not open_ones:
        return {}
    try:
        with client_for(repo) as client:
            heads = actions.branch_heads(client)
            return {mr.pk: (open_conflicts_count(client, mr, heads), mr.source not in heads or mr.target not in heads)
                    for mr in open_ones}
    except ActionError:
        return {}


def badges(repo: Repository, mrs: list[MergeRequest]) -> dict[int, Badge]:
    """The pill of each request of ``mrs`` (all of ``repo``) as the list page shows it, read from
    the engine on one connection (without it when the engine does not answer: no conflicts known,
    a branch taken as there)."""
    engine_state = _list_engine_state(repo, mrs)
    out = {}
    for mr in mrs:
        conflicts, deleted = engine_state.get(mr.pk, (None, False))
        out[mr.pk] = badge(mr, None, conflicts, deleted or bool(mr.merge_error))
    return out


def list_merge_requests(repo: Repository, state: str | ListFilters | None = "open", page: int = 1,
                        per_page: int = LIST_PER_PAGE) -> MergeRequestList:
    """``state``: a state filter's name, or every filter (``ListFilters``)."""
    filters = state if isinstance(state, ListFilters) else ListFilters(state=state_filter(state))
    narrow = {"label": filters.label, "assignee": filters.assignee, "author": filters.author,
              "reviewer": filters.reviewer}
    qs = merge_requests(repo, filters.state, **narrow).select_related(None).select_related("author") \
        .prefetch_related("labels", "assignees")
    found = Paginator(qs, per_page).get_page(page)
    for mr in found:
        mr.repository = repo
    engine_state = _list_engine_state(repo, list(found))
    rows = []
    for mr in found:
        status = actions.approvals(mr)
        conflicts, deleted = engine_state.get(mr.pk, (None, False))
        rows.append(MergeRequestRow(mr, status, badge(mr, status, conflicts, deleted or bool(mr.merge_error))))
    return MergeRequestList(state=filters.state, counts=state_counts(repo, **narrow), rows=rows, page=found,
                            filters=filters, labels=labels(repo), people=members(repo))


# search ------------------------------------------------------------------------------------

SEARCH_LIMIT = 50
SEARCH_MAX = 200


@dataclass
class SearchResults:
    """What a repository's search found for ``query``: merge requests (title, description, or
    ``!n``), commits of HEAD's history (message, author) and objects of HEAD's tree (by name).
    ``engine_error``: the engine did not answer (commits and objects are then empty)."""

    query: str
    merge_requests: list = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    engine_error: ActionError | None = None

    @property
    def total(self) -> int:
        return len(self.merge_requests) + len(self.commits) + len(self.objects)


def search_text(text: str | None) -> str:
    """The text to search for: trimmed, without NUL (PostgreSQL text holds none), at most
    ``SEARCH_MAX`` characters. Everything else is kept and searched literally."""
    return (text or "").replace("\x00", "").strip()[:SEARCH_MAX]


def search(repo: Repository, text: str | None, limit: int = SEARCH_LIMIT) -> SearchResults:
    """Search ``repo`` (the caller authorized the viewer role) for ``text``, case-insensitive and
    literally: ``%``, ``_``, quotes and backslashes are plain characters (Django escapes them for
    LIKE; the engine client compares with ``strpos``)."""
    import re

    out = SearchResults(query=search_text(text))
    q = out.query
    if not q:
        return out
    match = Q(title__icontains=q) | Q(description__icontains=q)
    number = re.fullmatch(r"!?(\d{1,9})", q)
    if number:
        match |= Q(number=int(number.group(1)))
    out.merge_requests = list(MergeRequest.objects.filter(repository=repo).filter(match)
                              .select_related("author").order_by("-number")[:limit])
    try:
        with engine_errors(), client_for(repo) as client:
            out.commits = client.search_commits(q, None, limit)
            out.objects = client.search_objects(q, None, limit)
    except ActionError as exc:
        out.engine_error = exc
    return out


# the signed-in user's page ------------------------------------------------------------------

PROFILE_LIMIT = 30


@dataclass
class Activity:
    """One of the user's reviews or comments (``kind``), on request ``mr``."""

    kind: str
    at: datetime
    mr: MergeRequest
    review: Review | None = None
    comment: Comment | None = None

    @property
    def body(self) -> str:
        return (self.review.body if self.review is not None else self.comment.body) or ""


@dataclass
class Profile:
    """What ``/me/`` shows: the user's open requests, open requests that wait for their review,
    open requests assigned to them and their latest reviews and comments, all only in the
    repositories they can see now (``branches.access.visible_repositories``)."""

    authored: list
    review_requested: list
    assigned: list
    activity: list[Activity]


def profile(user, limit: int = PROFILE_LIMIT) -> Profile:
    from branches.access import visible_repositories

    repos = visible_repositories(user)
    mine = MergeRequest.objects.filter(repository__in=repos, state__in=actions.OPEN_STATES) \
        .select_related("repository", "author").prefetch_related("labels").order_by("-created_at")
    reviews_ = Review.objects.filter(reviewer=user, merge_request__repository__in=repos) \
        .select_related("merge_request__repository").order_by("-created_at", "-id")[:limit]
    comments_ = Comment.objects.filter(author=user, merge_request__repository__in=repos) \
        .select_related("merge_request__repository").order_by("-created_at", "-id")[:limit]
    activity = [Activity("review", r.created_at, r.merge_request, review=r) for r in reviews_]
    activity += [Activity("comment", c.created_at, c.merge_request, comment=c) for c in comments_]
    activity.sort(key=lambda a: a.at, reverse=True)
    return Profile(
        authored=list(mine.filter(author=user)[:limit]),
        review_requested=list(mine.filter(review_requests__reviewer=user).distinct()[:limit]),
        assigned=list(mine.filter(assignees=user).distinct()[:limit]),
        activity=activity[:limit])


# before opening ----------------------------------------------------------------------------

@dataclass
class NewPreview:
    """Branch names for the form and, once both branches are given, what the request would
    bring in (``compare_rows`` is None until then)."""

    branch_names: list[str] = field(default_factory=list)
    compare_rows: list[dict] | None = None
    compare_total: int = 0
    compare_commits: Count | None = None
    preview_error: ActionError | None = None


def new_preview(repo: Repository, source: str, target: str, limit: int = NEW_PREVIEW_LIMIT) -> NewPreview:
    out = NewPreview()
    try:
        with engine_errors(), client_for(repo) as client:
            names = [b["name"] for b in client.branches()]
            out.branch_names = names
            if source in names and target in names and source != target:
                src, tgt = client.resolve(source), client.resolve(target)
                base = client.find_merge_base(src, tgt)
                rows = [{"identity": d["identity"], "kind": d["kind"], "change": d["change"]}
                        for d in client.diff(base or tgt, src)]
                out.compare_rows, out.compare_total = rows[:limit], len(rows)
                out.compare_commits = ahead_behind(client, src, tgt)[0]
    except ActionError as exc:
        out.preview_error = exc
    return out


# what every tab shows ----------------------------------------------------------------------

@dataclass
class Sides:
    """The two commits a request compares: the branch heads, or for a merged request the heads
    the engine merged (so its tabs still show what was merged)."""

    source: str
    target: str
    base: str | None
    ahead: Count = field(default_factory=lambda: Count(0))
    source_deleted: bool = False  # the source branch is gone: ``source`` is the head the request last knew
    target_deleted: bool = False  # the target branch is gone: ``target`` is the head it had (the engine's record)


def sides(client, mr: MergeRequest) -> Sides:
    deleted = target_gone = False
    with engine_errors():
        source = target = None
        if mr.state == State.MERGED and mr.merge_commit:
            row = client.merge_for_commit(mr.merge_commit)
            if row:
                source, target = row["source_commit"], row["target_commit"]
        if source is None:
            heads = actions.branch_heads(client)
            source, target = heads.get(mr.source), heads.get(mr.target)
            if target is None:  # deleted: compared with the head the engine recorded it had
                target = client.deleted_branch_head(mr.target)
                if target is None:
                    raise actions.target_deleted(mr)
                target_gone = True
            if source is None:  # deleted: the request shows what it last knew (the engine keeps the commits)
                if not mr.source_head:
                    raise actions.source_deleted(mr)
                source, deleted = mr.source_head, True
        base = client.find_merge_base(source, target)
        ahead, _behind = ahead_behind(client, source, target)
    return Sides(source, target, base, ahead, deleted, target_gone)


def changes_count(client, s: Sides) -> int:
    """How many objects the source changed since the merge base."""
    with engine_errors():
        return client.diff_count(s.base or s.target, s.source)


def conversation_count(mr: MergeRequest) -> int:
    """Comments on the request itself and reviews that say something (the Conversation counter)."""
    return (mr.comments.filter(object_identity="").count()
            + mr.reviews.exclude(verdict=Review.Verdict.COMMENT, body="").count())


@dataclass
class Header:
    """The request's header and tab counters, and the user's role. ``sides`` is None when the
    engine could not be read (``engine_error`` says why)."""

    role: Role | None
    conversation_count: int
    sides: Sides | None = None
    commits_count: Count | None = None
    changes_count: int | None = None
    engine_error: ActionError | None = None
    badge: Badge | None = None

    @property
    def source_deleted(self) -> bool:
        return self.sides is not None and self.sides.source_deleted

    @property
    def target_deleted(self) -> bool:
        return (self.sides is not None and self.sides.target_deleted) or (
            self.engine_error is not None and self.engine_error.code == "target_deleted")


def header(user, mr: MergeRequest, client=None, count_changes: bool = True, conflicts: int | None = None) -> Header:
    """``conflicts``: the open conflicts when the caller read them (else read here, when known)."""
    out = Header(role=role_of(user, mr.repository), conversation_count=conversation_count(mr))
    if client is not None:
        try:
            out.sides = sides(client, mr)
            out.commits_count = out.sides.ahead
            if count_changes:
                out.changes_count = changes_count(client, out.sides)
            if conflicts is None and not out.sides.source_deleted and not out.sides.target_deleted:
                conflicts = open_conflicts_count(client, mr)
        except ActionError as exc:  # what was read before the failure is still shown, as before
            out.engine_error = exc
    out.badge = badge(mr, conflicts=conflicts,
                      blocked=out.source_deleted or out.target_deleted or bool(mr.merge_error))
    return out


# conversation ------------------------------------------------------------------------------

@dataclass
class TimelineEvent:
    """One entry of the conversation, by ``kind``: ``review``, ``comment``, ``merged``,
    ``closed``, ``reopened``, ``pushed`` (``commits``: the new ones, newest first, and ``head``),
    ``draft`` / ``ready``, ``retitled`` (``detail``: old and new title), ``auto_merge`` (``detail``:
    on), ``dismissed`` (``detail``: how many, why), ``review_requested`` (``detail``: reviewer),
    ``conflicts`` (``detail``: how many), ``merge_failed`` (``detail``: error), ``resolved``
    (``resolution``: who took which side, or the text they wrote), ``data_resolved``
    (``resolution``: a ``DataResolution``, a row or a cell of a data conflict), ``labeled`` /
    ``assigned`` (``detail``: the label names / user names ``added`` and ``removed``),
    ``suggestion_applied`` (``detail``: commit, comment, suggested_by, identity, line),
    ``retargeted`` (``detail``: old and new target), ``branch_restored`` (``detail``: which
    (source or target), head)."""

    kind: str
    at: datetime
    user: object | None
    review: Review | None = None
    comment: Comment | None = None
    anchor: str = ""
    detail: dict = field(default_factory=dict)
    commits: list[dict] = field(default_factory=list)
    more_commits: bool = False
    resolution: object | None = None


PUSHED_COMMITS_SHOWN = 20


def _pushed_commits(client, old: str | None, new: str) -> tuple[list[dict], bool]:
    """The commits reachable from ``new`` and not from ``old`` (newest first, at most
    ``PUSHED_COMMITS_SHOWN``), and whether there were more; none when the engine cannot say."""
    if client is None or not new:
        return [], False
    try:
        with engine_errors():
            log = client.log(new, PUSHED_COMMITS_SHOWN + 1)
            seen = {c["commit_id"] for c in client.log(old, 2 * PUSHED_COMMITS_SHOWN + 2)} if old else set()
    except ActionError:  # (a commit the engine no longer has: the entry is shown without its commits)
        return [], False
    rows = [c for c in log if c["commit_id"] not in seen]
    return rows[:PUSHED_COMMITS_SHOWN], len(rows) > PUSHED_COMMITS_SHOWN


def _event_entries(mr: MergeRequest, client=None) -> list[TimelineEvent]:
    """The request's recorded events (``monitoring.events.record``) as timeline entries. An
    ``updated`` event says what changed by its payload (``reason``, ``auto_merge``) or, for an
    edit, by comparing the request it carries with the one before it."""
    from monitoring.models import EventKind

    out: list[TimelineEvent] = []
    previous: dict = {}
    for e in mr.events.select_related("actor").order_by("id"):
        now = (e.payload or {}).get("merge_request") or {}
        extra = e.payload or {}
        entry = None
        if e.kind == EventKind.MR_UPDATED and extra.get("reason") == "new commits on the source":
            commits, more = _pushed_commits(client, previous.get("source_head"), now.get("source_head", ""))
            entry = TimelineEvent("pushed", e.created_at, e.actor, commits=commits, more_commits=more,
                                  detail={"head": now.get("source_head", "")})
        elif e.kind == EventKind.MR_UPDATED and extra.get("reason") == "suggestion applied":
            entry = TimelineEvent("suggestion_applied", e.created_at, e.actor, detail={
                "commit": extra.get("commit", ""), "comment": extra.get("comment_id"),
                "suggested_by": extra.get("suggested_by", ""), "identity": extra.get("identity", ""),
                "line": extra.get("line")}, anchor=anchor_for(extra.get("identity", "")))
        elif e.kind == EventKind.MR_UPDATED and extra.get("reason") == "retargeted":
            entry = TimelineEvent("retargeted", e.created_at, e.actor,
                                  detail={"old": extra.get("old_target", ""), "new": extra.get("new_target", "")})
        elif e.kind == EventKind.MR_UPDATED and extra.get("reason") in ("source branch restored",
                                                                          "target branch restored"):
            entry = TimelineEvent("branch_restored", e.created_at, e.actor, detail={
                "which": extra["reason"].split()[0],
                "head": extra.get("source_head") or extra.get("target_head") or ""})
        elif e.kind == EventKind.MR_UPDATED and "auto_merge" in extra:
            entry = TimelineEvent("auto_merge", e.created_at, e.actor, detail={"on": bool(extra["auto_merge"])})
        elif e.kind == EventKind.MR_UPDATED and ("labels" in extra or "assignees" in extra):
            what = "labels" if "labels" in extra else "assignees"
            change = extra[what] or {}
            entry = TimelineEvent("labeled" if what == "labels" else "assigned", e.created_at, e.actor,
                                  detail={"added": list(change.get("added", [])),
                                          "removed": list(change.get("removed", []))})
        elif e.kind == EventKind.MR_UPDATED and previous:
            if now.get("draft") != previous.get("draft"):
                out.append(TimelineEvent("draft" if now.get("draft") else "ready", e.created_at, e.actor))
            if now.get("title") != previous.get("title"):
                out.append(TimelineEvent("retitled", e.created_at, e.actor,
                                         detail={"old": previous.get("title", ""), "new": now.get("title", "")}))
        elif e.kind in (EventKind.MR_CLOSED, EventKind.MR_REOPENED):
            entry = TimelineEvent("closed" if e.kind == EventKind.MR_CLOSED else "reopened", e.created_at, e.actor)
        elif e.kind == EventKind.MR_DISMISSED:
            entry = TimelineEvent("dismissed", e.created_at, e.actor,
                                  detail={"count": extra.get("dismissed", 0), "reason": extra.get("reason", "")})
        elif e.kind == EventKind.MR_REVIEW_REQUESTED:
            entry = TimelineEvent("review_requested", e.created_at, e.actor, detail={"reviewer": extra.get("reviewer", "")})
        elif e.kind == EventKind.CONFLICT_FOUND:
            entry = TimelineEvent("conflicts", e.created_at, e.actor, detail={"count": extra.get("conflicts", 0)})
        elif e.kind == EventKind.MERGE_FAILED:
            entry = TimelineEvent("merge_failed", e.created_at, e.actor, detail={"error": extra.get("error", "")})
        if entry is not None:
            out.append(entry)
        if now:
            previous = now
    return out


def timeline(mr: MergeRequest, client=None) -> list[TimelineEvent]:
    """Reviews, comments, conflict resolutions and the request's recorded events in time order;
    with an engine ``client``, each push lists its new commits."""
    events = [TimelineEvent("opened", mr.created_at, mr.author)]
    events += [TimelineEvent("review", r.created_at, r.reviewer, review=r)
               for r in mr.reviews.select_related("reviewer")]
    events += [TimelineEvent("comment", c.created_at, c.author, comment=c,
                             anchor=anchor_for(c.object_identity) if c.object_identity else "")
               for c in mr.comments.select_related("author")]
    events += [TimelineEvent("resolved", r.created_at, r.resolved_by, resolution=r,
                             anchor=anchor_for(r.object_identity))
               for r in mr.resolutions.select_related("resolved_by")]
    events += [TimelineEvent("data_resolved", r.created_at, r.resolved_by, resolution=r)
               for r in mr.data_resolutions.select_related("resolved_by", "removed_by")]
    recorded = _event_entries(mr, client)
    events += recorded
    if mr.merged_at:
        events.append(TimelineEvent("merged", mr.merged_at, mr.merged_by))
    if mr.state == State.CLOSED and mr.closed_at and not any(e.kind == "closed" for e in recorded):
        events.append(TimelineEvent("closed", mr.closed_at, None))  # (closed before events were recorded)
    return sorted(events, key=lambda e: e.at)


def comments(mr: MergeRequest, object_identity: str | None = None) -> QuerySet:
    """The request's comments, oldest first: all of them, those on the request itself
    (``object_identity=""``) or those on one object."""
    qs = mr.comments.select_related("author")
    if object_identity is not None:
        qs = qs.filter(object_identity=object_identity)
    return qs.order_by("created_at", "id")


def review_requests(mr: MergeRequest) -> QuerySet:
    """Who was asked for a review, in the order they were asked."""
    return mr.review_requests.select_related("reviewer", "requested_by").order_by("created_at", "id")


def reviews(mr: MergeRequest) -> QuerySet:
    return mr.reviews.select_related("reviewer").order_by("created_at", "id")


@dataclass
class MergeBox:
    """What the conversation's merge box offers ``user``: approvals, the merge preview (None
    while it is computed, ``preview_pending``), who may do what and why a merge is blocked."""

    approvals: Approvals
    preview: Preview | None
    preview_pending: bool
    preview_error: ActionError | None
    can_review: bool
    can_approve: bool
    can_edit: bool
    has_merge_role: bool
    merge_role: Role
    can_resolve: bool
    can_merge: bool
    merge_blocked: str

    @property
    def suggests_force(self) -> bool:
        """The last attempt stopped and the preview shows steps that lose data."""
        return bool(self.preview and any(w.loses_data for w in self.preview.warnings))


def merge_box(user, mr: MergeRequest, client=None, cached_only: bool = True) -> MergeBox:
    """``cached_only``: a preview not yet computed is left for later (the page loads it after it
    rendered) instead of computed now."""
    preview = preview_error = None
    pending = False
    if not mr.is_closed:
        try:
            preview = actions.preview(mr, client, cached_only=cached_only)
            pending = preview is None
        except ActionError as exc:
            preview_error = exc
    status = actions.approvals(mr)
    role = merge_role_for(mr.repository, mr.target)
    try:
        actions.check_can_merge(user, mr)
        if isinstance(preview_error, ActionError) and preview_error.code in ("source_deleted", "target_deleted"):
            raise preview_error
        can_merge, blocked = True, ""
    except (PermissionDenied, ActionError) as exc:
        can_merge, blocked = False, getattr(exc, "message", None) or str(exc)
    is_author = user.pk == mr.author_id
    reviewer = has_role(user, mr.repository, Role.REVIEWER)
    return MergeBox(
        approvals=status, preview=preview, preview_pending=pending, preview_error=preview_error,
        can_review=reviewer and not mr.is_closed,
        can_approve=reviewer and (status.self_approval_allowed or not is_author),
        can_edit=is_author or has_role(user, mr.repository, Role.MAINTAINER),
        has_merge_role=has_role(user, mr.repository, role), merge_role=role,
        can_resolve=actions.can_resolve(user, mr), can_merge=can_merge, merge_blocked=blocked)


# commits -----------------------------------------------------------------------------------

@dataclass
class CommitsTab:
    """The commits on the source that the target does not have, newest first."""

    commits: list[dict]
    truncated: bool


def commits(client, s: Sides, limit: int = COMMITS_LIMIT) -> CommitsTab:
    with engine_errors():
        log = client.log(s.source, limit + 1)
        reachable = set()
        if s.base:
            reachable = {c["commit_id"] for c in client.log(s.base, 2 * limit + 2)}
    rows = [c for c in log if c["commit_id"] not in reachable]
    return CommitsTab(rows[:limit], len(rows) > limit)


# changes -----------------------------------------------------------------------------------

@dataclass
class Thread:
    """The comments on one line of a definition: the first, its replies, and whether the
    source's line there now reads otherwise than when it was written (``outdated``)."""

    root: Comment
    replies: list[Comment]
    outdated: bool

    @property
    def resolved(self) -> bool:
        return self.root.resolved_at is not None


@dataclass
class ChangedObject:
    """One object the source changed since the merge base, with its comments on the object
    (``comments``) and on its lines (``line_threads`` by line of the source's definition, and
    ``outdated_threads`` whose line changed since), and, for the page, its side-by-side rows."""

    identity: str
    kind: str
    change: str
    old_definition: str | None
    new_definition: str | None
    anchor: str
    comments: list[Comment] = field(default_factory=list)
    rows: list | None = None
    line_threads: dict[int, list[Thread]] = field(default_factory=dict)
    outdated_threads: list[Thread] = field(default_factory=list)


def _threads(comments: list[Comment], definition: str | None) -> tuple[dict[int, list[Thread]], list[Thread]]:
    """Line comments of one object as threads: current ones by line, and the outdated ones."""
    lines = actions.definition_lines(definition)
    replies: dict[int, list[Comment]] = {}
    for c in comments:
        if c.parent_id:
            replies.setdefault(c.parent_id, []).append(c)
    by_line: dict[int, list[Thread]] = {}
    outdated: list[Thread] = []
    for c in comments:
        if c.parent_id:
            continue
        stale = c.line > len(lines) or lines[c.line - 1] != c.line_text
        thread = Thread(c, replies.get(c.pk, []), stale)
        if stale:
            outdated.append(thread)
        else:
            by_line.setdefault(c.line, []).append(thread)
    return by_line, outdated


@dataclass
class IndexEntry:
    identity: str
    kind: str
    change: str
    anchor: str
    page: int


@dataclass
class ResolutionChange:
    """A conflict resolved with a definition someone wrote (not one side's): a change of its own
    that no branch holds yet, shown beside the source's version of the object."""

    identity: str
    resolution: object  # ConflictResolution
    source_definition: str | None
    anchor: str
    rows: list | None = None


@dataclass
class ChangesTab:
    """One page of the changed objects; ``counts``, ``total`` and ``index`` cover all of them.
    ``resolutions``: the custom conflict resolutions in force (shown on the first page)."""

    objects: list[ChangedObject]
    page: Page
    counts: dict[str, int]
    total: int
    index: list[IndexEntry]
    resolutions: list[ResolutionChange] = field(default_factory=list)


def custom_resolutions(mr: MergeRequest, source_definitions: dict[str, str | None],
                       side_by_side_rows: bool = True) -> list[ResolutionChange]:
    """The latest resolution of each object when it is a custom one (a later side taken
    replaces it), with the source's definition to compare it with."""
    latest: dict[str, object] = {}
    for r in mr.resolutions.select_related("resolved_by").order_by("created_at", "id"):
        latest[r.object_identity] = r
    out = []
    for identity, r in sorted(latest.items()):
        if r.resolution != "custom":
            continue
        source = source_definitions.get(identity)
        out.append(ResolutionChange(identity, r, source, "res-" + anchor_for(identity)[4:],
                                    side_by_side(source, r.definition) if side_by_side_rows else None))
    return out


def changes(client, mr: MergeRequest, s: Sides, page: int = 1, wanted: str = "",
            per_page: int = CHANGES_PER_PAGE, side_by_side_rows: bool = True) -> ChangesTab:
    """What the source changed since the merge base, ``per_page`` objects a page, each with its
    comments. ``wanted`` (an identity) opens the page holding that object."""
    with engine_errors():
        diff = client.diff(s.base or s.target, s.source)
    counts = {"added": 0, "modified": 0, "deleted": 0}
    for d in diff:
        counts[d["change"]] = counts.get(d["change"], 0) + 1
    paginator = Paginator(diff, per_page, allow_empty_first_page=True)
    if wanted:
        position = next((i for i, d in enumerate(diff) if d["identity"] == wanted), None)
        if position is not None:
            page = position // per_page + 1
    found = paginator.get_page(page)
    identities = [d["identity"] for d in found]
    by_object: dict[str, list] = {}
    on_lines: dict[str, list] = {}
    for c in mr.comments.filter(object_identity__in=identities).select_related("author", "resolved_by"):
        (on_lines if c.line is not None else by_object).setdefault(c.object_identity, []).append(c)
    objects = [ChangedObject(identity=d["identity"], kind=d["kind"], change=d["change"],
                             old_definition=d["old_definition"], new_definition=d["new_definition"],
                             anchor=anchor_for(d["identity"]), comments=by_object.get(d["identity"], []),
                             rows=side_by_side(d["old_definition"], d["new_definition"]) if side_by_side_rows else None)
               for d in found]
    for o in objects:
        o.line_threads, o.outdated_threads = _threads(on_lines.get(o.identity, []), o.new_definition)
    index = [IndexEntry(d["identity"], d["kind"], d["change"], anchor_for(d["identity"]), i // per_page + 1)
             for i, d in enumerate(diff)]
    resolutions = custom_resolutions(mr, {d["identity"]: d["new_definition"] for d in diff}, side_by_side_rows) \
        if found.number == 1 else []
    return ChangesTab(objects=objects, page=found, counts=counts, total=len(diff), index=index,
                      resolutions=resolutions)


@dataclass
class DataChanges:
    """The rows a data branch (the request's source) changed, against the checked-out tables
    (``against``: the engine's data diff and data merge are between a data branch and the
    checked-out branch; ``target_checked_out`` says whether that is the request's target).
    ``rows``: the first ``limit``, each with ``cells`` for ``branches/_data_diff.html``."""

    rows: list[dict]
    total: int
    against: str
    target_checked_out: bool


def data_plan(client, mr: MergeRequest) -> "actions.DataPlan | None":
    """The data merge of an open request whose source is a data branch (its conflicts with the
    resolutions in force), else None. Reads only (no constraint check: that locks tables)."""
    if mr.is_closed:
        return None
    with engine_errors():
        if not client.is_data_branch(mr.source):
            return None
        return actions._data_plan(client, mr)


def carries_data(mr: MergeRequest) -> bool:
    """Whether the request's source branch is a data branch."""
    with engine_errors(), client_for(mr.repository) as client:
        return client.is_data_branch(mr.source)


def data_changes(client, mr: MergeRequest, limit: int | None = DATA_ROWS_SHOWN) -> DataChanges | None:
    """None unless the request is open and its source carries data."""
    if mr.is_closed:
        return None
    with engine_errors():
        if not client.is_data_branch(mr.source):
            return None
        current = client.current_branch()
        rows = data_diff_rows(client, current, mr.source)
    return DataChanges(rows[:limit], len(rows), current, current == mr.target)


# migration ---------------------------------------------------------------------------------

@dataclass
class MigrationTab:
    """The SQL that merging would run on the target (for a merged request: what it ran; for a
    closed one: the migration from the target to the source). ``preview`` is the merge preview
    it comes from, for an open request. ``live``: the target is the checked-out branch."""

    steps: list[dict]         # pggit.migration()'s rows: step, kind, identity, statement, reason
    statements: list[str]     # the steps' statements, each ending with ";"
    live: bool
    preview: Preview | None = None

    @property
    def script(self) -> str:
        return "\n\n".join(self.statements) + "\n"


def migration(client, mr: MergeRequest, s: Sides) -> MigrationTab:
    with engine_errors():
        live = client.current_branch() == mr.target
        if mr.state == State.MERGED and mr.merge_commit:
            steps, preview = client.migration_steps(s.target, mr.merge_commit), None
        elif mr.is_closed:
            steps, preview = client.migration_steps(s.target, s.source), None
        else:
            preview = actions.preview(mr, client)
            steps = preview.steps
    statements = [st.rstrip() if st.rstrip().endswith(";") else st.rstrip() + ";"
                  for st in (step["statement"] for step in steps)]
    return MigrationTab(steps=steps, statements=statements, live=live, preview=preview)


# conflicts ---------------------------------------------------------------------------------

# The engine's conflict classes (docs/merge.md, "Three-way classes") and resolutions in the
# pages' words: every template says them through the ``conflict_words`` / ``resolution_words``
# filters (merge_tags), never the engine's names.
CONFLICT_WORDS = {
    "NO_CONFLICT": "the same on both sides",
    "SOURCE_MODIFIED": "changed on the source only",
    "TARGET_MODIFIED": "changed on the target only",
    "BOTH_MODIFIED": "changed on both sides",
    "BOTH_ADDED": "added on both sides, differently",
    "DELETED_SOURCE": "deleted on the source, changed on the target",
    "DELETED_TARGET": "deleted on the target, changed on the source",
}
RESOLUTION_WORDS = {
    "source": "the source's version",
    "target": "the target's version",
    "base": "the merge base's version",
    "custom": "an edited text",
}


def conflict_words(kind: str | None) -> str:
    """A conflict class as the pages say it (an unknown one in lower case, underscores as spaces)."""
    return CONFLICT_WORDS.get(kind or "", (kind or "").replace("_", " ").lower())


def resolution_words(resolution: str | None) -> str:
    return RESOLUTION_WORDS.get(resolution or "", resolution or "")


@dataclass
class ConflictItem:
    """One object of the request's engine merge: its three versions and the result so far."""

    identity: str
    kind: str
    conflict_type: str
    auto_resolvable: bool
    resolution: str | None
    error: str | None
    base_definition: str | None
    source_definition: str | None
    target_definition: str | None
    result_definition: str | None

    @classmethod
    def from_row(cls, row: dict) -> "ConflictItem":
        return cls(**{f: row.get(f) for f in cls.__dataclass_fields__})

    @property
    def is_open(self) -> bool:
        return self.resolution is None


@dataclass
class Conflicts:
    """The request's engine merge in progress: every item, the open ones, and ``item``, the one
    shown (the one asked for, else the first open one, else the first) with its neighbours and
    the result text its editor starts with."""

    merge_id: int | None
    items: list[ConflictItem]
    open_items: list[ConflictItem]
    item: ConflictItem | None = None
    position: int = 0
    previous: str | None = None
    next: str | None = None
    result: str = ""


def _conflicts(mr: MergeRequest, found: tuple[list[dict], list[dict]], identity: str = "") -> Conflicts:
    _open, rows = found
    items = [ConflictItem.from_row(r) for r in rows]
    out = Conflicts(merge_id=mr.engine_merge_id, items=items, open_items=[i for i in items if i.is_open])
    return focus(mr, out, identity)


def focus(mr: MergeRequest, found: Conflicts, identity: str = "", result: str | None = None) -> Conflicts:
    """``found`` showing ``identity`` (see ``Conflicts``); ``result`` is the text to edit (what
    was typed, after a rejected resolution), else the item's resolution, else the side the
    strategy favours."""
    items = found.items
    item = (next((i for i in items if i.identity == identity), None)
            or (found.open_items[0] if found.open_items else None) or (items[0] if items else None))
    found.item = item
    if item is None:
        return found
    position = items.index(item)
    if result is None:
        if item.resolution is not None:
            result = item.result_definition or ""
        elif mr.strategy == "target_wins":
            result = item.target_definition or ""
        else:
            result = item.source_definition or ""
    found.position = position + 1
    found.previous = items[position - 1].identity if position > 0 else None
    found.next = items[position + 1].identity if position + 1 < len(items) else None
    found.result = result
    return found


def conflicts(user, mr: MergeRequest, identity: str = "") -> Conflicts | None:
    """The request's merge in progress, or None when none is open. Reads only (a GET runs
    nothing): opening a merge is ``actions.open_conflicts``."""
    found = actions.read_conflicts(user, mr)
    if found is None:
        return None
    mr.refresh_from_db()
    return _conflicts(mr, found, identity)


def opened_conflicts(user, mr: MergeRequest, identity: str = "") -> Conflicts:
    """``actions.open_conflicts`` (opens the engine merge when none is, so a POST only) as
    ``Conflicts``."""
    found = actions.open_conflicts(user, mr)
    mr.refresh_from_db()
    return _conflicts(mr, found, identity)


def reviewer_candidates(mr: MergeRequest) -> list:
    """Members who may be asked for a review and have not been yet (the page's choices)."""
    from django.contrib.auth import get_user_model

    asked = set(mr.review_requests.values_list("reviewer_id", flat=True))
    users = get_user_model().objects.filter(
        is_active=True, groups__repository_role__repository=mr.repository,
        groups__repository_role__role__gte=Role.REVIEWER).exclude(pk=mr.author_id).distinct().order_by("username")
    return [u for u in users if u.pk not in asked]


__all__ = ["FILTERS", "anchor_for", "MergeRequestRow", "MergeRequestList", "state_filter", "merge_requests",
           "open_merge_requests", "state_counts", "Badge", "badge", "open_conflicts_count", "list_merge_requests", "NewPreview", "new_preview", "Sides", "sides", "changes_count",
           "conversation_count", "Header", "header", "TimelineEvent", "timeline", "comments", "reviews", "review_requests", "reviewer_candidates", "MergeBox",
           "merge_box", "CommitsTab", "commits", "ChangedObject", "IndexEntry", "ChangesTab", "changes", "DataChanges", "data_changes", "carries_data", "data_plan",
           "MigrationTab", "migration", "CONFLICT_WORDS", "RESOLUTION_WORDS", "conflict_words", "resolution_words", "ConflictItem", "Conflicts", "focus", "conflicts", "opened_conflicts"]

