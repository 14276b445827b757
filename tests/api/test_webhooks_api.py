"""The webhooks API: maintainers list, create, read, change and delete a repository's hooks,
ping them, read the delivery log and redeliver; the secret is write-only (stored encrypted);
a developer gets 403 and an outsider 404; a URL the SSRF guard refuses is refused (400)."""

from __future__ import annotations

import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets/webhooks/"
HOOK_FIELDS = {"id", "url", "events", "format", "active", "has_secret", "paused", "paused_until",
               "consecutive_failures", "created_at", "updated_at"}
DELIVERY_FIELDS = {"id", "delivery_id", "kind", "event", "state", "tries", "next_attempt_at", "created_at",
                   "finished_at", "body", "attempts"}


@pytest.fixture(autouse=True)
def allow_loopback(settings):
    settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def test_maintainer_manages_hooks_and_the_secret_is_write_only(as_api, repo, maintainer):
    from django.db import connection

    from monitoring.models import Webhook

    client = as_api(maintainer)
    created = client.post(BASE, {"url": "http://127.0.0.1:9/hook", "events": ["merge_request.merged", "drift.found"],
                                 "secret": "topsecret", "format": "slack"}, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert set(data) == HOOK_FIELDS and "secret" not in data
    assert data["events"] == ["merge_request.merged", "drift.found"] and data["format"] == "slack"
    assert data["has_secret"] and data["active"] and not data["paused"]
    hook = Webhook.objects.get(pk=data["id"])
    assert hook.secret == "topsecret" and hook.repository == repo
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM monitoring_webhook WHERE id = %s", [hook.pk])
        assert "topsecret" not in cursor.fetchone()[0]  # encrypted at rest
    listed = client.get(BASE).json()
    assert [h["id"] for h in listed] == [hook.pk] and "secret" not in listed[0]
    url = f"{BASE}{hook.pk}/"
    assert set(client.get(url).json()) == HOOK_FIELDS
    changed = client.patch(url, {"active": False, "events": []}, format="json").json()
    assert changed["active"] is False and changed["events"] == []
    hook.refresh_from_db()
    assert hook.secret == "topsecret"  # kept when not given
    client.patch(url, {"secret": "rotated"}, format="json")
    hook.refresh_from_db()
    assert hook.secret == "rotated"
    assert client.delete(url).status_code == 204
    assert not Webhook.objects.filter(pk=hook.pk).exists()


def test_refused_url_and_unknown_event_are_400(as_api, repo, maintainer, settings):
    settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS = []
    client = as_api(maintainer)
    response = client.post(BASE, {"url": "http://169.254.169.254/latest/"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "webhook_url_refused"
    response = client.post(BASE, {"url": "http://127.0.0.1:9/"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "webhook_url_refused"
    response = client.post(BASE, {"url": "https://example.com/", "events": ["nope"]}, format="json")
    assert response.status_code == 400


def test_ping_deliveries_and_redeliver(as_api, repo, maintainer):
    from monitoring.models import Webhook, WebhookDelivery

    client = as_api(maintainer)
    hook = Webhook.objects.create(repository=repo, url="http://127.0.0.1:9/hook", secret="x")
    pinged = client.post(f"{BASE}{hook.pk}/ping/")
    assert pinged.status_code == 202 and set(pinged.json()) == DELIVERY_FIELDS
    assert pinged.json()["kind"] == "ping" and pinged.json()["state"] == "pending"
    delivery = WebhookDelivery.objects.get(pk=pinged.json()["id"])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed")
    page = client.get(f"{BASE}{hook.pk}/deliveries/").json()
    assert [d["id"] for d in page["results"]] == [delivery.pk] and page["results"][0]["state"] == "failed"
    assert set(client.get(f"{BASE}{hook.pk}/deliveries/{delivery.pk}/").json()) == DELIVERY_FIELDS
    again = client.post(f"{BASE}{hook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202 and again.json()["state"] == "pending"
    assert again.json()["delivery_id"] == str(delivery.delivery_id)
    assert client.post(f"{BASE}{hook.pk}/deliveries/999999/redeliver/").status_code == 404


def test_developer_gets_403_and_outsider_404(as_api, repo, author, outsider, maintainer):
    from monitoring.models import Webhook

    hook = Webhook.objects.create(repository=repo, url="http://127.0.0.1:9/hook")
    urls = [BASE, f"{BASE}{hook.pk}/", f"{BASE}{hook.pk}/deliveries/"]
    for user, expected in ((author, 403), (outsider, 404)):
        client = as_api(user)
        for url in urls:
            assert client.get(url).status_code == expected, (user, url)
        assert client.post(BASE, {"url": "http://127.0.0.1:9/"}, format="json").status_code == expected
        assert client.post(f"{BASE}{hook.pk}/ping/").status_code == expected
        assert client.patch(f"{BASE}{hook.pk}/", {"active": False}, format="json").status_code == expected
        assert client.delete(f"{BASE}{hook.pk}/").status_code == expected
    assert Webhook.objects.get(pk=hook.pk).active
    assert as_api(maintainer).get(f"{BASE}{hook.pk + 1000}/").status_code == 404


def test_site_wide_hooks_are_for_superusers_only(as_api, repo, maintainer, django_user_model):
    from monitoring.models import Webhook

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    created = as_api(root).post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/all", "secret": "s"}, format="json")
    assert created.status_code == 201 and set(created.json()) == HOOK_FIELDS
    hook = Webhook.objects.get(pk=created.json()["id"])
    assert hook.repository is None and hook.secret == "s"
    assert [h["id"] for h in as_api(root).get("/api/v1/webhooks/").json()] == [hook.pk]
    assert as_api(root).patch(f"/api/v1/webhooks/{hook.pk}/", {"active": False}, format="json").json()["active"] is False
    for url in ("/api/v1/webhooks/", f"/api/v1/webhooks/{hook.pk}/"):
        assert as_api(maintainer).get(url).status_code == 404
    assert as_api(maintainer).post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x"}, format="json").status_code == 404
    assert as_api(maintainer).delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 404
    assert as_api(root).delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 204
