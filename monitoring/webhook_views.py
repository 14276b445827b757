"""Webhook pages (``/repos/<slug>/settings/webhooks/``, maintainers): the hooks with a form to
add one, a hook's page (change it, ping it, delete it, its delivery log with redeliver). Each
view parses, calls ``monitoring.webhook_actions`` (as the API does) and renders."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from monitoring import webhook_actions as actions
from monitoring.models import EventKind, WebhookFormat
from monitoring.views import _context
from pggit_web.errors import ActionError


def _form(request) -> dict:
    return {"url": request.POST.get("url", "").strip(), "events": request.POST.getlist("events"),
            "format": request.POST.get("format") or WebhookFormat.JSON,
            "secret": request.POST.get("secret", ""), "active": request.POST.get("active") == "on"}


def _page(request, repo, template, **extra):
    return render(request, template, _context(request, repo, "settings", event_kinds=EventKind.choices,
                                              formats=WebhookFormat.choices, **extra))


def webhook_list(request, slug):
    repo, hooks = actions.repository_hooks(request.user, slug)
    form = {"active": True, "events": [], "format": WebhookFormat.JSON}
    if request.method == "POST":
        form = _form(request)
        if form["format"] not in WebhookFormat.values:
            form["format"] = WebhookFormat.JSON
        try:
            hook = actions.create_hook(request.user, repo, **form)
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Webhook to {hook.url} added.")
            return redirect(reverse("monitoring:webhook", kwargs={"slug": slug, "hook_id": hook.pk}))
    return _page(request, repo, "monitoring/webhooks.html", hooks=hooks, form=form)


def webhook_detail(request, slug, hook_id):
    hook = actions.get_hook(request.user, slug, hook_id)
    if request.method == "POST":
        changes = _form(request)
        if changes["format"] not in WebhookFormat.values:
            changes["format"] = WebhookFormat.JSON
        try:
            actions.update_hook(request.user, hook, **changes)
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Webhook saved.")
        return redirect(reverse("monitoring:webhook", kwargs={"slug": slug, "hook_id": hook.pk}))
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        number = 1
    page = Paginator(actions.deliveries(hook), 25).get_page(number)
    return _page(request, hook.repository, "monitoring/webhook_detail.html", hook=hook, page=page)


@require_POST
def ping(request, slug, hook_id):
    hook = actions.get_hook(request.user, slug, hook_id)
    actions.ping(request.user, hook)
    messages.success(request, "Ping queued: its delivery is below.")
    return redirect(reverse("monitoring:webhook", kwargs={"slug": slug, "hook_id": hook.pk}))


@require_POST
def delete(request, slug, hook_id):
    hook = actions.get_hook(request.user, slug, hook_id)
    actions.delete_hook(request.user, hook)
    messages.success(request, f"Webhook to {hook.url} deleted.")
    return redirect(reverse("monitoring:webhooks", kwargs={"slug": slug}))


@require_POST
def redeliver(request, slug, hook_id, delivery_id):
    hook = actions.get_hook(request.user, slug, hook_id)
    delivery = actions.redeliver(request.user, hook, delivery_id)
    messages.success(request, f"Delivery {delivery.delivery_id} queued again.")
    return redirect(reverse("monitoring:webhook", kwargs={"slug": slug, "hook_id": hook.pk}))
