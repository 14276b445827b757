"""Telling open websockets that who may see what has changed, so they check again at once.

A socket forwards events without a database read while its last full check is younger than
``PGGIT_WS_RECHECK_SECONDS`` (``monitoring.consumers``). So that a member removed does not keep
receiving for that long, every change the app makes to access sends ``pggit.access`` to the
access group of each user it touches (``fanout.access_group``: all of that user's sockets), after
the change commits; each socket then checks its credentials and role in full and closes itself
(4403) when they no longer hold.

The changes: a user added to or removed from a group (a role of a repository; ``grant``, the
admin, ``user.groups``, ``group.user_set``, either side's ``clear``), a role group or repository
deleted (its members), a user saved or deleted (active, superuser), a personal access token saved
or deleted (revoked), a sign-out. What is changed behind the app's back (SQL on its tables, a
queryset ``update()``) is seen by the sockets at their next event after the recheck interval.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

ACCESS_MESSAGE = "pggit.access"  # LiveConsumer.pggit_access


def send_access_changed(user_ids) -> None:
    """Tell ``user_ids``' sockets to check again, when the current transaction commits."""
    ids = sorted({int(pk) for pk in user_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: _send(ids))


def _send(user_ids: list[int]) -> None:
    from monitoring.fanout import access_group, send_to_groups

    try:
        send_to_groups([access_group(pk) for pk in user_ids], {}, message_type=ACCESS_MESSAGE)
    except Exception:  # the change is made; the sockets still check at their next event after the interval
        logger.warning("could not tell the sockets of users %s to check their access", user_ids, exc_info=True)


def _group_members(group) -> list[int]:
    return list(group.user_set.values_list("pk", flat=True))


def _membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    from django.contrib.auth.models import Group

    if action == "pre_clear":
        # the rows are gone after the clear: remember whose they were
        instance._pggit_cleared = _group_members(instance) if isinstance(instance, Group) else [instance.pk]
        return
    if action == "post_clear":
        send_access_changed(getattr(instance, "_pggit_cleared", []))
    elif action in ("post_add", "post_remove"):
        send_access_changed((pk_set or []) if reverse else [instance.pk])


def _role_group_deleted(sender, instance, **kwargs):
    # a repository's role group (deleted with its group, or with its repository)
    send_access_changed(_group_members(instance.group))


def _group_deleted(sender, instance, **kwargs):
    send_access_changed(_group_members(instance))


def _user_changed(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes no one's access
    send_access_changed([instance.pk])


def _token_changed(sender, instance, **kwargs):
    send_access_changed([instance.user_id])


def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        send_access_changed([user.pk])


def connect() -> None:
    """Connect the receivers (``MonitoringConfig.ready``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

    from api.models import PersonalAccessToken
    from branches.models import RepositoryGroup

    User = get_user_model()
    m2m_changed.connect(_membership_changed, sender=User.groups.through, dispatch_uid="pggit_access_membership")
    pre_delete.connect(_role_group_deleted, sender=RepositoryGroup, dispatch_uid="pggit_access_role_group")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="pggit_access_group")
    post_save.connect(_user_changed, sender=User, dispatch_uid="pggit_access_user_saved")
    post_delete.connect(_user_changed, sender=User, dispatch_uid="pggit_access_user_deleted")
    post_save.connect(_token_changed, sender=PersonalAccessToken, dispatch_uid="pggit_access_token_saved")
    post_delete.connect(_token_changed, sender=PersonalAccessToken, dispatch_uid="pggit_access_token_deleted")
    user_logged_out.connect(_signed_out, dispatch_uid="pggit_access_signed_out")
