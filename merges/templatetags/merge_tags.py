"""Template helpers of the merge request pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATE_ICONS = {"open": "●", "changes_requested": "●", "approved": "✓", "merged": "⇢", "closed": "✕"}


@register.simple_tag
def state_badge(mr):
    """The request's state as a coloured pill (plus a "draft" outline pill for drafts)."""
    html = format_html('<span class="state state-{}" data-state="{}">{} {}</span>', mr.state, mr.state,
                       STATE_ICONS.get(mr.state, ""), mr.get_state_display())
    if mr.draft and not mr.is_closed:
        html += mark_safe('<span class="state state-draft">draft</span>')
    return html


@register.filter
def anchor(identity):
    from merges.reads import anchor_for

    return anchor_for(identity or "")


@register.filter
def markdown(text, repo):
    """A description, comment or review body (Markdown) as sanitized HTML, with ``@mentions``
    of the repository's members and ``!n`` links to its merge requests: ``{{ c.body|markdown:repo }}``."""
    from merges.markdown import render_markdown
    from merges.reads import markdown_links

    if not text:
        return ""
    return mark_safe(render_markdown(text, markdown_links(repo, text)))  # sanitized by nh3


@register.filter
def at(mapping, key):
    """``mapping[key]`` in a template (None when absent): ``{{ o.line_threads|at:row.right_no }}``."""
    return (mapping or {}).get(key)


@register.filter
def merge_kind(kind):
    return {"fast_forward": "fast-forward", "merge": "merge commit", "up_to_date": "up to date"}.get(kind, kind)


@register.filter
def initials(user):
    name = user.get_username() if user else "?"
    return (name[:1] or "?").upper()


@register.inclusion_tag("merges/_open_merge_requests_box.html")
def open_merge_requests_box(repo):
    """The repository dashboard's "Open merge requests" box (a branch page gets merge requests
    as a fragment from ``merges``: ``branches`` imports nothing from it)."""
    from merges.reads import open_merge_requests

    return {"repo": repo, "merge_requests": open_merge_requests(repo)}
