"""``{% notification_bell %}``: the header's bell with the signed-in user's unread count; its
number is kept current by static/js/notifications.js over ``/ws/me/``."""

from django import template

from monitoring.notification_reads import unread_count

register = template.Library()


@register.inclusion_tag("monitoring/_bell.html", takes_context=True)
def notification_bell(context):
    user = context.get("user")
    unread = unread_count(user) if user is not None and user.is_authenticated else 0
    return {"unread": unread}
