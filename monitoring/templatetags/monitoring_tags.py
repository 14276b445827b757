"""``{% drift_key repo %}``: the key of the dashboard's drift box (``monitoring.reads.drift_key``):
a live dashboard loads the box again when a checkout, merge or drift event changed it."""

from django import template

from monitoring.reads import drift_key as read_drift_key

register = template.Library()


@register.simple_tag
def drift_key(repo) -> int:
    return read_drift_key(repo)
