"""Merge request pages: list, open, conversation, commits, changes, migration, conflicts.

Views parse the request, call one function of ``merges.actions`` (which authorizes and changes
state) or of ``merges.reads`` (what a page shows, the same functions the REST API calls) and
render. POSTs redirect back (PRG) with a message. ``PermissionDenied`` stays a 403 and an
outsider gets a 404 (from the actions); an ``ActionError`` becomes a message on the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from branches.access import has_role, merge_role_for, repository_for, role_of
from branches.actions import client_for
from branches.models import Role
from branches.render import highlight_sql, marked_lines
from merges import actions, reads
from merges.forms import (CommentForm, DataResolveForm, EditForm, MergeForm, MergeRequestForm, ResolveForm,
                          RetargetForm, ReviewForm)
from merges.models import MergeRequest
from merges.reads import anchor_for
from pggit_web.errors import ActionError, NotFound, Rejected

State = MergeRequest.State
# Statements of a migration shown colored on the Migration tab; the whole script is a download.
MIGRATION_SHOWN = 200


# helpers -----------------------------------------------------------------------------------

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


def _context(request, mr: MergeRequest, tab: str, client=None, conflicts: int | None = None, **extra) -> dict:
    """What every tab shows: the header (state, counts) and the user's role (``conflicts``: the
    open conflicts, when the page read them)."""
    head = reads.header(request.user, mr, client, count_changes=tab != "changes",  # that tab counts its own
                        conflicts=conflicts)
    context = {
        "repo": mr.repository, "mr": mr, "tab": "merges", "mr_tab": tab, "role": head.role, "Role": Role,
        "is_developer": head.role is not None and head.role >= Role.DEVELOPER,
        "is_maintainer": head.role is not None and head.role >= Role.MAINTAINER,
        "can_edit": request.user.pk == mr.author_id or (head.role is not None and head.role >= Role.MAINTAINER),
        "conversation_count": head.conversation_count, "header": head,
        **extra,
    }
    if head.sides is not None:
        context.update(sides=head.sides, commits_count=head.commits_count)
    if head.changes_count is not None:
        context["changes_count"] = head.changes_count
    if head.engine_error is not None:
        context["engine_error"] = head.engine_error
    return context


def head_role_at_least(context: dict, role: Role) -> bool:
    return context.get("role") is not None and context["role"] >= role


def _render_tab(request, mr, tab, template, read):
    """Render one tab whose engine reads are ``read(client, sides) -> dict`` (a ``download``
    key makes the response that text as a .sql attachment)."""
    with client_for(mr.repository) as client:
        context = _context(request, mr, tab, client)
        status = 200
        if "sides" in context:
            try:
                found = read(client, context["sides"])
                if "download" in found:
                    response = HttpResponse(found["download"], content_type="text/plain; charset=utf-8")
                    response["Content-Disposition"] = (
                        f'attachment; filename="merge-request-{mr.number}-{tab}.sql"')
                    return response
                context.update(found)
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
    filters = reads.ListFilters.from_query(request.GET)
    found = reads.list_merge_requests(repo, filters, _page_number(request))
    role = role_of(request.user, repo)
    return render(request, "merges/list.html", {
        "repo": repo, "tab": "merges", "role": role, "is_developer": role >= Role.DEVELOPER,
        "is_maintainer": role >= Role.MAINTAINER, "state": found.state, "filters": found.filters,
        "labels": found.labels, "people": found.people,
        "counts": found.counts, "rows": found.rows, "page": found.page})


def search(request, slug):
    """A repository's search: merge requests, commits and objects (``reads.search``)."""
    repo = repository_for(request.user, slug)
    found = reads.search(repo, request.GET.get("q", ""))
    role = role_of(request.user, repo)
    return render(request, "merges/search.html", {
        "repo": repo, "tab": "search", "role": role, "is_developer": role >= Role.DEVELOPER,
        "is_maintainer": role >= Role.MAINTAINER, "results": found, "q": found.query})


def profile(request):
    """The signed-in user's page: their open requests, reviews asked of them, their activity."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    return render(request, "merges/profile.html", {"profile": reads.profile(request.user)})


def merge_request_new(request, slug):
    repo = repository_for(request.user, slug)
    actions.check_can_open(request.user, repo)
    role = role_of(request.user, repo)
    context = {"repo": repo, "tab": "merges", "role": role, "is_developer": True,
               "is_maintainer": role >= Role.MAINTAINER}
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
    preview = reads.new_preview(repo, source, target)
    context.update(form=form, branch_names=preview.branch_names)
    if preview.compare_rows is not None:
        context.update(compare_rows=preview.compare_rows, compare_total=preview.compare_total,
                       compare_commits=preview.compare_commits)
    if preview.preview_error is not None:
        context["preview_error"] = preview.preview_error
    status = context["error"].status if context.get("error") else (400 if form.is_bound else 200)
    return render(request, "merges/new.html", context, status=status)


# the request's tabs ------------------------------------------------------------------------

def detail(request, slug, number):
    """Conversation: description, timeline, review and comment forms, and the merge box."""
    mr = _get(request, slug, number)
    with client_for(mr.repository) as client:  # one connection for the reconciliation and the reads
        try:
            mr = actions.sync(mr, client)
        except ActionError as exc:
            messages.error(request, str(exc))
        context = _context(request, mr, "conversation", client)
        # computing a preview can take a while on a big repository: then it loads after the page,
        # unless a merge was just refused (the box then names the data it would lose)
        box = reads.merge_box(request.user, mr, client, cached_only=not request.GET.get("refused"))
        timeline = reads.timeline(mr, client)
        try:
            data_plan = reads.data_plan(client, mr)
        except ActionError as exc:
            data_plan = None
            context.setdefault("engine_error", exc)
    if not mr.is_closed:
        if box.preview_error is not None:
            context["preview_error"] = box.preview_error
        else:
            context.update(preview=box.preview, preview_pending=box.preview_pending)
    context.update(
        approvals=box.approvals,
        timeline=timeline,
        comment_form=CommentForm(),
        review_form=ReviewForm(),
        can_review=box.can_review,
        can_approve=box.can_approve,
        can_edit=box.can_edit,
        review_requests=reads.review_requests(mr),
        labels=list(mr.labels.all()),
        assignees=list(mr.assignees.order_by("username")),
        can_triage=head_role_at_least(context, Role.DEVELOPER),
        repo_labels=reads.labels(mr.repository) if head_role_at_least(context, Role.DEVELOPER) else [],
        repo_members=reads.members(mr.repository) if head_role_at_least(context, Role.DEVELOPER) else [],
        reviewer_candidates=reads.reviewer_candidates(mr) if box.can_edit and not mr.is_closed else [],
        has_merge_role=box.has_merge_role,
        merge_role=box.merge_role,
        can_resolve=box.can_resolve,
        can_merge=box.can_merge,
        merge_blocked=box.merge_blocked,
        show_force=bool(request.GET.get("refused")) or bool(mr.merge_error and box.suggests_force),
        merge_form=MergeForm(initial={"strategy": mr.strategy}),
        edit_form=EditForm(initial={"title": mr.title, "description": mr.description, "strategy": mr.strategy,
                                     "target": mr.target}),
        commit_url=_commit_url(mr.repository.slug, mr.merge_commit) if mr.merge_commit else "",
        data_plan=data_plan,
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


def commits(request, slug, number):
    """The commits on the source that the target does not have, newest first."""
    mr = _get(request, slug, number)

    def read(client, sides) -> dict:
        tab = reads.commits(client, sides)
        return {"commits": tab.commits, "commits_truncated": tab.truncated}

    return _render_tab(request, mr, "commits", "merges/commits.html", read)


def changes(request, slug, number):
    """What the source changed since the merge base, 25 objects a page, each side by side with
    its comments. ``?object=<identity>`` opens the page holding that object."""
    mr = _get(request, slug, number)

    def read(client, sides) -> dict:
        tab = reads.changes(client, mr, sides, _page_number(request), request.GET.get("object", ""))
        return {"objects": tab.objects, "page": tab.page, "counts": tab.counts, "total": tab.total,
                "changes_count": tab.total, "index": tab.index, "comment_form": CommentForm(),
                "resolutions": tab.resolutions, "data_changes": reads.data_changes(client, mr),
                "can_apply_suggestions": actions.can_apply_suggestion(request.user, mr)}

    return _render_tab(request, mr, "changes", "merges/changes.html", read)


def migration(request, slug, number):
    """The SQL that merging would run on the target (for a merged request: what it ran)."""
    mr = _get(request, slug, number)

    def read(client, sides) -> dict:
        tab = reads.migration(client, mr, sides)
        if request.GET.get("format") == "sql":
            return {"download": tab.script}
        shown = "\n\n".join(tab.statements[:MIGRATION_SHOWN])  # coloring is the slow part: the rest is a download
        return {"preview": tab.preview, "steps": tab.steps, "script": highlight_sql(shown) if tab.steps else "",
                "live": tab.live, "hidden": max(0, len(tab.statements) - MIGRATION_SHOWN)}

    return _render_tab(request, mr, "migration", "merges/migration.html", read)


# actions -----------------------------------------------------------------------------------

@require_POST
def comment(request, slug, number):
    mr = _get(request, slug, number)
    form = CommentForm(request.POST)
    identity = request.POST.get("object_identity", "").strip()
    if not form.is_valid():
        messages.error(request, "A comment needs some text." if form.has_error("body") else
                       "A suggestion has at most 100,000 characters." if form.has_error("suggestion") else
                       "A line number is 1 or more.")
    else:
        data = form.cleaned_data
        try:
            made = actions.add_comment(request.user, mr, data["body"], identity, line=data["line"],
                                       parent_id=data["parent"], suggestion=data["suggestion"])
        except ActionError as exc:
            _error(request, exc)
        else:
            identity = made.object_identity
            messages.success(request, "Comment added" + (f" on {identity}" if identity else "")
                             + (f", line {made.line}." if made.line else "."))
            if made.line:
                return redirect(_back(mr, "changes", object=identity) + f"#thread-{made.parent_id or made.pk}")
    if identity:
        return redirect(_back(mr, "changes", object=identity) + "#" + anchor_for(identity))
    return redirect(_back(mr) + "#timeline-end")


@require_POST
def resolve_thread(request, slug, number, comment_id):
    """Resolve a line comment's thread, or open it again (``resolved=0``)."""
    mr = _get(request, slug, number)
    try:
        root = actions.set_thread_resolved(request.user, mr, comment_id, request.POST.get("resolved") != "0")
    except ActionError as exc:
        _error(request, exc)
        return redirect(_back(mr, "changes"))
    return redirect(_back(mr, "changes", object=root.object_identity) + f"#thread-{root.pk}")


@require_POST
def apply_suggestion(request, slug, number, comment_id):
    """Run a line comment's suggested SQL on the source branch as one commit."""
    mr = _get(request, slug, number)
    try:
        done = actions.apply_suggestion(request.user, mr, comment_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ActionError as exc:
        messages.error(request, f"The suggestion was not applied: {exc}")
        return redirect(_back(mr, "changes") + f"#thread-{comment_id}")
    messages.success(request, f"Applied the suggestion on {mr.source} as commit {done.suggestion_commit[:12]}.")
    return redirect(_back(mr, "changes", object=done.object_identity) + f"#thread-{done.pk}")


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
        messages.error(request, "The merge was refused: it would lose data. The merge box says which; "
                                "\"Merge anyway\" accepts the loss.")
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
def request_review(request, slug, number):
    """Ask a member for a review (the author or a maintainer)."""
    mr = _get(request, slug, number)
    username = request.POST.get("username", "").strip()
    return _run(request, mr, lambda: actions.request_review(request.user, mr, username),
                f"Asked {username} for a review.")


@require_POST
def remove_review_request(request, slug, number):
    mr = _get(request, slug, number)
    username = request.POST.get("username", "").strip()
    return _run(request, mr, lambda: actions.remove_review_request(request.user, mr, username),
                f"{username} is no longer asked for a review.")


@require_POST
def set_labels(request, slug, number):
    """The request's labels: the ticked ones (developers and above)."""
    mr = _get(request, slug, number)
    names = request.POST.getlist("label")
    return _run(request, mr, lambda: actions.set_labels(request.user, mr, names), "Labels saved.")


@require_POST
def set_assignees(request, slug, number):
    """The request's assignees: the ticked members (developers and above)."""
    mr = _get(request, slug, number)
    names = request.POST.getlist("assignee")
    return _run(request, mr, lambda: actions.set_assignees(request.user, mr, names), "Assignees saved.")


# labels of a repository (its settings page) ------------------------------------------------

def _settings_labels(repo) -> str:
    return reverse("branches:settings", kwargs={"slug": repo.slug}) + "#labels"


@require_POST
def label_create(request, slug):
    repo = repository_for(request.user, slug)
    actions.check_can_manage_labels(request.user, repo)
    name = request.POST.get("name", "")
    try:
        label = actions.create_label(request.user, repo, name, request.POST.get("color") or None,
                                     request.POST.get("description", ""))
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Label {label.name} added.")
    return redirect(_settings_labels(repo))


@require_POST
def label_edit(request, slug):
    """Change (``name``, ``new_name``, ``color``, ``description``) or delete (``delete``) a label."""
    repo = repository_for(request.user, slug)
    actions.check_can_manage_labels(request.user, repo)
    name = request.POST.get("name", "")
    try:
        if request.POST.get("delete"):
            actions.delete_label(request.user, repo, name)
            done = f"Label {name} deleted."
        else:
            label = actions.edit_label(request.user, repo, name, new_name=request.POST.get("new_name") or None,
                                       color=request.POST.get("color") or None,
                                       description=request.POST.get("description"))
            done = f"Label {label.name} saved."
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect(_settings_labels(repo))


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


@require_POST
def restore_branch(request, slug, number):
    """Create the deleted source branch again at the head the request last knew (``branch=target``:
    the deleted target, at the head the engine recorded)."""
    mr = _get(request, slug, number)
    which = "target" if request.POST.get("branch") == "target" else "source"
    name = mr.target if which == "target" else mr.source
    try:
        head = actions.restore_branch(request.user, mr, which)
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Restored branch {name} at {head[:12]}.")
    return redirect(_back(mr))


@require_POST
def retarget(request, slug, number):
    """Point the request at another target branch."""
    mr = _get(request, slug, number)
    form = RetargetForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the branch the changes should go into.")
        return redirect(_back(mr))
    target = form.cleaned_data["target"]
    return _run(request, mr, lambda: actions.retarget(request.user, mr, target),
                f"The request now targets {target}.")


# conflicts ---------------------------------------------------------------------------------

def conflicts(request, slug, number):
    """One conflicting object at a time: base, source and target side by side, and the result
    to edit. POST resolves it (see ``resolve``)."""
    mr = _get(request, slug, number)
    if request.method == "POST":
        return resolve(request, slug, number, mr=mr)
    try:
        found = reads.conflicts(request.user, mr, request.GET.get("object", ""))  # a GET runs nothing
    except ActionError as exc:
        messages.error(request, str(exc))
        return redirect(_back(mr))
    if found is None:
        if _carries_data(mr):
            return redirect(_back(mr, "data_conflicts"))
        messages.info(request, "No merge is in progress: press 'Resolve conflicts' to start one.")
        return redirect(_back(mr))
    return _render_conflicts(request, mr, found)


def _carries_data(mr: MergeRequest) -> bool:
    try:
        return reads.carries_data(mr)
    except ActionError:
        return False


def data_conflicts(request, slug, number):
    """The data conflicts of a request whose source is a data branch: each row with its base,
    source and target values side by side, resolved per row or per cell."""
    mr = _get(request, slug, number)
    try:
        plan = actions.read_data_conflicts(request.user, mr)
    except ActionError as exc:
        messages.error(request, str(exc))
        return redirect(_back(mr))
    if plan is None:
        messages.info(request, f"{mr.source} carries no data: there are no data conflicts.")
        return redirect(_back(mr))
    mr.refresh_from_db()
    context = _context(request, mr, "conflicts", conflicts=len(plan.open_conflicts), plan=plan,
                       open_items=plan.open_conflicts, data_tab=True, take_choices=DataResolveForm.TAKES)
    return render(request, "merges/data_conflicts.html", context)


@require_POST
def data_resolve(request, slug, number):
    """Resolve one row or one cell of a data conflict (the form of ``data_conflicts``)."""
    mr = _get(request, slug, number)
    form = DataResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which row (and cell) to resolve, and how: " + form.errors.as_text())
        return redirect(_back(mr, "data_conflicts"))
    d = form.cleaned_data
    try:
        res = actions.resolve_data(request.user, mr, d["table"], d["key"], d["take"], d["column"], form.typed_value())
    except ActionError as exc:
        _error(request, exc)
    else:
        where = f"{res.table_identity} {form.data['key']}" + (f", cell {res.column}" if res.column else "")
        messages.success(request, f"Resolved {where}.")
    return redirect(_back(mr, "data_conflicts"))


@require_POST
def data_unresolve(request, slug, number, resolution_id):
    mr = _get(request, slug, number)
    return _run_to(request, lambda: actions.remove_data_resolution(request.user, mr, resolution_id),
                   "The resolution was removed: the conflict is open again.", _back(mr, "data_conflicts"))


def _run_to(request, action, done: str, url: str):
    try:
        action()
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect(url)


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


def _render_conflicts(request, mr, found: reads.Conflicts, *, error=None, status=200):
    mr.refresh_from_db()
    item = found.item
    context = _context(request, mr, "conflicts", conflicts=len(found.open_items), items=found.items,
                       open_items=found.open_items, item=item, error=error, carries_data=_carries_data(mr))
    if item is not None:
        context.update(
            position=found.position,
            previous=found.previous,
            next=found.next,
            base_lines=marked_lines(item.base_definition, item.base_definition),
            source_lines=marked_lines(item.base_definition, item.source_definition),
            target_lines=marked_lines(item.base_definition, item.target_definition),
            form=ResolveForm(initial={"object": item.identity, "result": found.result}),
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
            found = reads.opened_conflicts(request.user, mr)
        except ActionError as again:
            _error(request, again)
            return redirect(_back(mr))
        return _render_conflicts(request, mr, reads.focus(mr, found, identity, result), error=exc, status=exc.status)
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
        messages.error(request, "All conflicts resolved, but the merge was refused: it would lose data. The merge box "
                                "says which; \"Merge anyway\" accepts the loss.")
        return redirect(_back(mr, refused=1) + "#merge-box")
    messages.success(request, f"Resolved {identity}.")
    remaining = [i["identity"] for i in outcome.conflicts]
    if not remaining:
        return redirect(_back(mr))
    return redirect(_back(mr, "conflicts", object=remaining[0]))
