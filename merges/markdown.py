"""Markdown of merge request descriptions, comments and review bodies, rendered safely.

markdown-it-py parses CommonMark (plus tables and strikethrough) with raw HTML off, so ``<b>`` in a
comment is shown as text; ``@name`` becomes a highlighted mention and ``!123`` a link to merge
request 123 of the same repository (never inside code or an existing link). nh3 (the Ammonia
sanitizer) then keeps only the tags, attributes and URL schemes listed here, a second line of
defence should the parser ever let something through. Images are not rendered (no third-party
requests from a review page). Django-free: the caller says which mentions and numbers exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# a mention starts after a space or punctuation (not inside a word or an e-mail address); Django
# usernames are letters, digits and @ . + - _, and a trailing dot ends the sentence, not the name.
# (monitoring.notifications notifies the same names)
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]*[\w+])")
REFERENCE = re.compile(r"(?<![\w&#!/])!(\d{1,9})\b")
REFS = re.compile(f"{MENTION.pattern}|{REFERENCE.pattern}")

TAGS = {"a", "p", "br", "hr", "em", "strong", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span"}
ATTRIBUTES = {"a": {"href", "title", "class"}, "span": {"class", "title"}, "code": {"class"},
              "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}


@dataclass
class Links:
    """What the text may link to: ``mentions`` maps a username that exists to its profile URL
    ("" when there is no profile page: the mention is only highlighted); ``reference`` gives the
    URL of merge request n of this repository, or None when there is none."""

    mentions: dict[str, str] = field(default_factory=dict)
    reference: Callable[[int], str | None] = lambda number: None


def mentioned(text: str) -> set[str]:
    """The usernames ``text`` mentions (to look up which exist before rendering)."""
    return set(MENTION.findall(text or ""))


def referenced(text: str) -> set[int]:
    """The merge request numbers ``text`` refers to with ``!n``."""
    return {int(n) for n in REFERENCE.findall(text or "")}


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
    md.disable("image")
    return md


_MD = _parser()


def _wrap(tag: str, attrs: dict, text: str, level: int) -> list[Token]:
    opening = Token(f"{tag}_ref_open", tag, 1, attrs=attrs, level=level)
    inner = Token("text", "", 0, content=text, level=level + 1)
    return [opening, inner, Token(f"{tag}_ref_close", tag, -1, level=level)]


def _split(token: Token, links: Links) -> list[Token]:
    """A text token cut into text, mentions and merge request links."""
    out: list[Token] = []
    text, pos = token.content, 0
    for match in REFS.finditer(text):
        name, number = match.group(1), match.group(2)
        if name is not None:
            if name not in links.mentions:
                continue
            url = links.mentions[name]
            made = (_wrap("a", {"href": url, "class": "mention"}, match.group(0), token.level) if url
                    else _wrap("span", {"class": "mention", "title": name}, match.group(0), token.level))
        else:
            url = links.reference(int(number))
            if not url:
                continue
            made = _wrap("a", {"href": url, "class": "mr-ref"}, match.group(0), token.level)
        if match.start() > pos:
            out.append(Token("text", "", 0, content=text[pos:match.start()], level=token.level))
        out.extend(made)
        pos = match.end()
    if not out:
        return [token]
    if pos < len(text):
        out.append(Token("text", "", 0, content=text[pos:], level=token.level))
    return out


def _link_references(tokens: list[Token], links: Links) -> None:
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for child in block.children:
            if child.type == "link_open":
                in_link += 1
            elif child.type == "link_close":
                in_link -= 1
            children.extend(_split(child, links) if child.type == "text" and not in_link else [child])
        block.children = children


def render_markdown(text: str, links: Links | None = None) -> str:
    """``text`` as sanitized HTML (a ``str`` the caller may mark safe)."""
    env: dict = {}
    tokens = _MD.parse(text or "", env)
    _link_references(tokens, links or Links())
    html = _MD.renderer.render(tokens, _MD.options, env)
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                     link_rel="nofollow noopener noreferrer", strip_comments=True)
