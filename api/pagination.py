"""Cursor pagination: ``{"next": url|null, "previous": url|null, "results": [...]}``.

Lists kept in Django's database use DRF's ``CursorPagination``. Lists read from the engine (a
branch's history) use ``EngineCursor``: the cursor pins the commit the first page started at and
an offset below it, so commits made meanwhile do not shift the pages a client is walking.
"""

from __future__ import annotations

import base64
import binascii
import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

from pggit_web.errors import ActionError

MAX_PAGE_SIZE = 200


class DefaultCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-pk"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF says 404; a cursor the API did not give is a bad request, as for engine lists
            raise ActionError("the cursor is not one this API gave", code="invalid_cursor") from None


class NameCursorPagination(DefaultCursorPagination):
    ordering = "name"


class CreatedCursorPagination(DefaultCursorPagination):
    ordering = ("-created", "digest")


def page_size(request, default: int = 50) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ActionError("page_size is a whole number", code="invalid_page_size") from None
    return max(1, min(size, MAX_PAGE_SIZE))


_CURSOR = re.compile(r"([0-9a-f]{1,64}):(\d{1,9})")


class EngineCursor:
    """``?cursor=`` of a list read from the engine: (pinned commit id, offset)."""

    def __init__(self, request):
        self.request = request
        self.size = page_size(request)
        self.pinned: str | None = None
        self.offset = 0
        raw = request.query_params.get("cursor")
        if raw:
            try:
                text = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                text = ""
            match = _CURSOR.fullmatch(text)
            if not match:
                raise ActionError("the cursor is not one this API gave", code="invalid_cursor")
            self.pinned, self.offset = match[1], int(match[2])

    def _url(self, offset: int | None) -> str | None:
        url = self.request.build_absolute_uri()
        if offset is None:
            return None
        if offset == 0 and self.pinned is None:
            return remove_query_param(url, "cursor")
        cursor = base64.urlsafe_b64encode(f"{self.pinned}:{offset}".encode()).decode().rstrip("=")
        return replace_query_param(url, "cursor", cursor)

    def response(self, pinned: str, rows: list, serialize) -> dict:
        """``rows`` holds up to ``size + 1`` items from ``offset``; the extra one says there is a next page."""
        self.pinned = pinned
        more = len(rows) > self.size
        return {"next": self._url(self.offset + self.size) if more else None,
                "previous": self._url(max(0, self.offset - self.size)) if self.offset else None,
                "results": serialize(rows[:self.size])}
