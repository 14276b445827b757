"""Alert pages: the list with filters and counts (``/repos/<slug>/alerts/``), acknowledge and
resolve (POST), and the rules (``/repos/<slug>/settings/alerts/``, maintainers). Each view
parses, authorizes, calls one function of ``monitoring.actions`` / ``monitoring.reads`` and
renders; an action's error is shown on the page."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from branches.access import repository_for, role_of
from branches.models import Role
from monitoring import actions, reads
from monitoring.alerts import THRESHOLD_UNITS
from monitoring.models import AlertKind, Severity
from pggit_web.errors import ActionError

PER_PAGE = 50


def _context(request, repo, tab: str, **extra) -> dict:
    role = role_of(request.user, repo)
    return {"repo": repo, "tab": tab, "role": role, "Role": Role, "is_developer": role >= Role.DEVELOPER,
            "is_maintainer": role >= Role.MAINTAINER, **extra}


def alert_list(request, slug):
    repo = repository_for(request.user, slug)
    filters = reads.Filters.parse(request.GET)
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        number = 1
    page = Paginator(reads.alerts(repo, filters), PER_PAGE).get_page(number)
    context = _context(request, repo, "alerts", filters=filters, page=page, stats=reads.stats(repo),
                       states=list(reads.STATE_FILTERS), severities=Severity.values, kinds=AlertKind.choices,
                       can_respond=role_of(request.user, repo) >= actions.RESPOND_ROLE)
    return render(request, "monitoring/alert_list.html", context)


def _back(request, slug):
    nxt = request.POST.get("next", "")
    base = reverse("monitoring:alerts", kwargs={"slug": slug})
    return redirect(base + nxt if nxt.startswith("?") else base)


@require_POST
def acknowledge(request, slug, alert_id):
    alert = actions.get_alert(request.user, slug, alert_id)
    try:
        actions.acknowledge(request.user, alert)
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Alert #{alert.pk} acknowledged.")
    return _back(request, slug)


@require_POST
def resolve(request, slug, alert_id):
    alert = actions.get_alert(request.user, slug, alert_id)
    try:
        actions.resolve(request.user, alert, request.POST.get("reason", "")[:300])
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Alert #{alert.pk} resolved.")
    return _back(request, slug)


def rules(request, slug):
    """The rules, one form each (maintainers)."""
    repo = repository_for(request.user, slug, actions.RULES_ROLE)
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        raw = request.POST.get("threshold", "").strip()
        try:
            threshold = int(raw) if raw else None
        except ValueError:
            messages.error(request, "The threshold is a whole number.")
            return redirect(reverse("monitoring:rules", kwargs={"slug": slug}))
        try:
            rule = actions.save_rule(request.user, repo, kind, enabled=request.POST.get("enabled") == "on",
                                     severity=request.POST.get("severity") or None, threshold=threshold)
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Saved the rule {AlertKind(rule.kind).label}.")
        return redirect(reverse("monitoring:rules", kwargs={"slug": slug}))
    rows = [(rule, AlertKind(rule.kind).label, THRESHOLD_UNITS.get(rule.kind)) for rule in actions.rules(request.user, repo)]
    return render(request, "monitoring/rules.html", _context(request, repo, "settings", rows=rows,
                                                             severities=Severity.values))
