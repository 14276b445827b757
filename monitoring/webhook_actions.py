"""What changes webhooks (docs/webhooks.md): each function checks the user's role, then changes
state. Pages, the REST API and the admin call these.

A repository's hooks are managed by its maintainers (an outsider gets 404, a lower role 403);
site-wide hooks (no repository) by superusers, in the Django admin. A URL whose host resolves to
an address the SSRF guard refuses is refused when saved (400 ``webhook_url_refused``) and again
before every try (the name may resolve elsewhere later).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import Http404

from branches.access import check_role, repository_for
from branches.models import Repository, Role
from monitoring import webhook_http, webhooks
from monitoring.models import EventKind, Webhook, WebhookDelivery, WebhookFormat
from pggit_web.errors import ActionError

WEBHOOKS_ROLE = Role.MAINTAINER


def check_url(url: str) -> None:
    try:
        webhook_http.resolve(url, settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS)
    except webhook_http.UnsafeURL as exc:
        raise ActionError(f"This URL cannot be called: {exc}", code="webhook_url_refused") from None


def check_events(events) -> list[str]:
    unknown = sorted(set(events) - set(EventKind.values))
    if unknown:
        raise ActionError(f"Unknown event kinds: {', '.join(unknown)}", code="webhook_events_unknown")
    return [kind for kind in EventKind.values if kind in set(events)]


def repository_hooks(user, slug: str) -> tuple[Repository, list[Webhook]]:
    repo = repository_for(user, slug, WEBHOOKS_ROLE)
    return repo, list(Webhook.objects.filter(repository=repo).order_by("id"))


def get_hook(user, slug: str, hook_id: int) -> Webhook:
    """Hook ``hook_id`` of repository ``slug`` if ``user`` maintains it (404 for an outsider or
    another repository's hook, 403 below maintainer)."""
    repo = repository_for(user, slug, WEBHOOKS_ROLE)
    hook = Webhook.objects.select_related("repository").filter(repository=repo, pk=hook_id).first()
    if hook is None:
        raise Http404("No such webhook")
    return hook


def site_hooks(user) -> list[Webhook]:
    """The site-wide hooks (superusers; 404 for anyone else: they are not told they exist)."""
    if not user.is_superuser:
        raise Http404("No such webhook")
    return list(Webhook.objects.filter(repository__isnull=True).order_by("id"))


def get_site_hook(user, hook_id: int) -> Webhook:
    if not user.is_superuser:
        raise Http404("No such webhook")
    hook = Webhook.objects.filter(repository__isnull=True, pk=hook_id).first()
    if hook is None:
        raise Http404("No such webhook")
    return hook


def create_hook(user, repo: Repository | None, *, url: str, events=(), format: str = WebhookFormat.JSON,
                secret: str = "", active: bool = True) -> Webhook:
    if repo is None:
        if not user.is_superuser:
            raise Http404("No such webhook")
    else:
        check_role(user, repo, WEBHOOKS_ROLE)
    check_url(url)
    return Webhook.objects.create(repository=repo, url=url, events=check_events(events), format=format,
                                  secret=secret, active=active, created_by=user)


def update_hook(user, hook: Webhook, **changes) -> Webhook:
    """Change the given fields; ``secret``: a new one replaces it (empty or absent keeps it).
    Turning a hook on again closes its breaker."""
    if hook.repository_id:
        check_role(user, hook.repository, WEBHOOKS_ROLE)
    elif not user.is_superuser:
        raise Http404("No such webhook")
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=hook.pk)
        if "url" in changes:
            check_url(changes["url"])
            hook.url = changes["url"]
        if "events" in changes:
            hook.events = check_events(changes["events"])
        if "format" in changes:
            hook.format = changes["format"]
        if changes.get("secret"):
            hook.secret = changes["secret"]
        if "active" in changes:
            if changes["active"] and not hook.active:
                hook.consecutive_failures, hook.paused_until = 0, None
            hook.active = changes["active"]
        hook.save()
    return hook


def delete_hook(user, hook: Webhook) -> None:
    update_hook(user, hook)  # (the same check)
    hook.delete()


def ping(user, hook: Webhook) -> WebhookDelivery:
    update_hook(user, hook)
    return webhooks.ping(hook)


def deliveries(hook: Webhook):
    return WebhookDelivery.objects.filter(webhook=hook).prefetch_related("attempts").order_by("-id")


def get_delivery(hook: Webhook, delivery_pk: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(webhook=hook, pk=delivery_pk).prefetch_related("attempts").first()
    if delivery is None:
        raise Http404("No such delivery")
    return delivery


def redeliver(user, hook: Webhook, delivery_pk: int) -> WebhookDelivery:
    update_hook(user, hook)
    return webhooks.redeliver(get_delivery(hook, delivery_pk))
