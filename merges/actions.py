"""Merge requests: opening, reviewing, merging through the engine, resolving conflicts.

Each function takes the acting user first, checks what that user may do (``check_*``), then
changes state; pages call them and the REST API will call the same ones. They raise ``Http404``
(outsider), ``PermissionDenied`` (role too low) or ``pggit_web.errors.ActionError``.

State lives in two places on purpose: the engine holds branches, commits and the merge
itself; Django holds the request, its reviews and comments. ``sync`` reconciles them (new
commits on the source dismiss approvals; a merge the engine finished is recorded).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from branches.access import check_role, has_role, merge_role_for
from branches.actions import check_can_apply, client_for, run_console
from branches.models import Repository, Role
from merges.models import STRATEGIES, Comment, ConflictResolution, DataResolution, Label, MergeRequest, Review, ReviewRequest
from merges.risk import Warning, risky_steps
from monitoring.events import record_merge_request
from monitoring.models import EventKind
from monitoring.notifications import added_mentions
from pggit import errors as pe
from pggit_web.errors import ActionError, Conflict, NotFound, engine_errors

State = MergeRequest.State
OPEN_STATES = (State.OPEN, State.CHANGES_REQUESTED, State.APPROVED)
STRATEGY_NAMES = [name for name, _ in STRATEGIES]
MAX_TITLE = 200


@dataclass
class Approvals:
    count: int
    required: int
    approvers: list
    self_approval_allowed: bool

    @property
    def met(self) -> bool:
        return self.count >= self.required


@dataclass
class MergeOutcome:
    """What a merge attempt did: ``merged``, ``conflicts`` (resolve them on the conflicts page),
    ``refused`` (steps would lose data: a maintainer may force), ``ready`` (all resolved, waiting
    for approvals) or ``up_to_date``."""

    status: str
    commit: str | None = None
    merge_id: int | None = None
    message: str = ""
    conflicts: list = field(default_factory=list)


@dataclass
class Preview:
    """What merging ``source`` into ``target`` would do now, computed by the engine in a
    transaction that is rolled back: the kind of merge, open conflicts, the migration the target
    would run and its risky steps."""

    kind: str  # up_to_date, fast_forward, merge
    base: str | None
    source_head: str
    target_head: str
    steps: list[dict]  # pggit.migration()'s rows: step, kind, identity, statement, reason
    conflicts: list[dict]
    warnings: list[Warning]
    error: str | None = None
    in_progress: bool = False  # read from the request's open engine merge (with its resolutions)
    data_loss: list[dict] = field(default_factory=list)  # the engine's data_loss rows: identity, statement, reason

    @property
    def loses_data_in(self) -> list[str]:
        """The objects (tables) whose data the migration would drop, from the engine's data-loss rows."""
        return sorted({row["identity"] for row in self.data_loss})

    @property
    def statements(self) -> list[str]:
        return [step["statement"] for step in self.steps]


# reading ---------------------------------------------------------------------------------

def get_merge_request(user, slug: str, number: int, role: Role = Role.VIEWER) -> MergeRequest:
    """The merge request ``number`` of repository ``slug``, if ``user`` may see it (404 otherwise)."""
    try:
        repo = Repository.objects.get(slug=slug)
    except Repository.DoesNotExist:
        raise NotFound("no such repository") from None
    check_role(user, repo, Role.VIEWER)
    try:
        mr = MergeRequest.objects.select_related("repository", "author").get(repository=repo, number=number)
    except MergeRequest.DoesNotExist:
        raise NotFound(f"no merge request !{number} in {repo.name}") from None
    check_role(user, repo, role)
    return mr


def _review_status(mr: MergeRequest) -> tuple[Approvals, bool]:
    """Current approvals, and whether changes are requested, from one read of the reviews: the
    latest review of each reviewer counts if it is not dismissed and not a plain comment; an
    approval counts unless it is the author's own and the rule does not allow that."""
    rule = mr.repository.protection_for(mr.target)
    required = rule.required_approvals if rule else 0
    self_ok = rule.allow_self_approval if rule else True
    latest: dict[int, Review] = {}
    for review in mr.reviews.filter(dismissed=False).exclude(verdict=Review.Verdict.COMMENT).select_related("reviewer"):
        latest[review.reviewer_id] = review
    approvers = [r.reviewer for r in latest.values() if r.verdict == Review.Verdict.APPROVE
                 and (self_ok or r.reviewer_id != mr.author_id)]
    requested = any(r.verdict == Review.Verdict.REQUEST_CHANGES for r in latest.values())
    return Approvals(len(approvers), required, approvers, self_ok), requested


def approvals(mr: MergeRequest) -> Approvals:
    """Current approvals: the latest review of each reviewer counts if it approves, is not
    dismissed, and (unless the rule allows it) is not the author's own."""
    return _review_status(mr)[0]


def changes_requested(mr: MergeRequest) -> bool:
    return _review_status(mr)[1]


def _refresh_state(mr: MergeRequest) -> Approvals | None:
    """Set the open request's state from its reviews; returns its approvals (None when closed)."""
    if mr.is_closed:
        return None
    status, requested = _review_status(mr)
    state = State.CHANGES_REQUESTED if requested else State.APPROVED if status.met else State.OPEN
    if state != mr.state:
        mr.state = state
        mr.save(update_fields=["state", "updated_at"])
    return status


def branch_heads(client) -> dict[str, str]:
    """Every branch's head commit, by name."""
    with engine_errors():
        return {b["name"]: b["head"] for b in client.branches()}


def source_deleted(mr: MergeRequest) -> Conflict:
    """What an action that needs the request's source branch says when the branch was deleted."""
    return Conflict(f"The source branch {mr.source} was deleted. Restore it to merge this request, or close it.",
                    code="source_deleted")


def target_deleted(mr: MergeRequest) -> Conflict:
    """What an action that needs the request's target branch says when the branch was deleted."""
    return Conflict(f"The target branch {mr.target} was deleted, so this request cannot be merged. Restore the "
                    "branch, change the target to another branch, or close the request.", code="target_deleted")


def target_head(client, mr: MergeRequest, heads: dict[str, str] | None = None) -> str:
    """The head of the request's target branch; ``target_deleted`` when the branch is gone."""
    head = (heads if heads is not None else branch_heads(client)).get(mr.target)
    if head is None:
        raise target_deleted(mr)
    return head


def source_head(client, mr: MergeRequest) -> str:
    """The head of the request's source branch; ``source_deleted`` when the branch is gone (a ref
    would be resolved as a commit id prefix, a deleted branch's name need not be one)."""
    head = branch_heads(client).get(mr.source)
    if head is None:
        raise source_deleted(mr)
    return head


def _engine_state(mr: MergeRequest, client=None) -> tuple[str | None, dict | None]:
    """The source's head (None when the branch was deleted) and the request's open engine merge
    (if any), as the engine has them."""
    own = client is None
    client = client or client_for(mr.repository)
    try:
        with engine_errors():
            head = branch_heads(client).get(mr.source)
            info = client.merge_info(mr.engine_merge_id) if mr.engine_merge_id else None
    finally:
        if own:
            client.close()
    return head, info


def _lock(mr: MergeRequest) -> MergeRequest:
    """The request's row, locked for the rest of the transaction (the repository and the author
    read with it, not locked)."""
    return MergeRequest.objects.select_for_update(of=("self",)).select_related("repository", "author").get(pk=mr.pk)


def _reconcile(mr: MergeRequest, head: str, info: dict | None) -> MergeRequest:
    """``sync``'s changes, on the locked row ``mr``."""
    if mr.is_closed:
        return mr
    if info and info["status"] in ("merged", "fast_forward") and info["result_commit"]:
        _mark_merged(mr, info["result_commit"], mr.merged_by)
        return mr
    if info and info["status"] == "aborted":
        mr.engine_merge_id = None
        mr.save(update_fields=["engine_merge_id", "updated_at"])
    if head is not None and head != mr.source_head:  # (a deleted source keeps the head it had)
        rule = mr.repository.protection_for(mr.target)
        dismissed = 0
        if mr.source_head and (rule is None or rule.dismiss_stale_approvals):
            dismissed = mr.reviews.filter(dismissed=False).exclude(verdict=Review.Verdict.COMMENT).exclude(
                source_head=head).update(dismissed=True, dismissed_reason="new commits on the source")
        moved = bool(mr.source_head)
        mr.source_head = head
        mr.save(update_fields=["source_head", "updated_at"])
        approvals_now = _refresh_state(mr)
        if moved:
            record_merge_request(EventKind.MR_UPDATED, mr, None, approvals=approvals_now,
                                 reason="new commits on the source")
        if dismissed:
            record_merge_request(EventKind.MR_DISMISSED, mr, None, approvals=approvals_now,
                                 reason="new commits on the source", dismissed=dismissed)
        return mr
    _refresh_state(mr)
    return mr


def sync(mr: MergeRequest, client=None) -> MergeRequest:
    """Reconcile the request with the engine.

    New commits on the source since the reviews were given dismiss those approvals and change
    requests (when the target's protection rule says so). A merge the engine completed (e.g. the
    last conflict resolved from another session) marks the request merged. When the engine has
    nothing new for the request, nothing is written (its state is set again from its reviews if
    that differs, e.g. after its branch's rule changed).
    """
    if mr.is_closed:
        return mr
    head, info = _engine_state(mr, client)
    if info is None and head in (None, mr.source_head):
        status, requested = _review_status(mr)
        state = State.CHANGES_REQUESTED if requested else State.APPROVED if status.met else State.OPEN
        if state == mr.state:
            return mr
    with transaction.atomic():
        return _reconcile(_lock(mr), head, info)


def preview(mr: MergeRequest, client=None, cached_only: bool = False) -> Preview | None:
    """The merge this request would make now (cached by both heads and the strategy: the result
    of a merge is a function of the commits, so a cached preview is never stale). With
    ``cached_only``, None when it is not in the cache yet (pages then load it after the page)."""
    own = client is None
    client = client or client_for(mr.repository)
    try:
        with engine_errors():
            source_head(client, mr)
            target_head(client, mr)
            if mr.engine_merge_id:
                info = client.merge_info(mr.engine_merge_id)
                if (info and info["status"] in ("conflicts", "ready")
                        and info["source_commit"] == client.resolve(mr.source)
                        and info["target_commit"] == client.resolve(mr.target)):
                    return None if cached_only else _open_merge_preview(client, info)
            return _preview(client, mr.repository, mr.source, mr.target, mr.strategy, cached_only)
    finally:
        if own:
            client.close()


def _preview(client, repo: Repository, source: str, target: str, strategy: str,
             cached_only: bool = False) -> Preview | None:
    src, tgt = client.resolve(source), client.resolve(target)
    key = _preview_key(repo, src, tgt, strategy)
    cached = cache.get(key)
    if cached is not None or cached_only:
        return cached
    base = client.find_merge_base(src, tgt)
    conflicts: list[dict] = []
    error = None
    if base == src:
        kind, steps, loss = "up_to_date", [], []
    elif base == tgt:
        kind = "fast_forward"
        steps, loss = client.migration_review(tgt, src)
    else:
        kind = "merge"
        with client.conn.transaction(force_rollback=True):  # open the merge, read it, leave no trace
            row = client.open_merge(src, target, strategy)
            ref = f"merge:{row['merge_id']}"
            conflicts = [i for i in client.merge_items(row["merge_id"]) if i["resolution"] is None]
            steps, loss = client.migration_review(tgt, ref)
    warnings = risky_steps([st["statement"] for st in steps], live_rows=_live_rows(client), data_loss=loss,
                           large_rows=getattr(settings, "PGGIT_LARGE_TABLE_ROWS", 100_000))
    result = Preview(kind, base, src, tgt, steps, conflicts, warnings, error, data_loss=list(loss or []))
    cache.set(key, result, 3600)
    return result


def _preview_key(repo: Repository, src: str, tgt: str, strategy: str) -> str:
    # ":3:": a cached Preview holds the engine's data-loss rows (":2:" ones did not)
    return "pggit:preview:3:" + hashlib.sha256(f"{repo.pk}\0{repo.dsn}\0{src}\0{tgt}\0{strategy}".encode()).hexdigest()


def cached_preview(repo: Repository, src: str, tgt: str, strategy: str) -> Preview | None:
    """The preview of merging commit ``src`` into ``tgt`` if one was computed (never computes it)."""
    return cache.get(_preview_key(repo, src, tgt, strategy))


def _open_merge_preview(client, info: dict) -> Preview:
    """The preview of a merge being resolved: its open items, and the migration to its result as
    resolved so far (not cached: each resolution changes it)."""
    merge_id, tgt = info["merge_id"], info["target_commit"]
    conflicts = [i for i in client.merge_items(merge_id) if i["resolution"] is None]
    steps, loss = client.migration_review(tgt, f"merge:{merge_id}")
    warnings = risky_steps([st["statement"] for st in steps], live_rows=_live_rows(client), data_loss=loss,
                           large_rows=getattr(settings, "PGGIT_LARGE_TABLE_ROWS", 100_000))
    return Preview("merge", info["base_commit"], info["source_commit"], tgt, steps, conflicts, warnings,
                   in_progress=True, data_loss=list(loss or []))


def _live_rows(client) -> dict[str, float]:
    """Estimated rows of every live table (pg_class.reltuples; -1, never analyzed, counts as 0)."""
    return client.live_table_rows()


# opening and editing -----------------------------------------------------------------------

def check_can_open(user, repo: Repository) -> None:
    check_role(user, repo, Role.DEVELOPER)


def open_merge_request(user, repo: Repository, *, source: str, target: str, title: str, description: str = "",
                       draft: bool = False, strategy: str = "auto") -> MergeRequest:
    """Open a request to merge branch ``source`` into branch ``target``. Both must be branches;
    one open request per source and target."""
    check_can_open(user, repo)
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise ActionError(f"a merge request needs a title of 1 to {MAX_TITLE} characters", code="invalid_title")
    _check_strategy(strategy)
    if source == target:
        raise ActionError("source and target are the same branch", code="same_branch")
    with engine_errors(), client_for(repo, user) as client:
        names = {b["name"] for b in client.branches()}
        for role, name in (("source", source), ("target", target)):
            if name not in names:
                raise NotFound(f"{role} branch {name!r} does not exist", code="ref_not_found")
        head = client.resolve(source)
    with transaction.atomic():
        Repository.objects.select_for_update().get(pk=repo.pk)  # serializes numbering
        if MergeRequest.objects.filter(repository=repo, source=source, target=target, state__in=OPEN_STATES).exists():
            raise Conflict(f"a merge request from {source} into {target} is open already", code="duplicate")
        number = (MergeRequest.objects.filter(repository=repo).aggregate(n=Max("number"))["n"] or 0) + 1
        mr = MergeRequest.objects.create(repository=repo, number=number, title=title, description=description,
                                         source=source, target=target, author=user, draft=draft,
                                         strategy=strategy, source_head=head)
        record_merge_request(EventKind.MR_OPENED, mr, user)
        return mr


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGY_NAMES:
        raise ActionError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGY_NAMES)}",
                          code="invalid_strategy")


def _check_author_or(user, mr: MergeRequest, role: Role) -> None:
    check_role(user, mr.repository, Role.VIEWER)
    if user.pk != mr.author_id:
        check_role(user, mr.repository, role)
    else:
        check_role(user, mr.repository, Role.DEVELOPER)


def check_can_edit(user, mr: MergeRequest) -> None:
    """The author (a developer) or a maintainer edits, drafts, closes and reopens a request."""
    _check_author_or(user, mr, Role.MAINTAINER)


def check_merge_role(user, mr: MergeRequest) -> None:
    """The role the target's protection rule names for merging (and for turning auto-merge on)."""
    check_role(user, mr.repository, merge_role_for(mr.repository, mr.target))


def check_can_resolve(user, mr: MergeRequest) -> None:
    """The author (a developer) and whoever may merge into the target resolve conflicts."""
    _check_author_or(user, mr, merge_role_for(mr.repository, mr.target))


def can_resolve(user, mr: MergeRequest) -> bool:
    try:
        check_can_resolve(user, mr)
    except (PermissionDenied, Http404):
        return False
    return True


def _check_open(mr: MergeRequest) -> None:
    if mr.is_closed:
        raise Conflict(f"merge request !{mr.number} is {mr.get_state_display()}", code="not_open")


def edit(user, mr: MergeRequest, *, title: str | None = None, description: str | None = None,
         draft: bool | None = None, strategy: str | None = None, target: str | None = None) -> MergeRequest:
    """The author (or a maintainer) edits title, description, draft flag, strategy or target (see
    ``retarget``). The ``merge_request.updated`` event names the users a new description mentions
    that the one it replaces did not (``mentioned``: they are notified, monitoring.notifications)."""
    check_can_edit(user, mr)
    _check_open(mr)
    if target is not None and target != mr.target:
        mr = retarget(user, mr, target)
    previous_description = mr.description
    if title is not None:
        title = title.strip()
        if not title or len(title) > MAX_TITLE:
            raise ActionError(f"a merge request needs a title of 1 to {MAX_TITLE} characters", code="invalid_title")
        mr.title = title
    if description is not None:
        mr.description = description
    if draft is not None:
        mr.draft = draft
    if strategy is not None:
        _check_strategy(strategy)
        mr.strategy = strategy
    added = added_mentions(previous_description, mr.description)
    with transaction.atomic():
        mr.save()
        record_merge_request(EventKind.MR_UPDATED, mr, user, **({"mentioned": added} if added else {}))
    return mr


def retarget(user, mr: MergeRequest, target: str) -> MergeRequest:
    """Point the request at another target branch (the author or a maintainer): e.g. when its
    target was deleted. The branch must exist and differ from the source, with no other open
    request from the same source into it. An engine merge opened for the old target is aborted
    (its resolutions no longer apply) and a refused merge's message is cleared; approvals stay
    as the new target's protection rule counts them. Under the request's row lock, so two edits
    do not both pass the duplicate check."""
    check_can_edit(user, mr)
    if not target or len(target) > 200:
        raise ActionError("a target branch name has 1 to 200 characters", code="invalid_target")
    if target == mr.source:
        raise ActionError("source and target are the same branch", code="same_branch")
    with engine_errors(), client_for(mr.repository, user) as client:
        if target not in branch_heads(client):
            raise NotFound(f"target branch {target!r} does not exist", code="ref_not_found")
    with transaction.atomic():
        mr = _lock(mr)
        _check_open(mr)
        if MergeRequest.objects.filter(repository=mr.repository, source=mr.source, target=target,
                                       state__in=OPEN_STATES).exclude(pk=mr.pk).exists():
            raise Conflict(f"a merge request from {mr.source} into {target} is open already", code="duplicate")
        old = mr.target
        if mr.engine_merge_id:
            _abort_engine_merge(mr)
        mr.target, mr.merge_error = target, ""
        mr.save()
        approvals_now = _refresh_state(mr)
        record_merge_request(EventKind.MR_UPDATED, mr, user, approvals=approvals_now, reason="retargeted",
                             old_target=old, new_target=target)
    return mr


def close(user, mr: MergeRequest) -> MergeRequest:
    """Close without merging (author or maintainer); an open engine merge is aborted."""
    check_can_edit(user, mr)
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().get(pk=mr.pk)
        _check_open(mr)
        if mr.engine_merge_id:
            _abort_engine_merge(mr)
        mr.state, mr.closed_at, mr.auto_merge = State.CLOSED, timezone.now(), False
        mr.save()
        record_merge_request(EventKind.MR_CLOSED, mr, user)
    return mr


def reopen(user, mr: MergeRequest) -> MergeRequest:
    check_can_edit(user, mr)
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().get(pk=mr.pk)
        if mr.state != State.CLOSED:
            raise Conflict(f"merge request !{mr.number} is not closed", code="not_closed")
        if MergeRequest.objects.filter(repository=mr.repository, source=mr.source, target=mr.target,
                                       state__in=OPEN_STATES).exists():
            raise Conflict(f"another merge request from {mr.source} into {mr.target} is open", code="duplicate")
        mr.state, mr.closed_at = State.OPEN, None
        mr.save()
        record_merge_request(EventKind.MR_REOPENED, mr, user)
    return sync(mr)


def check_can_restore_branch(user, mr: MergeRequest, which: str = "source") -> None:
    """Whoever may create branches (a developer) restores a request's deleted source branch; a
    deleted target needs the role that may delete it (its protection rule's merge role)."""
    if which == "target":
        check_role(user, mr.repository, max(Role.DEVELOPER, merge_role_for(mr.repository, mr.target)))
    else:
        check_role(user, mr.repository, Role.DEVELOPER)


def restore_branch(user, mr: MergeRequest, which: str = "source") -> str:
    """Create the request's deleted source (or ``which="target"``: target) branch again; returns
    its head. The source comes back at the head the request last knew (``source_head``), the
    target at the head the engine's audit trail says it had when it was deleted. Refused when the
    branch exists (``branch_exists``) or no head is known. The engine's ``create_branch`` takes
    the branch's row lock itself: a branch made meanwhile under the same name is refused, never
    overwritten."""
    if which not in ("source", "target"):
        raise ActionError(f"unknown branch {which!r}: source or target", code="invalid_branch")
    check_can_restore_branch(user, mr, which)
    name = mr.source if which == "source" else mr.target
    if mr.state == State.MERGED:
        raise Conflict(f"merge request !{mr.number} is merged: its branch is not needed any more", code="not_open")
    if which == "source" and not mr.source_head:
        raise Conflict(f"merge request !{mr.number} never saw a head of {mr.source}", code="no_source_head")
    with engine_errors(), client_for(mr.repository, user) as client:
        if name in branch_heads(client):
            raise Conflict(f"The branch {name} exists: there is nothing to restore.", code="branch_exists")
        at = mr.source_head if which == "source" else client.deleted_branch_head(name)
        if not at:
            raise Conflict(f"The engine has no record of the head {name} had: it cannot be restored.",
                           code="no_target_head")
        head = client.create_branch(name, at)
    with transaction.atomic():
        record_merge_request(EventKind.MR_UPDATED, mr, user, reason=f"{which} branch restored",
                             **({"source_head": head} if which == "source" else {"target_head": head}))
    return head


# conversation ------------------------------------------------------------------------------

# A suggestion written in a comment's text, as on GitHub: a fenced block opened with ```suggestion
# (or ```sql suggestion); the block becomes the comment's suggestion and leaves its text.
SUGGESTION_FENCE = re.compile(r"^[ \t]*```[ \t]*(?:sql[ \t]+)?suggestion[ \t]*\r?\n(.*?)\r?\n[ \t]*```[ \t]*$", re.S | re.M)


def add_comment(user, mr: MergeRequest, body: str, object_identity: str = "", *, line: int | None = None,
                parent_id: int | None = None, suggestion: str = "") -> Comment:
    """Anyone who can read the repository comments; ``object_identity`` pins it to one object,
    ``line`` to one line of the source's definition of it (its text is kept, to tell when the
    thread is outdated). ``parent_id`` replies in that comment's thread (same object and line).
    ``suggestion``: SQL proposed for the source branch, on a new line comment only (the body may
    then be empty); ``apply_suggestion`` runs it."""
    check_role(user, mr.repository, Role.VIEWER)
    suggestion = (suggestion or "").strip()
    if not suggestion and line is not None and parent_id is None and body:
        fenced = SUGGESTION_FENCE.search(body)  # GitHub's way: a ```suggestion block in the text
        if fenced:
            suggestion = fenced.group(1).strip()
            body = re.sub(r"\n{3,}", "\n\n", body[:fenced.start()] + body[fenced.end():]).strip()
    if suggestion:
        if line is None or parent_id is not None:
            raise ActionError("a suggestion is made on one line of an object's definition, in a new thread",
                              code="invalid_suggestion")
        if "\x00" in suggestion:
            raise ActionError("a suggestion cannot hold a NUL character", code="invalid_suggestion")
        body = body if body and body.strip() else "Suggested change"
    if not body or not body.strip():
        raise ActionError("a comment needs some text", code="empty_comment")
    object_identity, line_text = (object_identity or "").strip(), ""
    parent = None
    if parent_id is not None:
        parent = mr.comments.filter(pk=parent_id).select_related("parent").first()
        if parent is None:
            raise Http404(f"merge request !{mr.number} has no comment {parent_id}")
        parent = parent.parent or parent  # (one level: a reply to a reply joins the thread)
        object_identity, line, line_text = parent.object_identity, parent.line, parent.line_text
    elif line is not None:
        if not object_identity:
            raise ActionError("a comment on a line names the object too", code="invalid_line")
        line_text = _source_line(mr, object_identity, line)
    with transaction.atomic():
        comment = Comment.objects.create(merge_request=mr, author=user, body=body.strip(),
                                         object_identity=object_identity, line=line, line_text=line_text,
                                         parent=parent, suggestion=suggestion)
        record_merge_request(EventKind.COMMENT, mr, user, comment=_comment_payload(comment))
    return comment


def definition_lines(definition: str | None) -> list[str]:
    """A definition's lines as the Changes tab numbers them (from 1)."""
    text = (definition or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n") if text else []
    return lines[:-1] if lines and lines[-1] == "" else lines


def _source_line(mr: MergeRequest, identity: str, line: int, client=None, at: str | None = None) -> str:
    """The text of ``line`` of the source's definition of ``identity`` (at ``at``, else at the
    head the request last saw), or ActionError when there is no such line."""
    own = client is None
    client = client or client_for(mr.repository)
    try:
        with engine_errors():
            definition = next((o["definition"] for o in client.tree(at or mr.source_head or mr.source)
                               if o["identity"] == identity), None)
    finally:
        if own:
            client.close()
    lines = definition_lines(definition)
    if not 1 <= line <= len(lines):
        where = f"has {len(lines)} lines" if definition is not None else "does not exist"
        raise ActionError(f"{identity} on {mr.source} {where}: there is no line {line} to comment on",
                          code="invalid_line")
    return lines[line - 1]


def check_can_resolve_thread(user, mr: MergeRequest, root: Comment) -> None:
    """A thread is resolved (or opened again) by the request's author, the thread's author, or a
    reviewer or maintainer of the repository."""
    check_role(user, mr.repository, Role.VIEWER)
    if user.pk in (mr.author_id, root.author_id):
        return
    check_role(user, mr.repository, Role.REVIEWER)


def set_thread_resolved(user, mr: MergeRequest, comment_id: int, resolved: bool) -> Comment:
    """Mark the thread of comment ``comment_id`` resolved or not; returns its first comment."""
    root = mr.comments.filter(pk=comment_id).select_related("parent").first()
    if root is None:
        check_role(user, mr.repository, Role.VIEWER)
        raise Http404(f"merge request !{mr.number} has no comment {comment_id}")
    root = root.parent or root
    check_can_resolve_thread(user, mr, root)
    with transaction.atomic():
        root = Comment.objects.select_for_update().get(pk=root.pk)
        if resolved != (root.resolved_at is not None):
            root.resolved_at, root.resolved_by = (timezone.now(), user) if resolved else (None, None)
            root.save(update_fields=["resolved_at", "resolved_by"])
    return root


def check_can_apply_suggestion(user, mr: MergeRequest) -> None:
    """Whoever may push to the request's source branch (``branches.actions.check_can_apply``: a
    developer on an unprotected branch, the branch's merge role on a protected one; the author
    too, as long as they may push) applies a suggestion. Checked again, with whether the source is
    the checked-out branch, when the SQL runs."""
    check_role(user, mr.repository, Role.VIEWER)
    check_can_apply(user, mr.repository, mr.source, is_head=False)


def can_apply_suggestion(user, mr: MergeRequest) -> bool:
    try:
        check_can_apply_suggestion(user, mr)
    except (PermissionDenied, Http404):
        return False
    return not mr.is_closed


def suggestion_message(mr: MergeRequest, comment: Comment) -> str:
    """The commit message of an applied suggestion: which suggestion, by whom, on what."""
    where = f"{comment.object_identity}, line {comment.line}"
    return (f"Apply suggestion by {comment.author.get_username()} on !{mr.number} ({where})\n\n"
            f"{comment.suggestion}\n\nSuggested-by: {comment.author.get_username()}\nSuggestion: comment {comment.pk}")


def apply_suggestion(user, mr: MergeRequest, comment_id: int) -> Comment:
    """Run the suggestion of comment ``comment_id`` on the request's source branch and mark it
    applied (by ``user``, with the commit it made) and its thread resolved.

    The SQL goes the console's way (``branches.actions.run_console``): on a branch that is not
    checked out the engine client runs it in the shadow database as the unprivileged shadow role
    and commits what changed on the branch (under the branch's lock, from the head it read: a
    commit made meanwhile is never lost); PostgreSQL's error comes back as ``Rejected`` and
    nothing is recorded. Refused: a comment without a suggestion, one applied already, one whose
    line has changed on the source since (outdated), a request that is not open, a deleted
    source, SQL that changes nothing. The comment's row is locked from the checks to the record,
    so two people pressing "apply" at once make one commit."""
    comment = mr.comments.filter(pk=comment_id).select_related("author").first()
    if comment is None:
        check_role(user, mr.repository, Role.VIEWER)
        raise NotFound(f"merge request !{mr.number} has no comment {comment_id}", code="comment_not_found")
    check_can_apply_suggestion(user, mr)
    if not comment.suggestion:
        raise ActionError("this comment suggests no change", code="not_a_suggestion")
    _check_open(mr)
    with transaction.atomic():
        comment = Comment.objects.select_for_update(of=("self",)).select_related("author").get(pk=comment.pk)
        if comment.suggestion_applied:
            raise Conflict(f"this suggestion was applied already, as commit {comment.suggestion_commit[:12]}",
                           code="suggestion_applied")
        with engine_errors(), client_for(mr.repository) as client:
            head = source_head(client, mr)
            try:
                now = _source_line(mr, comment.object_identity, comment.line, client, at=head)
            except ActionError:
                now = None
        if now != comment.line_text:
            raise Conflict(f"the suggestion is outdated: line {comment.line} of {comment.object_identity} has "
                           f"changed on {mr.source} since it was written", code="suggestion_outdated")
        commit = run_console(user, mr.repository, mr.source, comment.suggestion,
                             suggestion_message(mr, comment)).commit
        if commit is None:
            raise Conflict("the suggestion ran but changed nothing on the source: nothing was recorded",
                           code="suggestion_no_change")
        at = timezone.now()
        comment.suggestion_applied_at, comment.suggestion_applied_by, comment.suggestion_commit = at, user, commit
        if comment.resolved_at is None:
            comment.resolved_at, comment.resolved_by = at, user
        comment.save(update_fields=["suggestion_applied_at", "suggestion_applied_by", "suggestion_commit",
                                    "resolved_at", "resolved_by"])
        record_merge_request(EventKind.MR_UPDATED, mr, user, reason="suggestion applied", commit=commit,
                             comment_id=comment.pk, suggested_by=comment.author.get_username(),
                             identity=comment.object_identity, line=comment.line)
    try:
        sync(mr)  # the new commit on the source: the request's head moves, stale approvals go
    except ActionError:
        pass  # the next page or merge reconciles it
    return comment


def _comment_payload(comment: Comment) -> dict:
    from merges.serializers import CommentSerializer

    return dict(CommentSerializer(comment).data)


_VERDICT_EVENTS = {
    Review.Verdict.APPROVE: EventKind.MR_APPROVED,
    Review.Verdict.REQUEST_CHANGES: EventKind.MR_CHANGES_REQUESTED,
    Review.Verdict.COMMENT: EventKind.MR_REVIEWED,
}


def check_can_review(user, mr: MergeRequest, verdict: str) -> None:
    check_role(user, mr.repository, Role.VIEWER)
    if verdict == Review.Verdict.COMMENT:
        return
    check_role(user, mr.repository, Role.REVIEWER)
    if verdict == Review.Verdict.APPROVE and user.pk == mr.author_id:
        rule = mr.repository.protection_for(mr.target)
        if rule is not None and not rule.allow_self_approval:
            raise PermissionDenied("You cannot approve your own merge request: someone else must review it.")


def _check_reviewable(mr: MergeRequest, verdict: str, body: str) -> None:
    _check_open(mr)
    if mr.draft and verdict != Review.Verdict.COMMENT:
        raise Conflict("the merge request is a draft: it cannot be approved or sent back yet", code="draft")
    if verdict == Review.Verdict.REQUEST_CHANGES and not body:
        raise ActionError("say what should change", code="empty_review")
    if verdict == Review.Verdict.COMMENT and not body:
        raise ActionError("a review comment needs some text", code="empty_review")


def review(user, mr: MergeRequest, verdict: str, body: str = "") -> Review:
    """Record a review of the source; approving may trigger an automatic merge.

    The review is for the source head the app last reconciled with the engine (``sync``: the
    head its pages showed), read under the request's row lock; it does not ask the engine. A
    commit on the source that the app had not seen yet is not covered by the review: the next
    ``sync`` (the page the reviewer is sent back to, or the merge, which syncs first) finds it
    and dismisses the review as stale, when the target's rule says so."""
    if verdict not in Review.Verdict.values:
        raise ActionError(f"unknown verdict {verdict!r}", code="invalid_verdict")
    check_can_review(user, mr, verdict)
    body = (body or "").strip()
    with transaction.atomic():
        mr = _lock(mr)
        _check_reviewable(mr, verdict, body)
        rev = Review.objects.create(merge_request=mr, reviewer=user, verdict=verdict, body=body,
                                    source_head=mr.source_head)
        status = _refresh_state(mr)
        from merges.serializers import ReviewSerializer

        record_merge_request(_VERDICT_EVENTS[verdict], mr, user, approvals=status,
                             review=dict(ReviewSerializer(rev).data))
    if mr.state == State.APPROVED and mr.auto_merge and mr.auto_merge_by_id:
        try:
            merge(mr.auto_merge_by, mr, strategy=mr.strategy)
        except (ActionError, PermissionDenied) as exc:
            MergeRequest.objects.filter(pk=mr.pk).update(merge_error=f"automatic merge: {exc}")
    return rev


def approve(user, mr: MergeRequest, body: str = "") -> Review:
    return review(user, mr, Review.Verdict.APPROVE, body)


def request_changes(user, mr: MergeRequest, body: str) -> Review:
    return review(user, mr, Review.Verdict.REQUEST_CHANGES, body)


# reviewer requests -------------------------------------------------------------------------

def check_can_request_review(user, mr: MergeRequest) -> None:
    """The author (a developer) or a maintainer asks members for a review."""
    check_can_edit(user, mr)


def _requested_reviewer(mr: MergeRequest, username: str):
    """The member ``username`` if they may review ``mr`` (the reviewer role or above, not its
    author). An unknown user and one who cannot see the repository are the same 404."""
    from django.contrib.auth import get_user_model

    user = None
    if "\x00" not in username:  # PostgreSQL text holds no NUL: no user has one in their name
        user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not has_role(user, mr.repository, Role.VIEWER):
        raise NotFound(f"{mr.repository.name} has no member {username!r}", code="user_not_found")
    if user.pk == mr.author_id:
        raise ActionError("the author cannot review their own merge request", code="author_cannot_review")
    if not has_role(user, mr.repository, Role.REVIEWER):
        raise ActionError(f"{username} cannot review: that needs the reviewer role or above", code="not_a_reviewer")
    return user


def request_review(user, mr: MergeRequest, username: str) -> ReviewRequest:
    """Ask ``username`` for a review; asking again is a no-op (no second event, no second
    notification). Records ``merge_request.review_requested`` naming the reviewer."""
    check_can_request_review(user, mr)
    _check_open(mr)
    reviewer = _requested_reviewer(mr, username)
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().select_related("repository").get(pk=mr.pk)
        rr, created = ReviewRequest.objects.get_or_create(merge_request=mr, reviewer=reviewer,
                                                          defaults={"requested_by": user})
        if created:
            record_merge_request(EventKind.MR_REVIEW_REQUESTED, mr, user, reviewer=reviewer.get_username())
    return rr


def remove_review_request(user, mr: MergeRequest, username: str) -> None:
    """Withdraw the request for ``username``'s review (404 when there is none)."""
    check_can_request_review(user, mr)
    deleted = 0
    if "\x00" not in username:  # PostgreSQL text holds no NUL: no user has one in their name
        deleted, _ = ReviewRequest.objects.filter(merge_request=mr, reviewer__username=username).delete()
    if not deleted:
        raise NotFound(f"no review was requested from {username!r} on !{mr.number}", code="review_request_not_found")


# labels and assignees ----------------------------------------------------------------------

LABEL_NAME_MAX = 50
LABEL_DESCRIPTION_MAX = 200
DEFAULT_LABEL_COLOR = "#6e7781"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def check_can_manage_labels(user, repo: Repository) -> None:
    """Maintainers create, change and delete a repository's labels."""
    check_role(user, repo, Role.MAINTAINER)


def _clean_label_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > LABEL_NAME_MAX or "\x00" in name or "," in name:
        raise ActionError(f"a label needs a name of 1 to {LABEL_NAME_MAX} characters, without commas",
                          code="invalid_label")
    return name


def _clean_color(color: str | None) -> str:
    color = (color or DEFAULT_LABEL_COLOR).strip()
    if not _COLOR.fullmatch(color):
        raise ActionError(f"a label's colour is written #rrggbb, not {color!r}", code="invalid_color")
    return color.lower()


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > LABEL_DESCRIPTION_MAX or "\x00" in description:
        raise ActionError(f"a label's description has at most {LABEL_DESCRIPTION_MAX} characters",
                          code="invalid_label")
    return description


def get_label(repo: Repository, name: str) -> Label:
    """The label ``name`` of ``repo`` (any case): 404 ``label_not_found`` when there is none."""
    found = None
    if "\x00" not in name:
        found = Label.objects.filter(repository=repo, name__iexact=name.strip()).first()
    if found is None:
        raise NotFound(f"{repo.name} has no label {name!r}", code="label_not_found")
    return found


def create_label(user, repo: Repository, name: str, color: str | None = None, description: str = "") -> Label:
    """A new label (a maintainer); a name taken in any case is refused (409 ``label_exists``)."""
    check_can_manage_labels(user, repo)
    name, color, description = _clean_label_name(name), _clean_color(color), _clean_description(description)
    with transaction.atomic():
        Repository.objects.select_for_update().get(pk=repo.pk)  # two makers of one name: one wins, one is told
        if Label.objects.filter(repository=repo, name__iexact=name).exists():
            raise Conflict(f"{repo.name} already has a label {name!r}", code="label_exists")
        return Label.objects.create(repository=repo, name=name, color=color, description=description)


def edit_label(user, repo: Repository, name: str, *, new_name: str | None = None, color: str | None = None,
               description: str | None = None) -> Label:
    """Rename a label or change its colour or description (a maintainer); the requests keep it."""
    check_can_manage_labels(user, repo)
    with transaction.atomic():
        Repository.objects.select_for_update().get(pk=repo.pk)
        label = get_label(repo, name)
        if new_name is not None:
            new_name = _clean_label_name(new_name)
            if Label.objects.filter(repository=repo, name__iexact=new_name).exclude(pk=label.pk).exists():
                raise Conflict(f"{repo.name} already has a label {new_name!r}", code="label_exists")
            label.name = new_name
        if color is not None:
            label.color = _clean_color(color)
        if description is not None:
            label.description = _clean_description(description)
        label.save()
    return label


def delete_label(user, repo: Repository, name: str) -> None:
    """Delete a label (a maintainer): it goes from every request that had it."""
    check_can_manage_labels(user, repo)
    get_label(repo, name).delete()


def check_can_triage(user, mr: MergeRequest) -> None:
    """Developers and above (and so the author) set a request's labels and assignees."""
    check_role(user, mr.repository, Role.DEVELOPER)


def _changes(before: set[str], after: set[str]) -> dict:
    return {"added": sorted(after - before), "removed": sorted(before - after)}


def set_labels(user, mr: MergeRequest, names: list[str]) -> list[Label]:
    """Make the request's labels exactly ``names`` (labels of its repository, any case: an unknown
    one is 400 ``unknown_label`` and nothing changes). A change records ``merge_request.updated``
    with ``labels: {added, removed}`` (the timeline's "added/removed the label" entries), under
    the request's row lock so that two people editing at once each record what they changed."""
    check_can_triage(user, mr)
    wanted: dict[int, Label] = {}
    for name in names:
        try:
            label = get_label(mr.repository, name)
        except NotFound:
            raise ActionError(f"{mr.repository.name} has no label {name!r}", code="unknown_label") from None
        wanted[label.pk] = label
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().select_related("repository", "author").get(pk=mr.pk)
        before = {label.name for label in mr.labels.all()}
        mr.labels.set(list(wanted.values()))
        change = _changes(before, {label.name for label in wanted.values()})
        if change["added"] or change["removed"]:
            mr.save(update_fields=["updated_at"])
            record_merge_request(EventKind.MR_UPDATED, mr, user, labels=change)
    return sorted(wanted.values(), key=lambda label: label.name.lower())


def _member(mr: MergeRequest, username: str):
    """The member ``username`` of the request's repository; an unknown user and one who cannot see
    the repository are the same 404 ``user_not_found``."""
    from django.contrib.auth import get_user_model

    found = None
    if "\x00" not in username:
        found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None or not has_role(found, mr.repository, Role.VIEWER):
        raise NotFound(f"{mr.repository.name} has no member {username!r}", code="user_not_found")
    return found


def set_assignees(user, mr: MergeRequest, usernames: list[str]) -> list:
    """Make the request's assignees exactly ``usernames`` (members of its repository). A change
    records ``merge_request.updated`` with ``assignees: {added, removed}``, under the row lock."""
    check_can_triage(user, mr)
    people = {}
    for name in usernames:
        member = _member(mr, name.strip())
        people[member.pk] = member
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().select_related("repository", "author").get(pk=mr.pk)
        before = {u.get_username() for u in mr.assignees.all()}
        mr.assignees.set(list(people.values()))
        change = _changes(before, {u.get_username() for u in people.values()})
        if change["added"] or change["removed"]:
            mr.save(update_fields=["updated_at"])
            record_merge_request(EventKind.MR_UPDATED, mr, user, assignees=change)
    return sorted(people.values(), key=lambda u: u.get_username())


# merging -----------------------------------------------------------------------------------

def check_can_merge(user, mr: MergeRequest) -> None:
    """The target's rule names who may merge; a draft, or missing approvals, stop everyone."""
    check_role(user, mr.repository, Role.VIEWER)
    check_merge_role(user, mr)
    _check_open(mr)
    if mr.draft:
        raise Conflict("the merge request is a draft", code="draft")
    if mr.state == State.CHANGES_REQUESTED:
        raise Conflict("a reviewer requested changes", code="changes_requested")
    status = approvals(mr)
    if not status.met:
        raise Conflict(f"{status.count} of {status.required} required approvals", code="approvals_missing")


def set_auto_merge(user, mr: MergeRequest, enabled: bool, strategy: str | None = None) -> MergeRequest:
    """Merge automatically when the last required approval arrives, as ``user``."""
    check_merge_role(user, mr)
    _check_open(mr)
    if strategy is not None:
        _check_strategy(strategy)
        mr.strategy = strategy
    mr.auto_merge, mr.auto_merge_by = enabled, (user if enabled else None)
    with transaction.atomic():
        mr.save()
        record_merge_request(EventKind.MR_UPDATED, mr, user, auto_merge=enabled)
    if enabled and mr.state == State.APPROVED and not mr.draft:
        merge(user, mr, strategy=mr.strategy)
    return mr


def _message(mr: MergeRequest, user) -> str:
    return f"Merge request !{mr.number}: {mr.title}\n\nMerge {mr.source} into {mr.target}\nMerged-by: {user.get_username()}"


def _mark_merged(mr: MergeRequest, commit: str, user, **extra) -> None:
    mr.state, mr.merge_commit, mr.merged_at = State.MERGED, commit, timezone.now()
    mr.merged_by = user or mr.merged_by
    mr.engine_merge_id, mr.merge_error, mr.auto_merge = None, "", False
    mr.save()
    record_merge_request(EventKind.MR_MERGED, mr, user or mr.merged_by, **extra)


def _abort_engine_merge(mr: MergeRequest) -> None:
    with client_for(mr.repository) as client:
        try:
            client.abort_merge(mr.engine_merge_id)
        except pe.PggitError:
            pass  # closed already
    mr.engine_merge_id = None


def merge(user, mr: MergeRequest, strategy: str | None = None, force: bool = False) -> MergeOutcome:
    """Merge the request's source into its target through the engine.

    Runs under a row lock on the request, so two people pressing "merge" at once make one merge.
    The engine verifies the result in the shadow database; into the checked-out branch it also
    migrates the live schema in the merge commit's transaction. Conflicts leave the engine's
    merge open (``engine_merge_id``) for the conflicts page; steps that would lose data stop it
    until a merge with ``force``. An engine merge opened earlier (conflicts resolved before the
    approvals came in) is finished instead of starting over, unless either branch moved since.
    """
    mr = sync(mr)
    check_can_merge(user, mr)
    if strategy is not None:
        _check_strategy(strategy)
    try:
        with transaction.atomic():
            mr = MergeRequest.objects.select_for_update().select_related("repository").get(pk=mr.pk)
            _check_open(mr)
            if strategy and strategy != mr.strategy and not mr.engine_merge_id:
                mr.strategy = strategy
            with engine_errors(), client_for(mr.repository, user) as client:
                source_head(client, mr)
                target_head(client, mr)
                data = _data_merge_plan(client, mr)
                merged_extra = _forced_extra(client, mr) if force else {}
                outcome = _merge_locked(client, user, mr, force, merged_extra, data)
            mr.merge_error = outcome.message if outcome.status in ("refused", "conflicts", "data_conflicts") else ""
            mr.save()
            if outcome.status == "conflicts":
                record_merge_request(EventKind.CONFLICT_FOUND, mr, user, conflicts=len(outcome.conflicts or []))
            elif outcome.status == "data_conflicts":
                record_merge_request(EventKind.MERGE_FAILED, mr, user, error=outcome.message, forced=force,
                                     data_conflicts=len(outcome.conflicts or []))
            elif outcome.status == "refused":
                record_merge_request(EventKind.MERGE_FAILED, mr, user, error=outcome.message, forced=force)
            return outcome
    except ActionError as exc:
        if getattr(exc, "code", "") not in ("not_open",):
            record_merge_request(EventKind.MERGE_FAILED, MergeRequest.objects.get(pk=mr.pk), user, error=str(exc),
                                 forced=force)
        raise


def _forced_extra(client, mr: MergeRequest) -> dict:
    """For the merged event of a merge with ``force``: the tables whose rows its migration drops
    (the preview's data-loss warnings, read before it runs; alerts act on them). Every forced
    completion calls it just before the engine completes the merge: ``merge`` (a fresh merge, an
    open one finished, or one whose earlier resolutions were applied again) and ``resolve`` (the
    last conflict resolved with force)."""
    try:
        found = preview(mr, client)
    except ActionError:
        found = None
    lost = sorted({w.table for w in found.warnings if w.loses_data}) if found else []
    return {"forced": True, "data_loss": lost}


def _merge_locked(client, user, mr: MergeRequest, force: bool, merged_extra: dict | None = None,
                  data: "DataPlan | None" = None) -> MergeOutcome:
    if mr.engine_merge_id:
        info = client.merge_info(mr.engine_merge_id)
        stale = (info is None or info["status"] not in ("conflicts", "ready")
                 or info["source_commit"] != client.resolve(mr.source)
                 or info["target_commit"] != client.resolve(mr.target))
        if stale:
            if info is not None and info["status"] in ("conflicts", "ready"):
                client.abort_merge(mr.engine_merge_id)
            mr.engine_merge_id = None
        elif info["status"] == "conflicts":
            return _conflicts_outcome(client, mr)
        else:
            try:
                row = _finish(client, mr, force, data)
            except pe.DataLossRefused as exc:
                return MergeOutcome("refused", merge_id=mr.engine_merge_id, message=exc.message)
            return _outcome_from_row(client, user, mr, row, merged_extra)
    try:
        if data is not None:  # the schema merge and the data merge in one transaction
            row = client.merge_with_data(mr.source, mr.target, mr.strategy, _message(mr, user),
                                         resolutions=data.resolutions, force=force)
        else:
            row = client.merge(mr.source, mr.target, mr.strategy, _message(mr, user), verify=True, force=force)
    except pe.DataLossRefused as exc:  # a fast-forward into HEAD that would lose data
        return MergeOutcome("refused", message=exc.message)
    if row["status"] in ("conflicts", "ready"):
        mr.engine_merge_id = row["merge_id"]
        _reapply_resolutions(client, user, mr)
        row = client.merge_status(mr.engine_merge_id)
        if row["status"] == "ready" and not row.get("error"):
            if force:  # what it loses is the merge with the resolutions applied again, not as it opened
                merged_extra = _forced_extra(client, mr)
            row = _finish(client, mr, force, data)
    return _outcome_from_row(client, user, mr, row, merged_extra)


def _finish(client, mr: MergeRequest, force: bool, data: "DataPlan | None") -> dict:
    """Finish the request's open engine merge (``ready``): verified and completed, and with a
    data branch as source, its data merged in the same transaction (``merge_with_data``)."""
    if data is None:
        return client.finish_merge(mr.engine_merge_id, force)
    return client.merge_with_data(mr.source, mr.target, mr.strategy, resolutions=data.resolutions, force=force,
                                  merge_id=mr.engine_merge_id)


def _outcome_from_row(client, user, mr: MergeRequest, row: dict, merged_extra: dict | None = None) -> MergeOutcome:
    status = row["status"]
    if status == "data_conflicts":  # rolled back: the schema merge too (an open one stays open, ready)
        stopped = row.get("data") or []
        return MergeOutcome("data_conflicts", conflicts=stopped, message=data_stop_message(stopped))
    if status in ("merged", "fast_forward"):
        _mark_merged(mr, row["commit_id"], user, **(merged_extra or {}), **_data_extra(row))
        return MergeOutcome("merged", commit=row["commit_id"], merge_id=row["merge_id"])
    if status == "up_to_date" and any(r["status"] == "merged" and any((r["counts"] or {}).values())
                                      for r in row.get("data") or []):
        # no commit to merge, but the rows were: the request is merged at the target's head
        commit = client.resolve(mr.target)
        _mark_merged(mr, commit, user, **(merged_extra or {}), **_data_extra(row))
        return MergeOutcome("merged", commit=commit, merge_id=row["merge_id"])
    if status == "up_to_date":
        return MergeOutcome("up_to_date", merge_id=row["merge_id"],
                            message=f"{mr.target} already holds every commit of {mr.source}: nothing to merge")
    mr.engine_merge_id = row["merge_id"]
    if status == "ready":  # stopped by the data-loss guard
        return MergeOutcome("refused", merge_id=row["merge_id"], message=row.get("error") or "")
    return _conflicts_outcome(client, mr)


def _conflicts_outcome(client, mr: MergeRequest) -> MergeOutcome:
    items = [i for i in client.merge_items(mr.engine_merge_id) if i["resolution"] is None]
    names = ", ".join(i["identity"] for i in items[:5]) + (" ..." if len(items) > 5 else "")
    return MergeOutcome("conflicts", merge_id=mr.engine_merge_id, conflicts=items,
                        message=f"{len(items)} object(s) need a resolution: {names}")


def _reapply_resolutions(client, user, mr: MergeRequest) -> None:
    """Resolutions given on an earlier engine merge of this request (that was reopened because a
    branch moved) are applied again to the objects that still conflict. A stored custom
    resolution is the engine's canonical definition of the object (never the text a person
    typed), and the engine client checks it again in the shadow database as its unprivileged role."""
    done = {}
    for res in mr.resolutions.order_by("created_at"):
        done[res.object_identity] = res
    if not done:
        return
    for item in client.merge_items(mr.engine_merge_id):
        res = done.get(item["identity"])
        if item["resolution"] is None and res is not None:
            try:
                client.resolve_conflict(mr.engine_merge_id, item["identity"], res.resolution,
                                        res.definition or None, complete=False)
            except pe.PggitError:
                continue  # it no longer applies: the item stays open for a person to decide


def read_conflicts(user, mr: MergeRequest) -> tuple[list[dict], list[dict]] | None:
    """(open items, all items) of the request's engine merge in progress, or None when none is
    open. Reads only: a page (GET) shows conflicts with it and runs nothing; opening the merge
    and applying stored resolutions again is ``open_conflicts`` (POST)."""
    check_can_resolve(user, mr)
    mr = sync(mr)
    _check_open(mr)
    if not mr.engine_merge_id:
        return None
    with engine_errors(), client_for(mr.repository) as client:
        info = client.merge_info(mr.engine_merge_id)
        if info is None or info["status"] not in ("conflicts", "ready"):
            return None
        items = client.merge_items(mr.engine_merge_id)
    return [i for i in items if i["resolution"] is None], items


def open_conflicts(user, mr: MergeRequest) -> tuple[list[dict], list[dict]]:
    """(open items, all items) of the request's engine merge, opening one if there is none.

    Anyone who may merge, and the author, may start resolving before the approvals are in: the
    engine merge then waits, resolved, until ``merge`` finishes it. A new engine merge gets the
    request's earlier resolutions again (custom ones re-checked in the shadow database, as its
    unprivileged role): call it from a POST, never from a page read.
    """
    check_can_resolve(user, mr)
    mr = sync(mr)
    _check_open(mr)
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().select_related("repository").get(pk=mr.pk)
        with engine_errors(), client_for(mr.repository, user) as client:
            info = client.merge_info(mr.engine_merge_id) if mr.engine_merge_id else None
            if info is None or info["status"] not in ("conflicts", "ready"):
                src, tgt = source_head(client, mr), target_head(client, mr)
                if client.find_merge_base(src, tgt) in (src, tgt):
                    # up to date or a fast-forward: the engine would do it at once, before any approval
                    raise Conflict("this merge has no conflicts", code="no_conflicts")
                row = client.open_merge(src, mr.target, mr.strategy, _message(mr, user))
                mr.engine_merge_id = row["merge_id"]
                mr.save(update_fields=["engine_merge_id", "updated_at"])
                _reapply_resolutions(client, user, mr)
            items = client.merge_items(mr.engine_merge_id)
    return [i for i in items if i["resolution"] is None], items


def _normalized(text: str | None) -> str:
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def resolve(user, mr: MergeRequest, identity: str, result: str | None, choice: str | None = None,
            force: bool = False) -> MergeOutcome:
    """Resolve one object of the request's open engine merge.

    ``choice`` is ``source``, ``target``, ``base`` or ``custom``; without it, ``result`` (the
    edited text) is compared with the three versions and is ``custom`` when it matches none. A
    custom text (an empty text deletes the object when a side deleted it) is validated in the
    shadow database by the engine client; PostgreSQL's error comes back as ``Rejected`` and the
    merge is unchanged. When nothing is left open and the approvals are met (and the user may
    merge), the merge completes; otherwise it waits, resolved, for ``merge``.
    """
    check_can_resolve(user, mr)
    _check_open(mr)
    if not mr.engine_merge_id:
        raise Conflict("there is no merge in progress for this request", code="no_merge")
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().select_related("repository").get(pk=mr.pk)
        with engine_errors(), client_for(mr.repository, user) as client:
            item = next((i for i in client.merge_items(mr.engine_merge_id) if i["identity"] == identity), None)
            if item is None:
                raise NotFound(f"{identity} is not part of this merge", code="not_in_merge")
            if choice is None:
                text = _normalized(result)
                choice = "custom"
                for side in ("source", "target", "base"):
                    definition = item[f"{side}_definition"]
                    if definition is not None and _normalized(definition) == text:
                        choice = side
                        break
                    if definition is None and text == "":
                        choice = side
                        break
            if choice not in ("source", "target", "base", "custom"):
                raise ActionError(f"unknown resolution {choice!r}", code="invalid_resolution")
            may_finish = has_role(user, mr.repository, merge_role_for(mr.repository, mr.target)) and approvals(mr).met \
                and not mr.draft
            # with force, the merge is finished below, once what it loses has been read
            data = None
            if may_finish and client.is_data_branch(mr.source):
                try:
                    data = _data_merge_plan(client, mr)
                except Conflict:  # the target is not checked out: the merge waits (the merge box says why)
                    may_finish = False
            row = client.resolve_conflict(mr.engine_merge_id, identity, choice,
                                          result if choice == "custom" else None, force=force,
                                          complete=may_finish and not force and data is None)
            canonical = ""
            if choice == "custom":  # what is kept is the definition the engine recorded, not the typed text
                canonical = client.resolution_definition(mr.engine_merge_id, identity) or ""
            ConflictResolution.objects.create(merge_request=mr, engine_merge_id=mr.engine_merge_id,
                                              object_identity=identity, resolution=choice,
                                              definition=canonical, resolved_by=user)
            record_merge_request(EventKind.CONFLICT_RESOLVED, mr, user, identity=identity, resolution=choice)
            merged_extra = None
            if force and may_finish and row["status"] == "ready":
                merged_extra = _forced_extra(client, mr)
                row = _finish(client, mr, force, data)
            elif data is not None and may_finish and row["status"] == "ready" and not row.get("error"):
                row = _finish(client, mr, force, data)
            if row["status"] == "ready" and not may_finish:
                outcome = MergeOutcome("ready", merge_id=mr.engine_merge_id,
                                       message="every conflict is resolved: the merge completes when it is merged")
            else:
                outcome = _outcome_from_row(client, user, mr, row, merged_extra)
            if outcome.status in ("refused", "data_conflicts"):  # stopped, as a merge would be
                mr.merge_error = outcome.message
                record_merge_request(EventKind.MERGE_FAILED, mr, user, error=outcome.message, forced=force)
            else:  # what the last attempt stopped on is being resolved: the merge box counts what is left
                mr.merge_error = ""
        mr.save()
        return outcome


def abort(user, mr: MergeRequest) -> MergeRequest:
    """Abort the request's open engine merge (its resolutions are kept for the next attempt)."""
    check_can_resolve(user, mr)
    with transaction.atomic():
        mr = MergeRequest.objects.select_for_update().get(pk=mr.pk)
        if mr.engine_merge_id:
            _abort_engine_merge(mr)
            mr.merge_error = ""
            mr.save()
    return mr


# data conflicts (the source is a data branch) -----------------------------------------------

@dataclass
class DataConflict:
    """One row the data merge cannot take by itself: its table and primary key, why (the
    engine's words), the cells changed differently on both sides (``columns``), the base,
    source and target rows (None where a side has no row), and the resolutions in force on it
    (the whole row's, else one per cell). ``open``: the engine still finds it a conflict with
    those resolutions."""

    table_identity: str
    key: dict
    conflict: str
    columns: list[str]
    base: dict | None
    source: dict | None
    target: dict | None
    resolutions: list[DataResolution] = field(default_factory=list)
    open: bool = True

    @property
    def key_json(self) -> str:
        return _key_text(self.key)

    @property
    def key_label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.key.items())

    @property
    def anchor(self) -> str:
        return "row-" + hashlib.sha256(f"{self.table_identity}\0{self.key_json}".encode()).hexdigest()[:12]

    @property
    def row_resolution(self) -> DataResolution | None:
        return next((r for r in self.resolutions if not r.column), None)

    def cell_resolution(self, column: str) -> DataResolution | None:
        return next((r for r in self.resolutions if r.column == column), None)

    @property
    def cells(self) -> list[tuple]:
        """(column, base, source, target, conflicting, resolution) in the table's column order."""
        names = list((self.source or self.target or self.base or {}).keys())
        out = []
        for c in names:
            out.append((c, (self.base or {}).get(c), (self.source or {}).get(c), (self.target or {}).get(c),
                        c in self.columns, self.cell_resolution(c)))
        return out


@dataclass
class DataPlan:
    """A request's data merge as it stands: the conflicts (each with the resolutions in force),
    the resolutions to give the engine, the stored ones no longer in force (their conflict
    changed or went away), and the constraint violations the merged rows would cause
    (``violations``: table_identity and PostgreSQL's message; read only when asked and no
    conflict is open). ``target_checked_out``: the engine merges data into the checked-out
    tables only, so the request's target must be the checked-out branch (``current``)."""

    conflicts: list[DataConflict]
    resolutions: list[dict]
    stale: list[DataResolution]
    target_checked_out: bool
    current: str
    violations: list[dict] = field(default_factory=list)

    @property
    def open_conflicts(self) -> list[DataConflict]:
        return [c for c in self.conflicts if c.open]


def _table_identity(name: str) -> str:
    name = (name or "").strip()
    return name if name.startswith("table ") else f"table {name}"


def _key_text(key) -> str:
    import json

    return json.dumps(key, sort_keys=True, ensure_ascii=False)


def _data_plan(client, mr: MergeRequest, check_constraints: bool = False) -> DataPlan:
    """The data merge of ``mr`` (whose source is a data branch) as the engine sees it now, with
    the request's stored resolutions matched to the conflicts they resolve (reads only)."""
    raw = [r for r in client.data_merge_preview(mr.source) if r["action"] == "conflict"]
    by_key = {(r["table_identity"], _key_text(r["key"])): r for r in raw}
    conflicts = {k: DataConflict(r["table_identity"], r["key"], r["conflict"], list(r["columns"] or []),
                                 r["base"], r["source"], r["target"]) for k, r in by_key.items()}
    stale: list[DataResolution] = []
    latest: dict[tuple, DataResolution] = {}
    for res in mr.data_resolutions.filter(dismissed=False).select_related("resolved_by").order_by("created_at", "id"):
        latest[(res.table_identity, _key_text(res.key), res.column)] = res
    for (table, key, column), res in latest.items():
        found = conflicts.get((table, key))
        if found is None:
            stale.append(res)
            res.stale_reason = "the conflict is gone"
        elif res.source_row != found.source or res.target_row != found.target:
            stale.append(res)
            res.stale_reason = "the rows changed since it was resolved"
        else:
            found.resolutions.append(res)
    resolutions = [res.as_engine() for c in conflicts.values() for res in c.resolutions]
    if resolutions:
        left = {(r["table_identity"], _key_text(r["key"]))
                for r in client.data_merge_preview(mr.source, resolutions) if r["action"] == "conflict"}
        for k, c in conflicts.items():
            c.open = k in left
    current = client.current_branch()
    plan = DataPlan(sorted(conflicts.values(), key=lambda c: (c.table_identity, _key_text(c.key))), resolutions,
                    stale, current == mr.target, current)
    if check_constraints and not plan.open_conflicts:
        plan.violations = [{"table_identity": r["table_identity"], "message": r["conflict"]}
                           for r in client.data_merge_check(mr.source, resolutions) if r["key"] is None]
    return plan


def _data_merge_plan(client, mr: MergeRequest) -> DataPlan | None:
    """For a merge: None when the source carries no data; else its plan, after the stored
    resolutions no longer in force are dismissed. Refused when the target is not the
    checked-out branch (the engine merges data into the checked-out tables only)."""
    if not client.is_data_branch(mr.source):
        return None
    plan = _data_plan(client, mr)
    if not plan.target_checked_out:
        raise Conflict(f"{mr.source} carries data, which merges into the checked-out branch only: {mr.target} is "
                       f"not checked out ({plan.current} is). Check out {mr.target} to merge this request.",
                       code="data_target_not_checked_out")
    _dismiss_stale(plan)
    return plan


def _dismiss_stale(plan: DataPlan) -> None:
    for res in plan.stale:
        DataResolution.objects.filter(pk=res.pk, dismissed=False).update(
            dismissed=True, dismissed_reason=getattr(res, "stale_reason", "no longer in force"))


def data_stop_message(rows: list[dict]) -> str:
    """What stopped a data merge, from ``merge_data``'s ``conflicts`` rows."""
    if not rows:
        return ""
    violations = [r for r in rows if r.get("key") is None]
    if violations:
        return f"The data merge was rolled back with the schema merge: {violations[0]['conflict']}"
    keys = ", ".join(f"{r['table_identity']} {_key_text(r['key'])}" for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
    return f"The data merge was rolled back with the schema merge: {len(rows)} row(s) need a resolution: {keys}"


def _data_extra(row: dict) -> dict:
    """For the merged event: the data merge's counts per table (none without data)."""
    merged = {r["table_identity"]: r["counts"] for r in row.get("data") or [] if r["status"] == "merged"}
    return {"data": merged} if merged else {}


def read_data_conflicts(user, mr: MergeRequest, check_constraints: bool = True) -> DataPlan | None:
    """The data conflicts of the request and their resolutions, or None when its source carries
    no data. Who may resolve them reads them (as the schema conflicts). Reads only."""
    check_can_resolve(user, mr)
    _check_open(mr)
    with engine_errors(), client_for(mr.repository) as client:
        source_head(client, mr)
        if not client.is_data_branch(mr.source):
            return None
        return _data_plan(client, mr, check_constraints=check_constraints)


def resolve_data(user, mr: MergeRequest, table: str, key: dict, take: str, column: str = "",
                 value=None) -> DataResolution:
    """Resolve a data conflict of the request: the whole row (``column`` empty) or one cell,
    taking the ``source``, ``target`` or ``base`` value, or a typed ``value`` (a cell only; the
    engine casts it by the column's type, None is NULL). The engine checks it (a value that does
    not cast is ``Rejected`` with PostgreSQL's message). It replaces the request's earlier
    resolutions of the same row or cell (a row's replaces its cells' and the reverse). Stored
    with both sides' rows as they are: when either changes, it is dismissed. Merging is not
    attempted here: the merge applies the stored resolutions. Runs under the request's row
    lock, so two people resolving the same cell at once leave one resolution in force."""
    check_can_resolve(user, mr)
    _check_open(mr)
    if take not in DataResolution.Take.values:
        raise ActionError(f"unknown resolution {take!r}; use source, target, base or value", code="invalid_resolution")
    column = (column or "").strip()
    if take == DataResolution.Take.VALUE and not column:
        raise ActionError("a typed value resolves one cell: name its column", code="invalid_resolution")
    if not isinstance(key, dict) or not key:
        raise ActionError("the key is the row's primary key as an object, e.g. {\"id\": 3}", code="invalid_resolution")
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ActionError("a typed value is a string, a number, a boolean or null", code="invalid_resolution")
    table = _table_identity(table)
    with transaction.atomic():
        mr = _lock(mr)
        _check_open(mr)
        with engine_errors(), client_for(mr.repository, user) as client:
            source_head(client, mr)
            if not client.is_data_branch(mr.source):
                raise Conflict(f"{mr.source} carries no data", code="no_data")
            rows = [r for r in client.data_merge_preview(mr.source) if r["action"] == "conflict"
                    and r["table_identity"] == table and _key_text(r["key"]) == _key_text(key)]
            if not rows:
                raise NotFound(f"{table} {_key_text(key)} is not a data conflict of this request", code="not_in_merge")
            found = rows[0]
            if column and column not in (found["source"] or found["target"] or found["base"] or {}):
                raise ActionError(f"{table} has no column {column!r}", code="invalid_resolution")
            engine = {"table": table, "key": key, "take": take}
            if column:
                engine["column"] = column
            if take == DataResolution.Take.VALUE:
                engine["value"] = value
            client.data_merge_preview(mr.source, [engine])  # the engine refuses what it cannot apply
        replaced = mr.data_resolutions.filter(dismissed=False, table_identity=table, key=key)
        if column:
            replaced = replaced.filter(models.Q(column=column) | models.Q(column=""))
        replaced.update(dismissed=True, dismissed_reason="replaced by a later resolution")
        res = DataResolution.objects.create(
            merge_request=mr, table_identity=table, key=key, column=column, take=take,
            value=value if take == DataResolution.Take.VALUE else None,
            source_row=found["source"], target_row=found["target"], resolved_by=user)
        mr.merge_error = ""
        mr.save(update_fields=["merge_error", "updated_at"])
        record_merge_request(EventKind.CONFLICT_RESOLVED, mr, user, identity=table, key=key, column=column,
                             resolution=take, data=True)
    return res


def remove_data_resolution(user, mr: MergeRequest, resolution_id: int) -> DataResolution:
    """Take back a data resolution in force: its conflict is open again (the row is kept,
    dismissed, for the timeline)."""
    check_can_resolve(user, mr)
    _check_open(mr)
    with transaction.atomic():
        mr = _lock(mr)
        try:
            res = mr.data_resolutions.get(pk=resolution_id, dismissed=False)
        except DataResolution.DoesNotExist:
            raise NotFound(f"merge request !{mr.number} has no data resolution {resolution_id} in force",
                           code="not_found") from None
        res.dismissed, res.dismissed_reason, res.removed_by = True, f"removed by {user.get_username()}", user
        res.save(update_fields=["dismissed", "dismissed_reason", "removed_by"])
    return res
