"""Notifications: who is told what about an event (the fan-out hook ``on_event``), the live
message to the bell, and the email task.

Reasons (``NotificationReason``):

- ``review_requested``: a review was requested of me (``merge_request.review_requested``, the
  reviewer named in the payload);
- ``review_submitted``: my merge request was approved, sent back or commented in a review;
- ``merged`` / ``closed``: my merge request was merged or closed;
- ``mentioned``: ``@username`` in a comment, a review or the description of a new merge request,
  or added to the description by an edit (``merge_request.updated``; not those told of an earlier
  text of the description);
- ``alert``: an alert was raised on a repository I maintain (``alert.raised``).

Never the actor of the event, and only users who can see the repository now (a mention of an
outsider notifies nobody: it would tell them the repository exists). One notification per event
and user (the first reason above wins); a delivery run again creates none (the unique constraint,
and ``get_or_create`` inside the delivery's transaction, which holds the event's row lock).

Each new notification is sent to the user's Channels group (the bell: ``{"kind":
"notification", "unread": n, "notification": {...}}``) and, when the user's preference says so,
emailed by ``email_notification``, a task enqueued in the same transaction.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from branches.access import has_role
from branches.models import Repository, Role
from merges import markdown
from monitoring.models import EventKind, Notification, NotificationPreference, NotificationReason

log = logging.getLogger(__name__)

Reason = NotificationReason
# @name not preceded by a word character (an email address) and without a trailing dot or dash
MENTION = markdown.MENTION  # one definition: who is highlighted in a comment is who is notified
MAX_MENTIONS = 50

_REVIEW_KINDS = {
    EventKind.MR_APPROVED: "approved",
    EventKind.MR_CHANGES_REQUESTED: "requested changes on",
    EventKind.MR_REVIEWED: "reviewed",
}


def mentioned_usernames(text: str | None) -> list[str]:
    """The user names ``@mentioned`` in ``text``, in order, each once."""
    seen: dict[str, None] = {}
    for name in MENTION.findall(text or ""):
        seen.setdefault(name, None)
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen)


def added_mentions(before: str | None, after: str | None) -> list[str]:
    """The user names ``after`` mentions that ``before`` did not (an edited description)."""
    earlier = set(mentioned_usernames(before))
    return [name for name in mentioned_usernames(after) if name not in earlier]


def _event_repository(event) -> Repository | None:
    """The event's repository, or for an alert recorded without one, the repository its payload
    names (a slug, or an object with a slug)."""
    if event.repository_id:
        return event.repository
    named = (event.payload or {}).get("repository")
    if isinstance(named, dict):
        named = named.get("slug")
    if isinstance(named, str) and named:
        return Repository.objects.filter(slug=named).first()
    return None


def _title(event, reason: str, repo: Repository | None) -> str:
    who = event.actor_name or "pgGit"
    mr = event.merge_request
    what = f"!{mr.number} {mr.title}" if mr is not None else (repo.name if repo else "")
    where = f" in {repo.name}" if repo is not None and mr is not None else ""
    if reason == Reason.REVIEW_REQUESTED:
        text = f"{who} requested your review on {what}{where}"
    elif reason == Reason.REVIEW_SUBMITTED:
        text = f"{who} {_REVIEW_KINDS.get(event.kind, 'reviewed')} {what}{where}"
    elif reason == Reason.MERGED:
        text = f"{who} merged {what}{where}"
    elif reason == Reason.CLOSED:
        text = f"{who} closed {what}{where}"
    elif reason == Reason.MENTIONED:
        text = f"{who} mentioned you on {what}{where}"
    else:
        alert = (event.payload or {}).get("alert") or {}
        summary = alert.get("title") or alert.get("message") or alert.get("kind") or "an alert"
        text = f"Alert in {repo.name if repo else 'a repository'}: {summary}"
    return text[:300]


def _mention_texts(event) -> list[str]:
    payload = event.payload or {}
    if event.kind == EventKind.COMMENT:
        return [(payload.get("comment") or {}).get("body", "")]
    if event.kind in _REVIEW_KINDS:
        return [(payload.get("review") or {}).get("body", "")]
    if event.kind == EventKind.MR_OPENED:
        return [(payload.get("merge_request") or {}).get("description", "")]
    return []


def recipients(event) -> dict[int, tuple[object, str]]:
    """user id -> (user, reason) of whom ``event`` concerns, before the checks of ``on_event``."""
    User = get_user_model()
    found: dict[int, tuple[object, str]] = {}

    def add(user, reason):
        if user is not None and user.pk not in found:
            found[user.pk] = (user, reason)

    mr = event.merge_request
    payload = event.payload or {}
    if event.kind == EventKind.MR_REVIEW_REQUESTED:
        name = payload.get("reviewer")
        if isinstance(name, str):
            add(User.objects.filter(username=name).first(), Reason.REVIEW_REQUESTED)
    elif event.kind in _REVIEW_KINDS and mr is not None:
        add(mr.author, Reason.REVIEW_SUBMITTED)
    elif event.kind == EventKind.MR_MERGED and mr is not None:
        add(mr.author, Reason.MERGED)
    elif event.kind == EventKind.MR_CLOSED and mr is not None:
        add(mr.author, Reason.CLOSED)
    elif event.kind == EventKind.ALERT_RAISED:
        repo = _event_repository(event)
        if repo is not None:
            for user in User.objects.filter(groups__repository_role__repository=repo,
                                             groups__repository_role__role=Role.MAINTAINER).order_by("pk"):
                add(user, Reason.ALERT)
    names = [n for text in _mention_texts(event) for n in mentioned_usernames(text)]
    if event.kind == EventKind.MR_UPDATED and mr is not None:
        names = _newly_mentioned(event, mr)
    if names:
        for user in User.objects.filter(username__in=names).order_by("pk"):
            add(user, Reason.MENTIONED)
    return found


def _newly_mentioned(event, mr) -> list[str]:
    """An edited description: the names it added (``mentioned`` in the payload, set by
    ``merges.actions.edit``), less those a description of this request mentioned before and who
    were told then (a mention taken out and put back in is not news)."""
    added = (event.payload or {}).get("mentioned")
    if not isinstance(added, list):
        return []
    names = [n for n in added if isinstance(n, str)][:MAX_MENTIONS]
    told = (Notification.objects.filter(merge_request=mr, reason=Reason.MENTIONED, user__username__in=names,
                                        event__kind__in=(EventKind.MR_OPENED, EventKind.MR_UPDATED))
            .exclude(event=event).values_list("user__username", flat=True))
    told = set(told)
    return [n for n in names if n not in told]


def _may_know(user, repo: Repository | None, reason: str) -> bool:
    if not user.is_active:
        return False
    if repo is None:
        return False
    return has_role(user, repo, Role.MAINTAINER if reason == Reason.ALERT else Role.VIEWER)


def on_event(event) -> list[Notification]:
    """The fan-out hook: create the event's notifications, send each new one to its user's bell
    and enqueue its email. Returns the notifications it created (none when run again)."""
    repo = _event_repository(event)
    created: list[Notification] = []
    for user, reason in recipients(event).values():
        if user.pk == event.actor_id or not _may_know(user, repo, reason):
            continue
        notification, new = Notification.objects.get_or_create(event=event, user=user, defaults={
            "reason": reason, "repository": repo, "merge_request": event.merge_request,
            "title": _title(event, reason, repo)})
        if new:
            created.append(notification)
    for notification in created:
        send_live(notification)
        if wants_email(notification.user, notification.reason):
            email_notification.enqueue(notification.pk)
    if created:
        from monitoring.events import _wake_worker

        _wake_worker()
    return created


def wants_email(user, reason: str) -> bool:
    if not user.email:
        return False
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference is None or preference.wants_email(reason)


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def send_live(notification: Notification, unread: int | None = None) -> None:
    """Tell the user's open pages (``/ws/me/``): the new unread count, and the notification."""
    from monitoring.fanout import send_to_groups, user_group
    from monitoring.notification_serializers import NotificationSerializer

    data = {"kind": "notification", "unread": unread_count(notification.user) if unread is None else unread,
            "notification": dict(NotificationSerializer(notification).data)}
    send_to_groups([user_group(notification.user_id)], data)


def send_unread(user) -> None:
    """Tell the user's open pages the unread count after they read some (``{"kind":
    "notifications.read", "unread": n}``)."""
    from monitoring.fanout import send_to_groups, user_group

    send_to_groups([user_group(user.pk)], {"kind": "notifications.read", "unread": unread_count(user)})


def absolute_url(path: str) -> str:
    return f"{getattr(settings, 'PGGIT_SITE_URL', '')}{path}"


def send_notification_email(notification_id: int) -> str:
    """Email one notification, at most once: its row is locked while the mail is sent and
    ``emailed_at`` is set in the same transaction, so a task run again (or a second task for the
    same notification) finds it emailed and sends nothing. A mail server that refuses rolls the
    mark back (the task fails, and may be run again)."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update(of=("self",))
                        .select_related("user", "repository", "merge_request__repository")
                        .filter(pk=notification_id).first())
        if notification is None:
            return "gone"
        if notification.emailed_at is not None:
            return "already emailed"
        user = notification.user
        if not wants_email(user, notification.reason):
            return "not wanted"
        link = absolute_url(notification.get_absolute_url())
        body = (f"{notification.title}\n\n{link}\n\n"
                f"You get this email because: {notification.get_reason_display()}.\n"
                f"Choose which emails you get: {absolute_url('/notifications/preferences/')}\n")
        send_mail(f"[pgGit] {notification.title}", body, None, [user.email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return "emailed"


@task()
def email_notification(notification_id: int) -> str:
    return send_notification_email(notification_id)
