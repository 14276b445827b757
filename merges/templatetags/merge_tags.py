"""Template helpers of the merge request pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATE_ICONS = {"open": "●", "changes_requested": "±", "approved": "✓", "merged": "⇢", "closed": "✕", "draft": "✎",
               "conflicts": "⚠", "blocked": "⊘"}


@register.simple_tag
def state_badge(mr, badge=None):
    """The request's state as a coloured pill: ``badge`` (``merges.reads.badge``: draft, approvals
    n/m, conflicts, blocked...) or, without it, what the request's row alone says (never
    "approved" for a request that needs no approval)."""
    if badge is None:
        from merges.reads import badge as badge_of

        badge = badge_of(mr)
    return format_html('<span class="state state-{}" data-state="{}" data-badge="{}">{} {}</span>', badge.kind,
                       mr.state, badge.kind, STATE_ICONS.get(badge.kind, ""), badge.label)


@register.filter
def anchor(identity):
    from merges.reads import anchor_for

    return anchor_for(identity or "")


@register.filter
def conflict_words(kind):
    """``BOTH_MODIFIED`` -> "changed on both sides" (``merges.reads.CONFLICT_WORDS``)."""
    from merges.reads import conflict_words as words

    return words(kind)


@register.filter
def resolution_words(resolution):
    """``source`` -> "the source's version" (``merges.reads.RESOLUTION_WORDS``)."""
    from merges.reads import resolution_words as words

    return words(resolution)


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


@register.inclusion_tag("merges/_open_merge_requests_box.html")
def branch_merge_requests_box(repo, branch):
    """The open merge requests from or into ``branch``, for the page that confirms its deletion
    (nothing when there are none)."""
    from merges.reads import open_merge_requests

    return {"repo": repo, "merge_requests": open_merge_requests(repo, branch=branch), "branch": branch,
            "box_id": "branch-merge-requests", "hide_empty": True}


@register.simple_tag
def delete_branch_question(repo, branch):
    """The question the branch list asks before deleting ``branch``, naming its open requests."""
    from merges.reads import open_merge_requests

    found = open_merge_requests(repo, branch=branch)
    if not found:
        return "Delete this branch?"
    names = ", ".join(f"!{mr.number} {mr.title}" for mr in found)
    return (f"Delete this branch? Open merge request{'s' if len(found) > 1 else ''} {names} "
            f"{'use' if len(found) > 1 else 'uses'} it: {'they' if len(found) > 1 else 'it'} "
            "will say that the branch is gone.")


@register.simple_tag
def label_chip(label, repo=None):
    """A label as a coloured chip; with ``repo``, a link to the merge requests that carry it."""
    from merges.reads import label_text_color

    # (colours are set by static/js/pggit.js from data-color: the CSP refuses style attributes)
    colors = format_html('data-color="{}" data-text-color="{}"', label.color, label_text_color(label.color))
    if repo is None:
        return format_html('<span class="label-chip" data-label="{}" {} title="{}">{}</span>', label.name,
                           colors, label.description, label.name)
    from urllib.parse import urlencode

    from django.urls import reverse

    url = reverse("merges:list", kwargs={"slug": repo.slug}) + "?" + urlencode({"state": "all", "label": label.name})
    return format_html('<a class="label-chip" data-label="{}" {} title="{}" href="{}">{}</a>', label.name,
                       colors, label.description, url, label.name)


@register.simple_tag
def filter_query(filters, **changes):
    """The list's query string with one filter changed, the others kept (``ListFilters.query``)."""
    return filters.query(**changes)


@register.inclusion_tag("merges/_labels_settings.html", takes_context=True)
def labels_settings(context, repo):
    """The repository settings page's Labels section (maintainers), served by ``merges`` so that
    ``branches`` needs nothing from it."""
    from merges.reads import labels

    return {"repo": repo, "labels": labels(repo), "csrf_token": context.get("csrf_token")}
