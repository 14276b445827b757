"""Markdown in descriptions, comments and review bodies: rendered, sanitized, with @mentions of the
repository's members and !n links to its merge requests (merges/markdown.py, the ``markdown`` filter)."""

import re

import pytest
from django.urls import reverse

from merges import actions
from merges.markdown import Links, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<p style="position:fixed" onclick="x()">hi</p>',
    "<iframe src=//evil></iframe>",
    "![x](javascript:alert(1))",
    '[x](http://ok "t\\" onmouseover=\\"alert(1)")',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_without_scripts_handlers_or_raw_html(text):
    html = render_markdown(text, Links(mentions={"bob": ""}, reference=lambda n: f"/mr/{n}"))
    tags = parsed(html)
    assert {t for t, _ in tags} <= {"p", "a", "code", "em", "strong"}, html
    for _, attrs in tags:
        assert set(attrs) <= {"href", "title", "rel", "class"}, html
        assert not re.match(r"\s*(javascript|vbscript|data):", attrs.get("href", ""), re.I), html
    assert "<script" not in html.lower() and "<iframe" not in html.lower()


def parsed(html: str) -> list[tuple[str, dict]]:
    """Every start tag of ``html`` with its attributes, as a browser's tokenizer reads them."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


def test_markdown_renders_emphasis_code_lists_and_links_with_rel():
    html = render_markdown("**bold** _it_ `x < y`\n\n- one\n- two\n\n```sql\nSELECT 1;\n```\n\n[docs](https://example.com/a?b=1&c=2)")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>x &lt; y</code>" in html
    assert "<li>one</li>" in html and "SELECT 1;" in html
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html and 'rel="nofollow noopener noreferrer"' in html


def test_mentions_and_references_are_linked_only_outside_code_links_and_words():
    links = Links(mentions={"bob": "", "eve": "/u/eve"}, reference=lambda n: f"/mr/{n}" if n == 3 else None)
    html = render_markdown("@bob @eve @nobody !3 !4 `@bob !3` mail@bob.com [@bob !3](https://x) @bob.", links)
    assert html.count('<span class="mention" title="bob">@bob</span>') == 2
    assert '<a href="/u/eve" class="mention" rel="nofollow noopener noreferrer">@eve</a>' in html
    assert html.count('class="mr-ref"') == 1 and 'href="/mr/3"' in html
    assert "@nobody" in html and "!4" in html and "<code>@bob !3</code>" in html and "mail@bob.com" in html


# the pages -----------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


def detail(mr):
    return reverse("merges:detail", kwargs={"slug": mr.repository.slug, "number": mr.number})


@pytestmark_db
def test_description_comment_and_review_show_rendered_markdown_with_mentions_and_links(
        repo, author, reviewer, outsider, as_user):
    first = actions.open_merge_request(author, repo, source="main", target="feature-colors", title="first")
    mr = actions.open_merge_request(
        author, repo, source="feature-colors", target="main", title="second",
        description=f"Follows !{first.number}, not !999. Ask @{reviewer.username} or @{outsider.username}.\n\n"
                    "<script>alert('d')</script> [x](javascript:alert(1))")
    web = as_user(reviewer)
    assert web.post(reverse("merges:comment", kwargs={"slug": repo.slug, "number": mr.number}),
                    {"body": "**Looks** fine, `DROP TABLE \"x\"; --` ünïcode <b onclick=\"x()\">b</b>"}).status_code == 302
    assert web.post(reverse("merges:review", kwargs={"slug": repo.slug, "number": mr.number}),
                    {"verdict": "comment", "body": "- [ ] one\n- two <img src=x onerror=alert(2)>"}).status_code == 302
    html = web.get(detail(mr)).content.decode()
    assert f'<a href="{detail(first)}" class="mr-ref" rel="nofollow noopener noreferrer">!{first.number}</a>' in html
    assert "!999" in html and 'href="/repos/widgets/merge-requests/999/"' not in html
    assert f'<span class="mention" title="{reviewer.username}">@{reviewer.username}</span>' in html
    assert f'title="{outsider.username}"' not in html  # not a member: plain text
    assert "<strong>Looks</strong>" in html and "<code>DROP TABLE \"x\"; --</code>" in html and "ünïcode" in html
    assert "<li>two &lt;img src=x onerror=alert(2)&gt;</li>" in html
    assert "<script>alert('d')" not in html and "&lt;script&gt;alert('d')&lt;/script&gt;" in html
    assert 'href="javascript' not in html and "[x](javascript:alert(1))" in html
    assert "<b onclick" not in html and "<img" not in html and "&lt;b onclick=" in html


@pytestmark_db
def test_object_comment_markdown_is_rendered_on_the_changes_tab(repo, author, reviewer, as_user):
    from pggit.client import Client

    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text)")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="t")
    web = as_user(reviewer)
    kwargs = {"slug": repo.slug, "number": mr.number}
    web.post(reverse("merges:comment", kwargs=kwargs),
             {"body": "needs a *primary key* <script>x()</script>", "object_identity": "table public.colors"})
    html = web.get(reverse("merges:changes", kwargs=kwargs)).content.decode()
    assert "needs a <em>primary key</em> &lt;script&gt;x()&lt;/script&gt;" in html
