"""The webhook pages (``/repos/<slug>/settings/webhooks/``): a maintainer adds a hook (its secret
never shown again), changes it, pings it, redelivers from its log and deletes it; a developer
gets 403, an outsider 404; the admin makes a site-wide hook."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def allow_loopback(settings):
    settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def test_maintainer_adds_changes_pings_redelivers_and_deletes_a_hook(as_user, repo, maintainer):
    from monitoring.models import Webhook, WebhookDelivery

    client = as_user(maintainer)
    url = reverse("monitoring:webhooks", kwargs={"slug": repo.slug})
    settings_page = client.get(reverse("branches:settings", kwargs={"slug": repo.slug})).content.decode()
    assert url in settings_page
    assert client.get(url).status_code == 200
    response = client.post(url, {"url": "http://127.0.0.1:9/hook", "events": ["drift.found", "checkout"],
                                 "format": "json", "secret": "pagesecret", "active": "on"})
    hook = Webhook.objects.get(repository=repo)
    assert response.status_code == 302 and response["Location"].endswith(f"/settings/webhooks/{hook.pk}/")
    assert hook.events == ["checkout", "drift.found"] and hook.secret == "pagesecret" and hook.active
    detail = reverse("monitoring:webhook", kwargs={"slug": repo.slug, "hook_id": hook.pk})
    page = client.get(detail).content.decode()
    assert "pagesecret" not in page and "http://127.0.0.1:9/hook" in page
    client.post(detail, {"url": "http://127.0.0.1:9/other", "format": "slack", "secret": ""})
    hook.refresh_from_db()
    assert (hook.url, hook.format, hook.secret, hook.active, hook.events) == (
        "http://127.0.0.1:9/other", "slack", "pagesecret", False, [])
    client.post(reverse("monitoring:webhook_ping", kwargs={"slug": repo.slug, "hook_id": hook.pk}))
    (delivery,) = WebhookDelivery.objects.filter(webhook=hook)
    assert delivery.kind == "ping"
    assert str(delivery.delivery_id) in client.get(detail).content.decode()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed")
    client.post(reverse("monitoring:webhook_redeliver",
                        kwargs={"slug": repo.slug, "hook_id": hook.pk, "delivery_id": delivery.pk}))
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    client.post(reverse("monitoring:webhook_delete", kwargs={"slug": repo.slug, "hook_id": hook.pk}))
    assert not Webhook.objects.filter(pk=hook.pk).exists()


def test_a_refused_url_is_shown_and_not_saved(as_user, repo, maintainer, settings):
    from monitoring.models import Webhook

    settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS = []
    url = reverse("monitoring:webhooks", kwargs={"slug": repo.slug})
    response = as_user(maintainer).post(url, {"url": "http://10.0.0.5/hook", "format": "json"}, follow=True)
    assert "cannot be called" in response.content.decode()
    assert not Webhook.objects.exists()


def test_developer_gets_403_and_outsider_404(client, repo, author, outsider):
    from monitoring.models import Webhook

    hook = Webhook.objects.create(repository=repo, url="http://127.0.0.1:9/hook")
    urls = [reverse("monitoring:webhooks", kwargs={"slug": repo.slug}),
            reverse("monitoring:webhook", kwargs={"slug": repo.slug, "hook_id": hook.pk})]
    posts = [reverse("monitoring:webhook_ping", kwargs={"slug": repo.slug, "hook_id": hook.pk}),
             reverse("monitoring:webhook_delete", kwargs={"slug": repo.slug, "hook_id": hook.pk})]
    for user, expected in ((author, 403), (outsider, 404)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == expected
        for url in [*urls, *posts]:
            assert client.post(url, {"url": "http://127.0.0.1:9/x", "format": "json"}).status_code == expected
    assert Webhook.objects.filter(pk=hook.pk, url="http://127.0.0.1:9/hook").exists()
    assert Webhook.objects.count() == 1


def test_superuser_makes_a_site_wide_hook_in_the_admin_with_a_write_only_secret(client, django_user_model):
    from monitoring.models import Webhook

    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    response = client.post(reverse("admin:monitoring_webhook_add"),
                           {"url": "http://127.0.0.1:9/all", "format": "json", "secret": "adminsecret",
                            "active": "on", "events": ["merge_request.merged"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    hook = Webhook.objects.get()
    assert hook.repository is None and hook.secret == "adminsecret" and hook.events == ["merge_request.merged"]
    page = client.get(reverse("admin:monitoring_webhook_change", args=[hook.pk])).content.decode()
    assert "adminsecret" not in page
