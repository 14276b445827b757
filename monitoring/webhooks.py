"""Webhook deliveries (docs/webhooks.md): enqueued by a fan-out hook, sent by a task.

- ``on_event`` is a hook of ``monitoring.fanout.HOOKS``: inside the event's delivery transaction
  (the event's row locked), it writes one ``WebhookDelivery`` per active hook that wants the
  event (the body built then, from the event's message: what the websocket and so the REST API's
  serializers give) and enqueues ``send`` for each. No HTTP in that transaction. A delivery run
  again makes no second row (unique on hook and event).
- ``send_now`` (the task ``send``) claims the delivery with a conditional UPDATE (pending, due,
  not claimed by a live try), sends outside any transaction, then records the try
  (``WebhookAttempt``) and the outcome in one transaction with the delivery's and the hook's rows
  locked. A failed try is retried after an exponential backoff with full jitter by a task
  enqueued with ``run_after`` (django-tasks-db keeps it until then); after
  ``PGGIT_WEBHOOK_MAX_TRIES`` tries the delivery is failed (a person may redeliver). A lost task
  (a worker killed mid-try) is found by the periodic job ``retry_stale``.
- The circuit breaker: ``PGGIT_WEBHOOK_BREAKER_FAILURES`` failed tries in a row pause the hook for
  ``PGGIT_WEBHOOK_BREAKER_COOLDOWN_SECONDS`` and raise the repository's ``webhook_failing``
  alert. While it is paused, its deliveries wait (a task that finds the hook paused puts its
  delivery off until the pause ends, without counting a try). After the pause one try goes out
  (the probe: it claims the hook by moving the pause on, so the other deliveries keep waiting);
  a success closes the breaker and resolves the alert, a failure pauses the hook again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from monitoring import webhook_http
from monitoring.models import Event, Webhook, WebhookAttempt, WebhookDelivery, WebhookFormat

log = logging.getLogger(__name__)

USER_AGENT = "pgGit-Webhook/1"
PING = "ping"


def sign(secret: str, body: bytes) -> str:
    """``X-Pggit-Signature-256``'s value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _summary(message: dict) -> str:
    repo = message.get("repository") or "pgGit"
    actor = f" by {message['actor']}" if message.get("actor") else ""
    mr = f" (merge request !{message['merge_request']})" if message.get("merge_request") else ""
    payload = message.get("payload") or {}
    title = ""
    if isinstance(payload.get("merge_request"), dict):
        title = payload["merge_request"].get("title") or ""
    elif isinstance(payload.get("alert"), dict):
        title = payload["alert"].get("title") or ""
    text = f"[{repo}] {message['kind']}{mr}{actor}"
    if title:
        text += f": {title}"
    site = settings.PGGIT_SITE_URL
    if site and message.get("repository"):
        text += f" <{site}/repos/{message['repository']}/>"
    return text


def build_body(hook: Webhook, delivery_id: str, message: dict) -> str:
    """The body of a delivery: the generic JSON (``{"delivery", "event"}``, the event as the
    websockets get it) or a Slack-compatible ``{"text": ...}``."""
    if hook.format == WebhookFormat.SLACK:
        return json.dumps({"text": _summary(message)}, separators=(",", ":"))
    return json.dumps({"delivery": delivery_id, "event": message}, separators=(",", ":"), default=str)


def _create(hook: Webhook, kind: str, message: dict, event: Event | None) -> WebhookDelivery:
    delivery_id = str(uuid.uuid4())
    return WebhookDelivery.objects.create(webhook=hook, event=event, delivery_id=delivery_id, kind=kind,
                                          body=build_body(hook, delivery_id, message),
                                          next_attempt_at=timezone.now())


def _enqueue(delivery: WebhookDelivery, at=None) -> None:
    from monitoring.events import _wake_worker

    (send.using(run_after=at) if at is not None else send).enqueue(delivery.pk)
    _wake_worker()


def hooks_for(event: Event):
    hooks = Webhook.objects.filter(active=True).filter(Q(repository__isnull=True) | Q(repository_id=event.repository_id))
    return [hook for hook in hooks if hook.wants(event.kind)]


def on_event(event: Event) -> None:
    """Fan-out hook: a delivery (row and task) per active hook that wants ``event``."""
    from monitoring.fanout import message

    hooks = hooks_for(event)
    if not hooks:
        return
    done = set(WebhookDelivery.objects.filter(event=event).values_list("webhook_id", flat=True))
    body = message(event)
    for hook in hooks:
        if hook.pk not in done:
            _enqueue(_create(hook, event.kind, body, event))


def ping(hook: Webhook) -> WebhookDelivery:
    """A test delivery of kind ``ping`` (sent by the worker like any other)."""
    with transaction.atomic():
        msg = {"id": None, "kind": PING, "source": "app",
               "repository": hook.repository.slug if hook.repository_id else None, "merge_request": None,
               "actor": None, "at": timezone.now().isoformat(), "payload": {"hook": hook.pk}}
        delivery = _create(hook, PING, msg, None)
        _enqueue(delivery)
    return delivery


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (same body, same delivery id: the receiver may drop it as a
    duplicate), whatever its state; its tries go on counting and it gets a full set again."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.state, delivery.next_attempt_at, delivery.finished_at = (
            WebhookDelivery.State.PENDING, timezone.now(), None)
        delivery.save(update_fields=["state", "next_attempt_at", "finished_at"])
        _enqueue(delivery)
    return delivery


def backoff(tries: int) -> float:
    """Seconds before try ``tries + 1``: full jitter over base × 2^(tries-1), capped."""
    ceiling = min(settings.PGGIT_WEBHOOK_BACKOFF_MAX_SECONDS,
                  settings.PGGIT_WEBHOOK_BACKOFF_SECONDS * (2 ** max(0, tries - 1)))
    return random.uniform(ceiling / 2, ceiling)


def _claim(delivery_pk: int) -> WebhookDelivery | None:
    """Claim a due pending delivery for one try (a conditional UPDATE: of two workers, one gets
    it); the claim lasts past the try's longest time, so a worker that dies lets it go."""
    now = timezone.now()
    hold = timedelta(seconds=3 * settings.PGGIT_WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = (WebhookDelivery.objects
               .filter(pk=delivery_pk, state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .update(claimed_until=now + hold, tries=F("tries") + 1))
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook", "webhook__repository").get(pk=delivery_pk)


def _headers(delivery: WebhookDelivery, body: bytes) -> dict:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Pggit-Event": delivery.kind,
               "X-Pggit-Delivery": str(delivery.delivery_id), "X-Pggit-Hook-Id": str(delivery.webhook_id),
               "X-Pggit-Attempt": str(delivery.tries)}
    if delivery.webhook.secret:
        headers["X-Pggit-Signature-256"] = sign(delivery.webhook.secret, body)
    return headers


def _put_off(delivery_pk: int, until) -> None:
    """The hook is paused: give the claimed try back and try again when the pause ends."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery_pk).update(tries=F("tries") - 1, claimed_until=None,
                                                              next_attempt_at=until)
        _enqueue(WebhookDelivery(pk=delivery_pk), until)


def send_now(delivery_pk: int) -> str:
    """One try of delivery ``delivery_pk`` if it is due and nobody else is trying it."""
    now = timezone.now()
    delivery = _claim(delivery_pk)
    if delivery is None:
        return "not due"
    hook = delivery.webhook
    if not hook.active:  # turned off meanwhile: not sent (kept as failed; redeliver sends it)
        WebhookDelivery.objects.filter(pk=delivery_pk).update(tries=F("tries") - 1, claimed_until=None,
                                                              state=WebhookDelivery.State.FAILED, finished_at=now)
        return "hook inactive"
    if hook.paused_until is not None:
        if hook.paused_until > now:
            _put_off(delivery_pk, hook.paused_until)
            return "paused"
        # the pause is over: this try is the probe (half-open). It moves the pause on first (a
        # conditional UPDATE: of the deliveries waiting for the pause's end, one gets it) so the
        # others wait for its outcome; a success closes the breaker, a failure keeps it open.
        until = now + timedelta(seconds=settings.PGGIT_WEBHOOK_BREAKER_COOLDOWN_SECONDS)
        if not Webhook.objects.filter(pk=hook.pk, paused_until=hook.paused_until).update(paused_until=until):
            _put_off(delivery_pk, Webhook.objects.get(pk=hook.pk).paused_until or now)
            return "paused"
    body = delivery.body.encode()
    headers = _headers(delivery, body)
    started = timezone.now()
    address = ""
    try:
        target = webhook_http.resolve(hook.url, settings.PGGIT_WEBHOOK_ALLOWED_NETWORKS)
        address = target.address
        result = webhook_http.post(target, body, headers, settings.PGGIT_WEBHOOK_TIMEOUT_SECONDS)
    except webhook_http.UnsafeURL as exc:
        result = webhook_http.Result(error=f"refused: {exc}"[:500])
    return _record(delivery, headers, started, address, result)


def _record(delivery: WebhookDelivery, headers: dict, started, address: str, result) -> str:
    ok = result.ok and not result.error
    alert_hook = closed_hook = None
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        WebhookAttempt.objects.create(delivery=current, number=current.tries, started_at=started,
                                      duration_ms=result.duration_ms, address=address, request_headers=headers,
                                      status_code=result.status, response_head=result.head, error=result.error,
                                      ok=ok)
        now = timezone.now()
        current.claimed_until = None
        if ok:
            current.state, current.finished_at = WebhookDelivery.State.DELIVERED, now
            if hook.consecutive_failures or hook.paused_until:
                closed_hook = hook if hook.paused_until else None
                hook.consecutive_failures, hook.paused_until = 0, None
                hook.save(update_fields=["consecutive_failures", "paused_until"])
        else:
            hook.consecutive_failures += 1
            if hook.consecutive_failures >= settings.PGGIT_WEBHOOK_BREAKER_FAILURES:
                hook.paused_until = now + timedelta(seconds=settings.PGGIT_WEBHOOK_BREAKER_COOLDOWN_SECONDS)
                alert_hook = hook
            hook.save(update_fields=["consecutive_failures", "paused_until"])
            if current.tries >= settings.PGGIT_WEBHOOK_MAX_TRIES:
                current.state, current.finished_at = WebhookDelivery.State.FAILED, now
            else:
                current.next_attempt_at = max(now + timedelta(seconds=backoff(current.tries)),
                                              hook.paused_until or now)
                _enqueue(current, current.next_attempt_at)
        current.save(update_fields=["state", "finished_at", "claimed_until", "next_attempt_at"])
        if alert_hook is not None:
            _breaker_opened(alert_hook, result)
        if closed_hook is not None:
            _breaker_closed(closed_hook)
    return "delivered" if ok else ("failed" if current.state == WebhookDelivery.State.FAILED else "retry")


def _alert_key(hook: Webhook) -> str:
    return f"webhook_failing:{hook.pk}"


def _breaker_opened(hook: Webhook, result) -> None:
    from monitoring.alerts import raise_alert
    from monitoring.models import AlertKind

    log.warning("webhook %s paused until %s after %s failed tries", hook.pk, hook.paused_until,
                hook.consecutive_failures)
    if hook.repository_id is None:
        return  # a site-wide hook has no repository to raise an alert on: the log says it
    raise_alert(hook.repository, AlertKind.WEBHOOK_FAILING, _alert_key(hook),
                f"Webhook to {hook.url[:200]} paused after {hook.consecutive_failures} failed deliveries",
                detail={"webhook": hook.pk, "url": hook.url, "failures": hook.consecutive_failures,
                        "paused_until": hook.paused_until.isoformat(),
                        "last_error": result.error or f"HTTP {result.status}"})


def _breaker_closed(hook: Webhook) -> None:
    """The probe went through: the deliveries that waited for the pause go now (their own tasks,
    scheduled for the pause's end, then find nothing to claim), and the alert is resolved."""
    from monitoring.alerts import clear

    now = timezone.now()
    waiting = list(WebhookDelivery.objects.filter(webhook=hook, state=WebhookDelivery.State.PENDING,
                                                  claimed_until__isnull=True, next_attempt_at__gt=now)
                   .values_list("pk", flat=True)[:1000])
    WebhookDelivery.objects.filter(pk__in=waiting).update(next_attempt_at=now)
    for pk in waiting:
        _enqueue(WebhookDelivery(pk=pk))
    if hook.repository_id is not None:
        clear(hook.repository, _alert_key(hook), "the webhook delivered again")


@task()
def send(delivery_pk: int) -> str:
    return send_now(delivery_pk)


def retry_stale(older_than: timedelta = timedelta(seconds=60), limit: int = 500) -> int:
    """Periodic job: enqueue pending deliveries whose try is overdue (their task was lost with a
    worker, or their claim expired). A duplicate task is harmless: the claim lets one try go."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
                    .filter(state=WebhookDelivery.State.PENDING, next_attempt_at__lt=now - older_than)
                    .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                    .order_by("next_attempt_at")[:limit])
        for row in rows:
            row.next_attempt_at = now
            row.save(update_fields=["next_attempt_at"])
            _enqueue(row)
    return len(rows)
