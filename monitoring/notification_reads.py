"""What the notification pages and the API show of a user's notifications and preferences."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from branches.access import token_scope
from monitoring.models import Notification, NotificationPreference, NotificationReason


def notifications(user, unread_only: bool = False) -> QuerySet:
    """``user``'s notifications, newest first. A personal access token sees only those of the
    repositories it names."""
    qs = (Notification.objects.filter(user=user)
          .select_related("event", "repository", "merge_request__repository").order_by("-id"))
    scope = token_scope(user)
    if scope is not None:
        qs = qs.filter(Q(repository__isnull=True) | Q(repository_id__in=scope.repository_ids))
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def unread_count(user) -> int:
    return notifications(user, unread_only=True).count()


def preferences(user) -> NotificationPreference:
    """The user's email preferences (the defaults, unsaved, when they never chose)."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def preference_rows(preference: NotificationPreference) -> list[tuple[str, str, bool]]:
    """(field name, label, on) for each reason, for the preferences page."""
    return [(f"email_{reason}", label, getattr(preference, f"email_{reason}"))
            for reason, label in NotificationReason.choices]
