"""Template helpers of the repository pages."""

from urllib.parse import urlencode

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def optional_url(name, *args, query=None, **kwargs):
    """The URL named ``name`` or "" when it does not exist (yet): pages link to other apps'
    pages only once those are there. ``query``: a dict appended as a query string."""
    try:
        url = reverse(name, args=args, kwargs=kwargs)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


@register.simple_tag
def query(**params):
    """A query string from keyword arguments (empty values dropped), e.g. for compare links."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


@register.simple_tag(takes_context=True)
def page_url(context, page):
    """The current URL with ``page`` replaced."""
    params = context["request"].GET.copy()
    params["page"] = page
    return "?" + params.urlencode()


@register.filter
def short(commit_id):
    return (commit_id or "")[:12]


@register.filter
def subject(message):
    """The first line of a commit message."""
    return (message or "").strip().split("\n", 1)[0]


@register.filter
def body(message):
    """A commit message after its first line."""
    parts = (message or "").strip().split("\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


@register.filter
def highlight(text):
    from branches.render import highlight_sql

    return highlight_sql(text)


@register.filter
def who(row):
    """A commit's author, and the database role that committed for them when it differs (the
    engine records the person a client acts for as author, the role as committer)."""
    from django.utils.html import format_html

    committer = row.get("committer") if isinstance(row, dict) else getattr(row, "committer", None)
    author = row.get("author") if isinstance(row, dict) else getattr(row, "author", "")
    if not committer:
        return author
    return format_html('{} <span class="muted" title="committed by the database role {}">via {}</span>',
                       author, committer, committer)
