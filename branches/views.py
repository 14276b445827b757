"""Repository, branch and history pages. Each view parses, authorizes (``branches.access`` or
the action itself), calls one function of ``branches.engine`` (reading) or ``branches.actions``
(changing), and renders. Errors of actions are shown on the page, never as a 500."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from branches import actions, engine, reads
from branches.access import check_role, repository_for, role_of, visible_repositories
from branches.forms import BranchForm, ConsoleForm, ConsoleRoleForm, MemberForm, ProtectionForm, RepositoryForm
from branches.models import Role, mask_dsn
from pggit_web.errors import ActionError

FORCE_CODES = {"data_loss_refused", "branch_not_merged"}
CONSOLE_REFUSALS = {"console_off", "console_role_refused"}
# Statements of a migration shown (coloured) on the compare page; the full script is a download.
MIGRATION_SHOWN = 200


def _page(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1


# What every "Check out" button asks first (the branches page and the dashboard alike).
CHECKOUT_QUESTION = "Check out this branch? The live database will be migrated to its head."


def _context(request, repo, tab: str, **extra) -> dict:
    role = role_of(request.user, repo)
    return {"repo": repo, "tab": tab, "role": role, "Role": Role, "checkout_question": CHECKOUT_QUESTION,
            "is_developer": role >= Role.DEVELOPER, "is_maintainer": role >= Role.MAINTAINER, **extra}


def _error_message(request, exc: ActionError) -> None:
    messages.error(request, str(exc))


def _confirm_force(request, repo, exc: ActionError, *, action: str, fields: dict, title: str, button: str,
                   **extra):
    """The engine refused because something would be lost: say what (a ``DataLoss`` names the
    data), and offer to force it. ``deleting``: the branch being deleted (the page names the open
    merge requests on it, from ``merges``)."""
    return render(request, "branches/confirm_force.html", _context(
        request, repo, "branches", error=exc, action=action, fields=fields, title=title, button=button, **extra),
        status=exc.status)


# repositories ------------------------------------------------------------------------------

def repository_list(request):
    try:
        actions.check_can_add_repository(request.user)
        can_add = True
    except PermissionDenied:
        can_add = False
    return render(request, "branches/repository_list.html",
                  {"repositories": visible_repositories(request.user), "can_add": can_add})


def repository_add(request):
    actions.check_can_add_repository(request.user)
    form = RepositoryForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            repo, version = actions.add_repository(
                request.user, name=data["name"], dsn=data["dsn"], description=data["description"],
                default_branch=data["default_branch"], install=data["install"])
        except ActionError as exc:
            error = exc
        else:
            note = f" with pgGit engine {version}" if version else ""
            messages.success(request, f"Added repository {repo.name}{note}.")
            return redirect(repo)
    status = error.status if error else (400 if form.is_bound else 200)
    typed = form.is_bound and (form.data.get("dsn") or "").strip()
    return render(request, "branches/repository_add.html",
                  {"form": form, "error": error, "typed_dsn": mask_dsn(typed) if typed else ""}, status=status)


@require_POST
def install_engine(request, slug):
    repo = repository_for(request.user, slug)
    try:
        version = actions.install_engine(request.user, repo)
    except ActionError as exc:
        _error_message(request, exc)
    else:
        messages.success(request, f"pgGit engine {version} is installed in {repo.name}.")
    return redirect(repo)


def dashboard(request, slug):
    repo = repository_for(request.user, slug)
    # the open merge requests' box is rendered by merges (its open_merge_requests_box tag)
    context = _context(request, repo, "overview", dsn=repo.masked_dsn)
    try:
        context["dashboard"] = engine.read_dashboard(repo)
    except engine.EngineUnavailable as e:
        context["error"] = str(e)
        return render(request, "branches/dashboard.html", context, status=503)
    return render(request, "branches/dashboard.html", context)


def drift(request, slug):
    """Objects changed on the live database behind the engine's back (``pggit.drift()``): a box
    the dashboard loads after the page (it describes every live object), or a page of its own."""
    repo = repository_for(request.user, slug)
    context = _context(request, repo, "overview")
    try:
        rows = reads.read_drift(repo)
    except ActionError as e:
        context["error"] = str(e)
    else:
        for row in rows:  # HEAD's definition left, the live one right
            row["rows"] = _rows(row["head_definition"], row["live_definition"])
        context["drift"] = rows
    template = "branches/_drift.html" if request.headers.get("HX-Request") else "branches/drift.html"
    return render(request, template, context)


@require_POST
def drift_record(request, slug):
    repo = repository_for(request.user, slug)
    try:
        commit = actions.record_drift(request.user, repo, request.POST.get("message", ""))
    except ActionError as exc:
        _error_message(request, exc)
        return redirect("branches:drift", slug=repo.slug)
    if commit:
        messages.success(request, f"Recorded the drift as commit {commit[:12]} on HEAD.")
    else:
        messages.info(request, "There was no drift to record.")
    return redirect("branches:drift", slug=repo.slug)


@require_POST
def drift_discard(request, slug):
    repo = repository_for(request.user, slug)
    force = request.POST.get("force") == "1"
    try:
        head = actions.discard_drift(request.user, repo, force)
    except ActionError as exc:
        if exc.code in FORCE_CODES and not force:
            return _confirm_force(request, repo, exc, action=reverse("branches:drift_discard", kwargs={"slug": slug}),
                                  fields={}, title="Undo the drift?", button="Undo anyway")
        _error_message(request, exc)
        return redirect("branches:drift", slug=repo.slug)
    if head:
        messages.success(request, f"Undid the drift: the live database matches HEAD ({head[:12]}) again.")
    else:
        messages.info(request, "There was no drift to undo.")
    return redirect("branches:drift", slug=repo.slug)


# branches --------------------------------------------------------------------------------

def branch_list(request, slug, form=None, error=None, status=200):
    repo = repository_for(request.user, slug)
    context = _context(request, repo, "branches", form=form or BranchForm(), create_error=error)
    try:
        context["current"], context["branches"], context["default"] = reads.read_branches(repo)
    except ActionError as exc:
        context["error"] = exc
        status = exc.status
    return render(request, "branches/branch_list.html", context, status=status)


@require_POST
def branch_create(request, slug):
    repo = repository_for(request.user, slug)
    form = BranchForm(request.POST)
    if not form.is_valid():
        check_role(request.user, repo, Role.DEVELOPER)
        return branch_list(request, slug, form=form, status=400)
    name, from_ref = form.cleaned_data["name"], form.cleaned_data["from_ref"].strip()
    with_data = form.cleaned_data["with_data"]
    try:
        head = actions.create_branch(request.user, repo, name, from_ref or None, with_data=with_data)
    except ActionError as exc:
        return branch_list(request, slug, form=form, error=exc, status=exc.status)
    messages.success(request, f"Created branch {name} at {head[:12]}" + (" with the live data." if with_data else "."))
    return redirect("branches:branch_list", slug=repo.slug)


@require_POST
def branch_delete(request, slug):
    repo = repository_for(request.user, slug)
    name = request.POST.get("name", "")
    force = request.POST.get("force") == "1"
    try:
        head = actions.delete_branch(request.user, repo, name, force)
    except ActionError as exc:
        if exc.code in FORCE_CODES and not force:
            return _confirm_force(request, repo, exc, action=reverse("branches:branch_delete", kwargs={"slug": slug}),
                                  fields={"name": name}, title=f"Delete branch {name}?", button="Delete anyway",
                                  deleting=name, explanation="No other branch holds its last commits: deleting it "
                                  "leaves them on no branch.")
        _error_message(request, exc)
    else:
        messages.success(request, f"Deleted branch {name}" + (f" (its head was {head[:12]})." if head else "."))
    return redirect("branches:branch_list", slug=repo.slug)


@require_POST
def checkout(request, slug):
    repo = repository_for(request.user, slug)
    branch = request.POST.get("branch", "")
    force = request.POST.get("force") == "1"
    try:
        actions.checkout(request.user, repo, branch, force)
    except ActionError as exc:
        if exc.code in FORCE_CODES and not force:
            return _confirm_force(request, repo, exc, action=reverse("branches:checkout", kwargs={"slug": slug}),
                                  fields={"branch": branch}, title=f"Check out {branch}?",
                                  button="Check out anyway")
        _error_message(request, exc)
        return redirect("branches:branch_list", slug=repo.slug)
    messages.success(request, f"Checked out {branch}: the live database now matches its head.")
    return redirect(repo)


# history ---------------------------------------------------------------------------------

def commit_log(request, slug):
    repo = repository_for(request.user, slug)
    ref = request.GET.get("ref", "").strip() or None
    context = _context(request, repo, "commits", ref=ref)
    try:
        context["log"] = engine.read_log(repo, ref, _page(request))
        context["current"], context["branch_names"] = reads.branch_names(repo)
    except ActionError as exc:
        context["error"] = exc
        return render(request, "branches/commit_log.html", context, status=exc.status)
    return render(request, "branches/commit_log.html", context)


def commit_detail(request, slug, commit_id):
    repo = repository_for(request.user, slug)
    context = _context(request, repo, "commits")
    try:
        view = reads.read_commit(repo, commit_id)
    except ActionError as exc:
        context["error"] = exc
        return render(request, "branches/commit_detail.html", context, status=exc.status)
    context.update(commit=view.commit, changes=engine.render_changes(view.changes), on_branches=view.branches)
    return render(request, "branches/commit_detail.html", context)


@require_POST
def commit_revert(request, slug, commit_id):
    repo = repository_for(request.user, slug)
    branch = request.POST.get("branch", "").strip() or None
    force = request.POST.get("force") == "1"
    try:
        new = actions.revert(request.user, repo, commit_id, branch, force)
    except ActionError as exc:
        if exc.code in FORCE_CODES and not force:
            return _confirm_force(request, repo, exc,
                                  action=reverse("branches:commit_revert", kwargs={"slug": slug, "commit_id": commit_id}),
                                  fields={"branch": branch or ""}, title=f"Revert {commit_id[:12]}?",
                                  button="Revert anyway and lose the data")
        _error_message(request, exc)
        return redirect("branches:commit_detail", slug=repo.slug, commit_id=commit_id)
    messages.success(request, f"Reverted {commit_id[:12]} in a new commit {new[:12]}.")
    return redirect("branches:commit_detail", slug=repo.slug, commit_id=new)


def compare(request, slug):
    repo = repository_for(request.user, slug)
    from_ref = request.GET.get("from", "").strip() or repo.default_branch
    to_ref = request.GET.get("to", "").strip()
    context = _context(request, repo, "compare", from_ref=from_ref, to_ref=to_ref)
    try:
        context["current"], context["branch_names"] = reads.branch_names(repo)
        if to_ref:
            cmp = reads.read_compare(repo, from_ref, to_ref, _page(request))
            if request.GET.get("format") == "sql":
                return _sql_download(cmp)
            context.update(cmp=cmp, objects=engine.render_changes(cmp.objects),
                           migration_sql="\n\n".join(cmp.migration[:MIGRATION_SHOWN]),
                           migration_hidden=max(0, len(cmp.migration) - MIGRATION_SHOWN))
    except ActionError as exc:
        context["error"] = exc
        return render(request, "branches/compare.html", context, status=exc.status)
    return render(request, "branches/compare.html", context)


def _sql_download(cmp):
    text = reads.migration_script(cmp.from_ref, cmp.from_id, cmp.to_ref, cmp.to_id, cmp.migration)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="migration-{cmp.from_id[:12]}-{cmp.to_id[:12]}.sql"'
    return response


def object_history(request, slug):
    repo = repository_for(request.user, slug)
    identity = request.GET.get("identity", "")
    ref = request.GET.get("ref", "").strip() or None
    context = _context(request, repo, "objects", identity=identity)
    try:
        if identity:
            history = reads.read_object_history(repo, identity, ref, _page(request))
            versions = history.versions
            for v in versions:
                v["rows"] = _rows(v["previous"], v["definition"])
            context.update(ref=history.ref, versions=versions, history=history)
        else:
            context["ref"], _commit, context["objects"] = reads.read_tree(repo, ref)
    except ActionError as exc:
        context["error"] = exc
        return render(request, "branches/object_history.html", context, status=exc.status)
    return render(request, "branches/object_history.html", context, status=200 if not identity or versions else 404)


def _rows(old, new):
    from branches.render import side_by_side

    return side_by_side(old, new)


# console ---------------------------------------------------------------------------------

def console(request, slug):
    repo = repository_for(request.user, slug)
    context = _context(request, repo, "console")
    try:
        current, names = reads.branch_names(repo)
    except ActionError as exc:
        context["error"] = exc
        return render(request, "branches/console.html", context, status=exc.status)
    default = request.GET.get("branch") or current
    form = ConsoleForm(request.POST or None, branches=names, initial={"branch": default})
    context.update(form=form, current=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            branch = form.cleaned_data["branch"]
            try:
                done = actions.run_console(request.user, repo, branch, form.cleaned_data["sql"],
                                           form.cleaned_data["message"], with_drift=form.cleaned_data["with_drift"])
            except ActionError as exc:
                # the SQL did not reach PostgreSQL (no console role, drift): said above the form, not as
                # PostgreSQL's refusal
                key = "drift_refused" if exc.code == "live_drift" else (
                    "error" if exc.code in CONSOLE_REFUSALS else "apply_error")
                context[key] = exc
                status = exc.status
            else:
                if done.commit:
                    messages.success(request, f"Committed {done.commit[:12]} on {branch}.")
                if done.rows is not None:  # shown once, with the SQL kept in the form (rows are not stored)
                    context.update(rows=done.rows, rows_branch=branch)
                else:
                    if done.commit is None:
                        messages.info(request, f"The SQL ran on {branch} but changed no tracked object: no commit.")
                    query = _qs(branch=branch, **({"commit": done.commit} if done.commit else {}))
                    return redirect(reverse("branches:console", kwargs={"slug": repo.slug}) + "?" + query)
        else:
            status = 400
    elif request.GET.get("commit"):
        try:
            view = reads.read_commit(repo, request.GET["commit"])
            context.update(result=view.commit, changes=engine.render_changes(view.changes))
        except ActionError as exc:
            context["error"] = exc
            status = exc.status
    selected = form["branch"].value() or default
    context.update(selected=selected, on_head=selected == current, console_on_head=bool(repo.console_role))
    if repo.console_role:  # what SQL on the live database would record besides its own change
        context["drift"] = reads.read_drift_quietly(repo)
    return render(request, "branches/console.html", context, status=status)


def _qs(**params) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# settings: members and branch protection ----------------------------------------------------

ROLE_BY_LABEL = {role.label: role for role in Role}


def settings_page(request, slug, member_form=None, protection_form=None, console_form=None, console_error=None,
                  status=200):
    """Members with their roles, the branch protection rules and the console role (maintainers)."""
    repo = repository_for(request.user, slug, Role.MAINTAINER)
    context = _context(request, repo, "settings", members=actions.members(request.user, repo),
                       protections=list(repo.protections.all()),
                       member_form=member_form or MemberForm(),
                       protection_form=protection_form or ProtectionForm(),
                       console_form=console_form or ConsoleRoleForm(initial={"role": repo.console_role}),
                       console_error=console_error)
    return render(request, "branches/settings.html", context, status=status)


@require_POST
def settings_member(request, slug):
    repo = repository_for(request.user, slug, Role.MAINTAINER)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return settings_page(request, slug, member_form=form, status=400)
    role = ROLE_BY_LABEL.get(form.cleaned_data["role"])
    try:
        actions.set_member_role(request.user, repo, form.cleaned_data["username"], role)
    except ActionError as exc:
        _error_message(request, exc)
        return settings_page(request, slug, member_form=form, status=exc.status)
    who = form.cleaned_data["username"]
    messages.success(request, f"{who} is now {role.label}." if role else f"{who} has no role any more.")
    return redirect(reverse("branches:settings", kwargs={"slug": slug}))


@require_POST
def settings_protection(request, slug):
    repo = repository_for(request.user, slug, Role.MAINTAINER)
    if request.POST.get("delete"):
        try:
            actions.delete_protection(request.user, repo, request.POST.get("pattern", ""))
        except ActionError as exc:
            _error_message(request, exc)
        else:
            messages.success(request, f"Removed the rule for {request.POST.get('pattern')}.")
        return redirect(reverse("branches:settings", kwargs={"slug": slug}))
    form = ProtectionForm(request.POST)
    if not form.is_valid():
        return settings_page(request, slug, protection_form=form, status=400)
    data = dict(form.cleaned_data, merge_role=ROLE_BY_LABEL[form.cleaned_data["merge_role"]])
    try:
        rule = actions.save_protection(request.user, repo, **data)
    except ActionError as exc:
        _error_message(request, exc)
        return settings_page(request, slug, protection_form=form, status=exc.status)
    messages.success(request, f"Branches matching {rule.pattern} are protected.")
    return redirect(reverse("branches:settings", kwargs={"slug": slug}))


@require_POST
def settings_console(request, slug):
    """Name the console role (checked and granted through the repository's connection), or none."""
    repo = repository_for(request.user, slug, Role.MAINTAINER)
    form = ConsoleRoleForm(request.POST)
    if not form.is_valid():
        return settings_page(request, slug, console_form=form, status=400)
    data = form.cleaned_data
    try:
        actions.set_console_role(request.user, repo, data["role"], data["password"],
                                 keep_password=not data["no_password"])
    except ActionError as exc:
        return settings_page(request, slug, console_form=form, console_error=exc, status=exc.status)
    if repo.console_role:
        messages.success(request, f"The console on the checked-out branch runs as {repo.console_role}.")
    else:
        messages.success(request, "The console on the checked-out branch is off.")
    return redirect(reverse("branches:settings", kwargs={"slug": slug}) + "#console")
