"""Merge request pages: list, open, conversation, commits, changes, migration, conflicts.

Views parse the request, call one function of ``merges.actions`` (which authorizes and changes
state) and render; reads of the engine for the Commits and Changes tabs are the small helpers
below. POSTs redirect back (PRG) with a message. ``PermissionDenied`` stays a 403 and an
outsider gets a 404 (from the actions); an ``ActionError`` becomes a message on the page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from branches.access import has_role, merge_role_for, repository_for, role_of
from branches.actions import client_for
from branches.engine import Count, ahead_behind
from branches.models import Role
from branches.render import highlight_sql, marked_lines, side_by_side
from merges import actions
from merges.forms import CommentForm, EditForm, MergeForm, MergeRequestForm, ResolveForm, ReviewForm
from merges.models import MergeRequest, Review
from pggit_web.errors import ActionError, NotFound, Rejected, engine_errors

State = MergeRequest.State
CHANGES_PER_PAGE = 25
COMMITS_LIMIT = 250
LIST_PER_PAGE = 25
FILTERS = {
    "open": list(actions.OPEN_STATES),
    "merged": [State.MERGED],
    "closed": [State.CLOSED],
    "all": None,
}


# helpers -----------------------------------------------------------------------------------

# Statements of a migration shown colored on the Migration tab; the whole script is a download.
MIGRATION_SHOWN = 200


def _get(request, slug: str, number: int, role: Role = Role.VIEWER) -> MergeRequest:
    """The request, or 404 (outsider, unknown repository or number); 403 below ``role``."""
    try:
        return actions.get_merge_request(request.user, slug, number, role)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def _error(request, exc: ActionError) -> None:
    messages.error(request, str(exc))


def _back(mr: MergeRequest, tab: str = "detail", **query) -> str:
    url = reverse(f"merges:{tab}", kwargs={"slug": mr.repository.slug, "number": mr.number})
    if query:
        url += "?" + urlencode(query)
    return url


def anchor_for(identity: str) -> str:
    """A stable HTML id for an object on the Changes page."""
    return "obj-" + hashlib.sha1(identity.encode()).hexdigest()[:12]


@dataclass
class Sides:
    """The two commits a request compares: the branch heads, or for a merged request the heads
    the engine merged (so its tabs still show what was merged)."""

    source: str
    target: str
    base: str | None
    ahead: Count = field(default_factory=lambda: Count(0))


def _sides(client, mr: MergeRequest) -> Sides:
    source = target = None
    if mr.state == State.MERGED and mr.merge_commit:
        row = client.merge_for_commit(mr.merge_commit)
        if row:
            source, target = row["source_commit"], row["target_commit"]
    if source is None:
        source, target = client.resolve(mr.source), client.resolve(mr.target)
    base = client.find_merge_base(source, target)
    ahead, _behind = ahead_behind(client, source, target)
    return Sides(source, target, base, ahead)


def _changes_count(client, sides: Sides) -> int:
    row = client.conn.execute("SELECT count(*) AS n FROM pggit.diff(%s, %s)",
                              (sides.base or sides.target, sides.source)).fetchone()
    return row["n"]


def _context(request, mr: MergeRequest, tab: str, client=None, **extra) -> dict:
    """What every tab shows: the header (state, counts) and the user's role."""
    role = role_of(request.user, mr.repository)
    context = {
        "repo": mr.repository, "mr": mr, "tab": "merges", "mr_tab": tab, "role": role, "Role": Role,
        "is_developer": role is not None and role >= Role.DEVELOPER,
        "is_maintainer": role is not None and role >= Role.MAINTAINER,
        "conversation_count": mr.comments.filter(object_identity="").count()
        + mr.reviews.exclude(verdict=Review.Verdict.COMMENT, body="").count(),
        **extra,
    }
    if client is not None:
        try:
            with engine_errors():
                sides = _sides(client, mr)
                context.update(sides=sides, commits_count=sides.ahead)
                if tab != "changes":  # that tab reads the whole diff and counts it itself
                    context["changes_count"] = _changes_count(client, sides)
        except ActionError as exc:
            context["engine_error"] = exc
    return context


def _render_tab(request, mr, tab, template, reader):
    """Render one tab whose engine reads are ``reader(client, sides) -> dict`` (a ``download``
    key makes the response that text as a .sql attachment)."""
    with client_for(mr.repository) as client:
        context = _context(request, mr, tab, client)
        status = 200
        if "sides" in context:
            try:
                with engine_errors():
                    read = reader(client, context["sides"])
                if "download" in read:
                    response = HttpResponse(read["download"], content_type="text/plain; charset=utf-8")
                    response["Content-Disposition"] = (
                        f'attachment; filename="merge-request-{mr.number}-{tab}.sql"')
                    return response
                context.update(read)
            except ActionError as exc:
                context["error"] = exc
                status = exc.status
        else:
            context["error"] = context.get("engine_error")
            status = context["error"].status if context["error"] else 200
    return render(request, template, context, status=status)


# list and new ------------------------------------------------------------------------------

def merge_request_list(request, slug):
    repo = repository_for(request.user, slug)
    state = request.GET.get("state", "open")
    if state not in FILTERS:
        state = "open"
    base = MergeRequest.objects.filter(repository=repo)
    counts = {name: (base.filter(state__in=states) if states else base).count() for name, states in FILTERS.items()}
    qs = base.filter(state__in=FILTERS[state]) if FILTERS[state] else base
    page = Paginator(qs.select_related("author").order_by("-number"), LIST_PER_PAGE).get_page(_page_number(request))
    rows = []
    for mr in page:
        mr.repository = repo
        rows.append({"mr": mr, "approvals": actions.approvals(mr)})
    role = role_of(request.user, repo)
    return render(request, "merges/list.html", {
        "repo": repo, "tab": "merges", "role": role, "is_developer": role >= Role.DEVELOPER, "state": state,
        "counts": counts, "rows": rows, "page": page})


def merge_request_new(request, slug):
    repo = repository_for(request.user, slug)
    actions.check_can_open(request.user, repo)
    role = role_of(request.user, repo)
    context = {"repo": repo, "tab": "merges", "role": role, "is_developer": True}
    if request.method == "POST":
        form = MergeRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                mr = actions.open_merge_request(request.user, repo, source=data["source"], target=data["target"],
                                                title=data["title"], description=data["description"],
                                                draft=data["draft"], strategy=data["strategy"])
            except ActionError as exc:
                context["error"] = exc
            else:
                messages.success(request, f"Opened merge request !{mr.number}.")
                return redirect(mr)
    else:
        form = MergeRequestForm(initial={"source": request.GET.get("source", ""),
                                         "target": request.GET.get("target") or repo.default_branch})
    source = (form.data.get("source") if form.is_bound else form.initial.get("source")) or ""
    target = (form.data.get("target") if form.is_bound else form.initial.get("target")) or ""
    context.update(form=form, **_new_preview(repo, source, target))
    status = context["error"].status if context.get("error") else (400 if form.is_bound else 200)
    return render(request, "merges/new.html", context, status=status)


def _new_preview(repo, source: str, target: str, limit: int = 200) -> dict:
    """Branch names for the form, and (both branches given) what the request would bring in."""
    out: dict = {"branch_names": []}
    try:
        with engine_errors(), client_for(repo) as client:
            names = [b["name"] for b in client.branches()]
            out["branch_names"] = names
            if source in names and target in names and source != target:
                src, tgt = client.resolve(source), client.resolve(target)
                base = client.find_merge_base(src, tgt)
                rows = client.conn.execute(
                    "SELECT identity, kind, change FROM pggit.diff(%s, %s)", (base or tgt, src)).fetchall()
                out.update(compare_rows=rows[:limit], compare_total=len(rows),
                           compare_commits=ahead_behind(client, src, tgt)[0])
    except ActionError as exc:
        out["preview_error"] = exc
    return out


# the request's tabs ------------------------------------------------------------------------

def detail(request, slug, number):
    """Conversation: description, timeline, review and comment forms, and the merge box."""
    mr = _get(request, slug, number)
    try:
        mr = actions.sync(mr)
    except ActionError as exc:
        messages.error(request, str(exc))
    with client_for(mr.repository) as client:
        context = _context(request, mr, "conversation", client)
        if not mr.is_closed:
            try:  # computing a preview can take a while on a big repository: then it loads after the page
                context["preview"] = actions.preview(mr, client, cached_only=True)
                context["preview_pending"] = context["preview"] is None
            except ActionError as exc:
                context["preview_error"] = exc
    user = request.user
    status = actions.approvals(mr)
    merge_role = merge_role_for(mr.repository, mr.target)
    try:
        actions.check_can_merge(user, mr)
        can_merge, merge_blocked = True, ""
    except (PermissionDenied, ActionError) as exc:
        can_merge, merge_blocked = False, getattr(exc, "message", None) or str(exc)
    is_author = user.pk == mr.author_id
    preview = context.get("preview")
    context.update(
        approvals=status,
        timeline=_timeline(mr),
        comment_form=CommentForm(),
        review_form=ReviewForm(),
        can_review=has_role(user, mr.repository, Role.REVIEWER) and not mr.is_closed,
        can_approve=has_role(user, mr.repository, Role.REVIEWER) and (status.self_approval_allowed or not is_author),
        can_edit=is_author or has_role(user, mr.repository, Role.MAINTAINER),
        has_merge_role=has_role(user, mr.repository, merge_role),
        merge_role=merge_role,
        can_resolve=actions.can_resolve(user, mr),
        can_merge=can_merge,
        merge_blocked=merge_blocked,
        show_force=bool(request.GET.get("refused")) or bool(
            mr.merge_error and preview and any(w.loses_data for w in preview.warnings)),
        merge_form=MergeForm(initial={"strategy": mr.strategy}),
        edit_form=EditForm(initial={"title": mr.title, "description": mr.description, "strategy": mr.strategy}),
        commit_url=_commit_url(mr.repository.slug, mr.merge_commit) if mr.merge_commit else "",
    )
    return render(request, "merges/detail.html", context)


def preview_fragment(request, slug, number):
    """The merge box's conflicts line and the sidebar's risky steps and conflicts, for the
    conversation page to load after it rendered (htmx; the sidebar part is an out-of-band swap)."""
    mr = _get(request, slug, number)
    context = {"repo": mr.repository, "mr": mr}
    if not mr.is_closed:
        try:
            context["preview"] = actions.preview(mr)
        except ActionError as exc:
            context["preview_error"] = exc
    context["can_resolve"] = actions.can_resolve(request.user, mr)
    return render(request, "merges/_preview_fragment.html", context)


def _commit_url(slug: str, commit_id: str) -> str:
    try:
        return reverse("branches:commit_detail", kwargs={"slug": slug, "commit_id": commit_id})
    except NoReverseMatch:
        return ""


def _timeline(mr: MergeRequest) -> list[dict]:
    """Reviews, comments and the request's own events in time order."""
    events = [{"kind": "opened", "at": mr.created_at, "user": mr.author}]
    events += [{"kind": "review", "at": r.created_at, "user": r.reviewer, "review": r}
               for r in mr.reviews.select_related("reviewer")]
    events += [{"kind": "comment", "at": c.created_at, "user": c.author, "comment": c,
                "anchor": anchor_for(c.object_identity) if c.object_identity else ""}
               for c in mr.comments.select_related("author")]
    if mr.merged_at:
        events.append({"kind": "merged", "at": mr.merged_at, "user": mr.merged_by})
    if mr.state == State.CLOSED and mr.closed_at:
        events.append({"kind": "closed", "at": mr.closed_at, "user": None})
    return sorted(events, key=lambda e: e["at"])


def commits(request, slug, number):
    """The commits on the source that the target does not have, newest first."""
    mr = _get(request, slug, number)

    def read(client, sides: Sides) -> dict:
        log = client.log(sides.source, COMMITS_LIMIT + 1)
        reachable = set()
        if sides.base:
            reachable = {c["commit_id"] for c in client.log(sides.base, 2 * COMMITS_LIMIT + 2)}
        rows = [c for c in log if c["commit_id"] not in reachable]
        return {"commits": rows[:COMMITS_LIMIT], "commits_truncated": len(rows) > COMMITS_LIMIT}

    return _render_tab(request, mr, "commits", "merges/commits.html", read)


def changes(request, slug, number):
    """What the source changed since the merge base, 25 objects a page, each side by side with
    its comments. ``?object=<identity>`` opens the page holding that object."""
    mr = _get(request, slug, number)
    wanted = request.GET.get("object", "")

    def read(client, sides: Sides) -> dict:
        diff = client.diff(sides.base or sides.target, sides.source)
        counts = {"added": 0, "modified": 0, "deleted": 0}
        for d in diff:
            counts[d["change"]] = counts.get(d["change"], 0) + 1
        paginator = Paginator(diff, CHANGES_PER_PAGE, allow_empty_first_page=True)
        number = _page_number(request)
        if wanted:
            index = next((i for i, d in enumerate(diff) if d["identity"] == wanted), None)
            if index is not None:
                number = index // CHANGES_PER_PAGE + 1
        page = paginator.get_page(number)
        identities = [d["identity"] for d in page]
        by_object: dict[str, list] = {}
        for c in mr.comments.filter(object_identity__in=identities).select_related("author"):
            by_object.setdefault(c.object_identity, []).append(c)
        objects = [dict(d, anchor=anchor_for(d["identity"]), comments=by_object.get(d["identity"], []),
                        rows=side_by_side(d["old_definition"], d["new_definition"])) for d in page]
        index = [{"identity": d["identity"], "kind": d["kind"], "change": d["change"], "anchor": anchor_for(d["identity"]),
                  "page": i // CHANGES_PER_PAGE + 1} for i, d in enumerate(diff)]
        return {"objects": objects, "page": page, "counts": counts, "total": len(diff), "changes_count": len(diff), "index": index,
                "comment_form": CommentForm()}

    return _render_tab(request, mr, "changes", "merges/changes.html", read)


def migration(request, slug, number):
    """The SQL that merging would run on the target (for a merged request: what it ran)."""
    mr = _get(request, slug, number)

    def read(client, sides: Sides) -> dict:
        live = client.current_branch() == mr.target
        if mr.state == State.MERGED and mr.merge_commit:
            steps, preview = client.migration(sides.target, mr.merge_commit), None
        elif mr.is_closed:
            steps, preview = client.migration(sides.target, sides.source), None
        else:
            preview = actions.preview(mr, client)
            steps = preview.steps
        statements = [s.rstrip() if s.rstrip().endswith(";") else s.rstrip() + ";" for s in steps]
        if request.GET.get("format") == "sql":
            return {"download": "\n\n".join(statements) + "\n"}
        shown = "\n\n".join(statements[:MIGRATION_SHOWN])  # coloring is the slow part: the rest is a download
        return {"preview": preview, "steps": steps, "script": highlight_sql(shown) if steps else "", "live": live,
                "hidden": max(0, len(statements) - MIGRATION_SHOWN)}

    response = _render_tab(request, mr, "migration", "merges/migration.html", read)
    return response


# actions -----------------------------------------------------------------------------------

@require_POST
def comment(request, slug, number):
    mr = _get(request, slug, number)
    form = CommentForm(request.POST)
    identity = request.POST.get("object_identity", "").strip()
    if not form.is_valid():
        messages.error(request, "A comment needs some text.")
    else:
        try:
            actions.add_comment(request.user, mr, form.cleaned_data["body"], identity)
        except ActionError as exc:
            _error(request, exc)
        else:
            messages.success(request, "Comment added" + (f" on {identity}." if identity else "."))
    if identity:
        return redirect(_back(mr, "changes", object=identity) + "#" + anchor_for(identity))
    return redirect(_back(mr) + "#timeline-end")


@require_POST
def review(request, slug, number):
    mr = _get(request, slug, number)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a verdict: comment, approve or request changes.")
        return redirect(_back(mr))
    verdict, body = form.cleaned_data["verdict"], form.cleaned_data["body"]
    try:
        actions.review(request.user, mr, verdict, body)
    except ActionError as exc:
        _error(request, exc)
    else:
        mr.refresh_from_db()
        if mr.state == State.MERGED:
            messages.success(request, f"Approved; the automatic merge merged !{mr.number} into {mr.target}.")
        else:
            messages.success(request, {"approve": "Approved.", "request_changes": "Changes requested.",
                                       "comment": "Review submitted."}[verdict])
    return redirect(_back(mr))


@require_POST
def merge(request, slug, number):
    mr = _get(request, slug, number)
    form = MergeForm(request.POST)
    form.is_valid()
    strategy = form.cleaned_data.get("strategy") or None
    force = bool(form.cleaned_data.get("force"))
    try:
        outcome = actions.merge(request.user, mr, strategy=strategy, force=force)
    except ActionError as exc:
        _error(request, exc)
        return redirect(_back(mr))
    if outcome.status == "merged":
        messages.success(request, f"Merged !{mr.number} into {mr.target} as commit {outcome.commit[:12]}.")
    elif outcome.status == "conflicts":
        messages.warning(request, f"The merge stopped on conflicts: {outcome.message}")
        return redirect(_back(mr, "conflicts"))
    elif outcome.status == "refused":
        messages.error(request, f"The merge was refused: {outcome.message} Check \"force\" to merge anyway.")
        return redirect(_back(mr, refused=1) + "#merge-box")
    else:
        messages.info(request, outcome.message or outcome.status)
    return redirect(_back(mr))


def _run(request, mr: MergeRequest, action, done: str):
    """Call ``action()`` (a merges.actions call for this request); report ``done`` or the
    refusal as a message, and go back to the conversation (post/redirect/get)."""
    try:
        action()
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect(_back(mr))


@require_POST
def close(request, slug, number):
    mr = _get(request, slug, number)
    return _run(request, mr, lambda: actions.close(request.user, mr), f"Closed !{mr.number}.")


@require_POST
def reopen(request, slug, number):
    mr = _get(request, slug, number)
    return _run(request, mr, lambda: actions.reopen(request.user, mr), f"Reopened !{mr.number}.")


@require_POST
def edit(request, slug, number):
    mr = _get(request, slug, number)
    form = EditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A merge request needs a title (and a known strategy).")
        return redirect(_back(mr))
    return _run(request, mr, lambda: actions.edit(request.user, mr, **form.cleaned_data), "Saved.")


@require_POST
def draft(request, slug, number):
    mr = _get(request, slug, number)
    to_draft = request.POST.get("draft") == "1"
    return _run(request, mr, lambda: actions.edit(request.user, mr, draft=to_draft),
                "Marked as draft." if to_draft else "Marked as ready for review.")


@require_POST
def auto_merge(request, slug, number):
    mr = _get(request, slug, number)
    enabled = request.POST.get("enabled") == "1"
    strategy = request.POST.get("strategy") or None
    try:
        mr = actions.set_auto_merge(request.user, mr, enabled, strategy)
    except ActionError as exc:
        _error(request, exc)
        return redirect(_back(mr))
    mr.refresh_from_db()
    if mr.state == State.MERGED:
        messages.success(request, f"Merged !{mr.number} into {mr.target}.")
    elif enabled:
        messages.success(request, "It merges automatically once the required approvals are in.")
    else:
        messages.success(request, "Automatic merge is off.")
    return redirect(_back(mr))


@require_POST
def abort(request, slug, number):
    mr = _get(request, slug, number)
    return _run(request, mr, lambda: actions.abort(request.user, mr),
                "The merge in progress was aborted; resolutions are kept for the next attempt.")


# conflicts ---------------------------------------------------------------------------------

def conflicts(request, slug, number):
    """One conflicting object at a time: base, source and target side by side, and the result
    to edit. POST resolves it (see ``resolve``)."""
    mr = _get(request, slug, number)
    if request.method == "POST":
        return resolve(request, slug, number, mr=mr)
    try:
        found = actions.read_conflicts(request.user, mr)  # a GET runs nothing
    except ActionError as exc:
        messages.error(request, str(exc))
        return redirect(_back(mr))
    if found is None:
        messages.info(request, "No merge is in progress: press 'Resolve conflicts' to start one.")
        return redirect(_back(mr))
    open_items, items = found
    return _render_conflicts(request, mr, open_items, items, request.GET.get("object", ""))


@require_POST
def conflicts_open(request, slug, number):
    """Open the request's engine merge (its earlier resolutions applied again), then show it."""
    mr = _get(request, slug, number)
    try:
        actions.open_conflicts(request.user, mr)
    except ActionError as exc:
        (messages.info if exc.code == "no_conflicts" else messages.error)(request, str(exc))
        return redirect(_back(mr))
    return redirect(_back(mr, "conflicts"))


def _render_conflicts(request, mr, open_items, items, identity, *, error=None, result=None, status=200):
    mr.refresh_from_db()
    item = (next((i for i in items if i["identity"] == identity), None)
            or (open_items[0] if open_items else None) or (items[0] if items else None))
    context = _context(request, mr, "conflicts", items=items, open_items=open_items, item=item, error=error)
    if item is not None:
        position = items.index(item)
        if result is None:
            if item["resolution"] is not None:
                result = item["result_definition"] or ""
            elif mr.strategy == "target_wins":
                result = item["target_definition"] or ""
            else:
                result = item["source_definition"] or ""
        context.update(
            position=position + 1,
            previous=items[position - 1]["identity"] if position > 0 else None,
            next=items[position + 1]["identity"] if position + 1 < len(items) else None,
            base_lines=marked_lines(item["base_definition"], item["base_definition"]),
            source_lines=marked_lines(item["base_definition"], item["source_definition"]),
            target_lines=marked_lines(item["base_definition"], item["target_definition"]),
            form=ResolveForm(initial={"object": item["identity"], "result": result}),
            can_merge_role=has_role(request.user, mr.repository, merge_role_for(mr.repository, mr.target)),
        )
    return render(request, "merges/conflicts.html", context, status=status)


@require_POST
def resolve(request, slug, number, mr=None):
    mr = mr or _get(request, slug, number)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which object to resolve.")
        return redirect(_back(mr, "conflicts"))
    identity, result = form.cleaned_data["object"], form.cleaned_data["result"]
    choice, force = form.cleaned_data["choice"] or None, form.cleaned_data["force"]
    try:
        outcome = actions.resolve(request.user, mr, identity, result, choice, force=force)
    except Rejected as exc:
        try:
            open_items, items = actions.open_conflicts(request.user, mr)
        except ActionError as again:
            _error(request, again)
            return redirect(_back(mr))
        return _render_conflicts(request, mr, open_items, items, identity, error=exc, result=result, status=exc.status)
    except ActionError as exc:
        _error(request, exc)
        return redirect(_back(mr, "conflicts", object=identity))
    mr.refresh_from_db()
    if outcome.status == "merged":
        messages.success(request, f"All conflicts resolved: merged !{mr.number} into {mr.target} as commit "
                                  f"{outcome.commit[:12]}.")
        return redirect(_back(mr))
    if outcome.status == "ready":
        messages.success(request, "All conflicts resolved; merge when approved.")
        return redirect(_back(mr))
    if outcome.status == "refused":
        messages.error(request, f"All conflicts resolved, but the merge was refused: {outcome.message}")
        return redirect(_back(mr, refused=1) + "#merge-box")
    messages.success(request, f"Resolved {identity}.")
    remaining = [i["identity"] for i in outcome.conflicts]
    if not remaining:
        return redirect(_back(mr))
    return redirect(_back(mr, "conflicts", object=remaining[0]))
