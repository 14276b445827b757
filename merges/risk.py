"""Risky steps in a migration: what a reviewer must look at before a merge runs it.

``risky_steps(steps, existing, live_rows, data_loss)`` reads the migration the merge would run
(the engine's SQL steps, one statement each) and returns one Warning per risky statement:

- ``drop_table`` / ``drop_column``: data is gone for good (``loses_data`` when the live
  database has rows there, from the engine's ``data_loss_steps``);
- ``type_change``: ALTER COLUMN ... TYPE, which rewrites the table and its indexes under an
  ACCESS EXCLUSIVE lock (unless PostgreSQL can skip the rewrite, e.g. varchar -> text);
- ``index_without_concurrently``: CREATE INDEX without CONCURRENTLY on a table the live
  database holds ``large_rows`` rows or more in (it blocks writes while it builds);
- ``set_not_null``: SET NOT NULL on a column that existed before (a full scan under an
  exclusive lock, and it fails if a row holds NULL);
- ``add_not_null_column``: a new NOT NULL column without a default on an existing table (fails
  if the table has rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENT = r'(?:"(?:[^"]|"")+"|[^\s."(;,]+)'
QNAME = rf"{IDENT}(?:\.{IDENT})?"

_DROP_TABLE = re.compile(rf"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<table>{QNAME})", re.I)
_ALTER = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?(?P<table>{QNAME})\s+(?P<rest>.*)$", re.I | re.S)
_DROP_COLUMN = re.compile(rf"DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?(?P<column>{IDENT})", re.I)
_TYPE = re.compile(rf"ALTER\s+COLUMN\s+(?P<column>{IDENT})\s+(?:SET\s+DATA\s+)?TYPE\s+(?P<type>[^,;]+?)(?:\s+USING\b|[,;]|$)", re.I)
_SET_NOT_NULL = re.compile(rf"ALTER\s+COLUMN\s+(?P<column>{IDENT})\s+SET\s+NOT\s+NULL", re.I)
_ADD_COLUMN = re.compile(rf"ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<column>{IDENT})\s+(?P<spec>[^,;]*)", re.I)
_CREATE_INDEX = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?P<concurrently>CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:{QNAME}\s+)?ON\s+(?:ONLY\s+)?(?P<table>{QNAME})", re.I)
_NO_REWRITE_TYPES = re.compile(r"^(text|character varying(\(\d+\))?|varchar(\(\d+\))?)$", re.I)


@dataclass(frozen=True)
class Warning:
    kind: str
    table: str
    message: str
    statement: str
    loses_data: bool = False


def unquote_name(name: str) -> str:
    """A quoted name as the engine's identities spell it: quotes removed, doubled quotes undone."""
    parts = re.findall(r'"((?:[^"]|"")+)"|([^."]+)', name)
    return ".".join(q.replace('""', '"') if q else p for q, p in parts)


_CREATE_TABLE = re.compile(
    rf"^\s*CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMPORARY|TEMP|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<table>{QNAME})",
    re.I)


def created_tables(steps: list[str]) -> set[str]:
    """Tables the steps create (the others they touch existed before them)."""
    return {unquote_name(m["table"]) for step in steps if (m := _CREATE_TABLE.match(step))}


def risky_steps(steps: list[str], *, live_rows: dict[str, float], existing_tables: set[str] | None = None,
                data_loss: list[dict] | None = None, large_rows: int = 100_000) -> list[Warning]:
    """Warnings for ``steps``. ``existing_tables``: tables ("schema.name") of the state the steps
    start from (default: every table the steps touch but do not create); ``live_rows``:
    estimated rows per live table; ``data_loss``: the engine's ``data_loss_steps`` rows (their
    ``statement`` marks steps that drop data that exists)."""
    losing = {(row.get("statement") or row.get("step") or "").strip() for row in (data_loss or [])}
    new_tables = created_tables(steps) if existing_tables is None else set()
    out: list[Warning] = []
    for step in steps:
        text = step.strip()
        head = text.split("\n", 1)[0]
        if m := _DROP_TABLE.match(text):
            table = unquote_name(m["table"])
            out.append(Warning("drop_table", table, f"drops table {table} and every row in it", head,
                               text in losing or live_rows.get(table, 0) > 0))
            continue
        if m := _CREATE_INDEX.match(text):
            table = unquote_name(m["table"])
            rows = live_rows.get(table, 0)
            existed = table in existing_tables if existing_tables is not None else table not in new_tables
            if not m["concurrently"] and existed and rows >= large_rows:
                out.append(Warning("index_without_concurrently", table,
                                   f"builds an index without CONCURRENTLY on {table} (about {int(rows):,} rows): "
                                   "writes to the table wait until it is built", head))
            continue
        m = _ALTER.match(text)
        if not m:
            continue
        table, rest = unquote_name(m["table"]), m["rest"]
        existed = table in existing_tables if existing_tables is not None else table not in new_tables
        for c in _DROP_COLUMN.finditer(rest):
            column = unquote_name(c["column"])
            out.append(Warning("drop_column", table, f"drops column {column} of {table} and its data", head,
                               text in losing))
        for c in _TYPE.finditer(rest):
            column, new_type = unquote_name(c["column"]), c["type"].strip()
            if existed:
                note = ("may skip the rewrite if only the length grows" if _NO_REWRITE_TYPES.match(new_type)
                        else "rewrites the table and its indexes under an exclusive lock")
                out.append(Warning("type_change", table, f"changes the type of {table}.{column} to {new_type}: {note}",
                                   head, text in losing))
        for c in _SET_NOT_NULL.finditer(rest):
            if existed:
                column = unquote_name(c["column"])
                out.append(Warning("set_not_null", table,
                                   f"sets NOT NULL on the existing column {table}.{column}: scans the table under "
                                   "an exclusive lock and fails if a row holds NULL", head))
        for c in _ADD_COLUMN.finditer(rest):
            spec = c["spec"]
            if existed and re.search(r"\bNOT\s+NULL\b", spec, re.I) and not re.search(r"\b(DEFAULT|GENERATED)\b", spec, re.I):
                column = unquote_name(c["column"])
                out.append(Warning("add_not_null_column", table,
                                   f"adds NOT NULL column {table}.{column} without a default: fails if {table} has rows",
                                   head))
    return out
