"""Changes to a user's notifications: mark read, mark all read, email preferences.

Each works on the caller's own notifications only (another user's id is a 404, as if it did not
exist), and tells the caller's open pages the new unread count."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from monitoring import notification_reads as reads
from monitoring.models import Notification, NotificationPreference, NotificationReason
from monitoring.notifications import send_unread
from pggit_web.errors import ActionError, NotFound


def mark_read(user, notification_id: int) -> Notification:
    notification = reads.notifications(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(f"you have no notification {notification_id}", code="notification_not_found")
    if notification.read_at is None:
        with transaction.atomic():
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
            notification.refresh_from_db(fields=["read_at"])
            transaction.on_commit(lambda: send_unread(user), robust=True)
    return notification


def mark_all_read(user) -> int:
    """Mark every unread notification of ``user`` (that the caller's token sees) read; how many."""
    with transaction.atomic():
        marked = reads.notifications(user, unread_only=True).update(read_at=timezone.now())
        if marked:
            transaction.on_commit(lambda: send_unread(user), robust=True)
    return marked


EMAIL_FIELDS = ["email_" + reason for reason in NotificationReason.values]


def set_preferences(user, **choices: bool) -> NotificationPreference:
    """Turn the email of each named reason on or off (``email_mentioned=False``...)."""
    unknown = set(choices) - set(EMAIL_FIELDS)
    if unknown:
        raise ActionError(f"unknown preference {sorted(unknown)[0]!r}", code="invalid_preference")
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        for name, on in choices.items():
            setattr(preference, name, bool(on))
        preference.save()
    return preference
