"""Rendering SQL for pages: syntax colouring, side-by-side diffs and marked columns.

Shared by the branch, merge-request and conflict pages. Every function returns HTML that is
safe to insert: each token's text is escaped, so a definition holding ``<script>`` shows as text.

The colours come from Pygments' ``PostgresLexer`` and its short token classes (``k``, ``s1``,
``cm``...), styled under ``.sql`` in ``static/css/code.css``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PostgresLexer
from pygments.token import STANDARD_TYPES

__all__ = ["Row", "Line", "highlight_sql", "side_by_side", "marked_lines", "highlight_lines"]


@dataclass
class Row:
    """One row of a two-column diff: a line number and HTML per side (None/empty where absent)."""

    left_no: int | None
    left: SafeString
    right_no: int | None
    right: SafeString
    kind: str  # 'equal' | 'delete' | 'insert' | 'replace'


@dataclass
class Line:
    """One line of one column of a three-way view; ``changed`` when it is not in the base."""

    no: int
    html: SafeString
    changed: bool


EMPTY = mark_safe("")


def _lexer() -> PostgresLexer:
    # stripnl=False keeps leading/trailing blank lines, so line numbers match the text.
    return PostgresLexer(stripnl=False, ensurenl=True)


def _normalize(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _split(text: str) -> list[str]:
    """The lines of ``text``; a trailing newline does not make an extra empty line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def highlight_sql(text: str | None) -> SafeString:
    """``text`` coloured as PostgreSQL SQL, in ``<pre class="sql"><code>``; escaped."""
    body = highlight(_normalize(text), _lexer(), HtmlFormatter(nowrap=True)) if text else ""
    return mark_safe(f'<pre class="sql"><code>{body}</code></pre>')


def _css_class(ttype) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def highlight_lines(text: str | None) -> list[SafeString]:
    """One HTML string per line of ``text``.

    The whole text is tokenized at once and tokens are split on newlines, so a token that spans
    lines (a ``/* ... */`` comment, a dollar-quoted function body) keeps its colour on each line.
    """
    text = _normalize(text)
    count = len(_split(text))
    if not count:
        return []
    lines: list[list[str]] = [[]]
    for ttype, value in _lexer().get_tokens(text):
        cls = _css_class(ttype)
        for i, part in enumerate(value.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append(f'<span class="{cls}">{escape(part)}</span>' if cls not in ("", "w")
                                 else escape(part))
    return [mark_safe("".join(parts)) for parts in lines[:count]] + [EMPTY] * (count - len(lines))


def side_by_side(old: str | None, new: str | None) -> list[Row]:
    """Rows of a two-column diff of ``old`` and ``new`` (difflib on lines), each side coloured.

    A replaced block pairs lines one to one as ``replace``; the longer side's remaining lines are
    ``delete`` (left only) or ``insert`` (right only) rows.
    """
    old_text, new_text = _normalize(old), _normalize(new)
    a, b = _split(old_text), _split(new_text)
    a_html, b_html = highlight_lines(old_text), highlight_lines(new_text)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Row(i + 1, a_html[i], j + 1, b_html[j], "equal") for i, j in zip(range(i1, i2), range(j1, j2)))
        elif tag == "delete":
            rows.extend(Row(i + 1, a_html[i], None, EMPTY, "delete") for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(Row(None, EMPTY, j + 1, b_html[j], "insert") for j in range(j1, j2))
        else:  # replace
            n, m = i2 - i1, j2 - j1
            for k in range(max(n, m)):
                if k < n and k < m:
                    rows.append(Row(i1 + k + 1, a_html[i1 + k], j1 + k + 1, b_html[j1 + k], "replace"))
                elif k < n:
                    rows.append(Row(i1 + k + 1, a_html[i1 + k], None, EMPTY, "delete"))
                else:
                    rows.append(Row(None, EMPTY, j1 + k + 1, b_html[j1 + k], "insert"))
    return rows


def marked_lines(base: str | None, other: str | None) -> list[Line]:
    """The lines of ``other``, coloured, each marked ``changed`` when difflib does not find it
    in ``base`` (one column of a base / source / target view)."""
    base_text, other_text = _normalize(base), _normalize(other)
    a, b = _split(base_text), _split(other_text)
    html = highlight_lines(other_text)
    unchanged: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            unchanged.update(range(j1, j2))
    return [Line(j + 1, html[j], j not in unchanged) for j in range(len(b))]
