"""Build the engine's install script from ``sql/src`` and install or upgrade it.

Layout (pg_partman style): ``sql/src/*.sql`` are the sources of the version in ``sql/VERSION``,
concatenated in file-name order into one install script. A released version's upgrade lives in
``sql/updates/pggit--FROM--TO.sql``; a shipped update script is never edited. The full install
script of every released version is kept as ``sql/releases/pggit--VERSION.sql`` (the output of
``build_script`` at the release commit; never edited either), so upgrades can be tested from it.

Upgrading: functions are code, tables are data. ``install`` on an older installed version runs
the chain of update scripts, then re-creates every engine function from the current sources:

* each top-level ``CREATE FUNCTION`` / ``CREATE PROCEDURE`` statement of ``build_script()`` is
  run as ``CREATE OR REPLACE`` (an existing function keeps its OID, so triggers, event triggers
  and privileges that use it stay);
* functions of schema ``pggit`` that the sources no longer define are dropped (without CASCADE;
  members of extensions and aggregates are left alone);
* the top-level ``GRANT`` / ``REVOKE`` statements of the sources are run again, so a new
  function is not left executable by PUBLIC.

An update script therefore carries only table, type, index, trigger and event-trigger changes,
plus a ``DROP FUNCTION`` for each function whose ``CREATE OR REPLACE`` PostgreSQL would refuse:
changed return type (including OUT / ``RETURNS TABLE`` columns), renamed input parameters,
removed parameter defaults. A function the update script itself needs (say, for a new trigger)
it may create; the re-creation then replaces it with the sources' definition.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_LOCK_KEY = 0x7067676974  # advisory lock held while installing: two installers never interleave


def current_version(sql_dir: Path = SQL_DIR) -> str:
    return (sql_dir / "VERSION").read_text().strip()


def build_script(sql_dir: Path = SQL_DIR) -> str:
    """The full install script of the current version."""
    parts = [f"-- pgGit {current_version(sql_dir)} install script, built from sql/src\n"]
    for path in sorted((sql_dir / "src").glob("*.sql")):
        parts.append(f"\n-- ---- {path.name} ----\n")
        parts.append(path.read_text())
    return "".join(parts)


def release_script(version: str, sql_dir: Path = SQL_DIR) -> Path:
    """The kept full install script of a released version (``sql/releases/pggit--VERSION.sql``)."""
    return sql_dir / "releases" / f"pggit--{version}.sql"


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]")


def split_statements(script: str) -> list[str]:
    """The top-level statements of an SQL script, each with its terminating ``;``, without the
    comments and blank space before it. Knows ``--`` and (nested) ``/* */`` comments, '...' and
    E'...' strings, "..." identifiers and dollar quotes with any tag, so a ``;`` inside a function
    body or a string does not end a statement."""
    out: list[str] = []
    n = len(script)
    i = 0
    start: int | None = None
    while i < n:
        c = script[i]
        if c == "-" and script.startswith("--", i):
            j = script.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c == "/" and script.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if script.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif script.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if start is None:
            start = i
        prev = script[i - 1] if i else ""
        if c == "'":
            escapes = prev in ("E", "e") and (i < 2 or not _IDENT_CHAR.match(script[i - 2]))
            i += 1
            while i < n:
                if escapes and script[i] == "\\":
                    i += 2
                elif script[i] == "'":
                    if script.startswith("''", i):
                        i += 2
                    else:
                        break
                else:
                    i += 1
            i += 1
        elif c == '"':
            i += 1
            while i < n and not (script[i] == '"' and not script.startswith('""', i)):
                i += 2 if script.startswith('""', i) else 1
            i += 1
        elif c == "$" and not (prev and _IDENT_CHAR.match(prev)) and (m := _DOLLAR_TAG.match(script, i)):
            j = script.find(m.group(), m.end())
            if j < 0:
                raise ValueError(f"unterminated dollar quote {m.group()} at offset {i}")
            i = j + len(m.group())
        elif c == ";":
            out.append(script[start : i + 1])
            start = None
            i += 1
        else:
            i += 1
    if start is not None and script[start:].strip():
        out.append(script[start:].rstrip())
    return out


_CREATE_ROUTINE = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\b", re.I)
_PRIVILEGES = re.compile(r"(?:GRANT|REVOKE)\b", re.I)


def function_statements(script: str) -> list[str]:
    """Every top-level CREATE FUNCTION / PROCEDURE statement of ``script``, as CREATE OR REPLACE."""
    return [
        _CREATE_ROUTINE.sub(lambda m: f"CREATE OR REPLACE {m.group(1)}", s, count=1)
        for s in split_statements(script)
        if _CREATE_ROUTINE.match(s)
    ]


# Routines of schema pggit that re-creation manages: not aggregates, not members of extensions.
# ``ctid`` tells which ones CREATE OR REPLACE wrote: it always writes a new row version.
_ENGINE_ROUTINES = """
    SELECT p.oid::regprocedure::text, p.ctid::text
      FROM pg_proc p
     WHERE p.pronamespace = 'pggit'::regnamespace AND p.prokind <> 'a'
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""


def _recreate_functions(conn: psycopg.Connection, script: str) -> None:
    """Re-create the engine's functions from ``script`` (see the module docstring)."""
    cur = conn.cursor(row_factory=tuple_row)
    before = dict(cur.execute(_ENGINE_ROUTINES).fetchall())
    for statement in function_statements(script):
        conn.execute(statement.encode())
    for signature, ctid in cur.execute(_ENGINE_ROUTINES).fetchall():
        if before.get(signature) == ctid:  # not (re)defined by the sources
            conn.execute(sql.SQL("DROP ROUTINE {}").format(sql.SQL(signature)))
    for statement in split_statements(script):
        if _PRIVILEGES.match(statement):
            conn.execute(statement.encode())


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def upgrade_path(from_version: str, to_version: str, sql_dir: Path = SQL_DIR) -> list[Path]:
    """The chain of update scripts from one version to another (shortest first-found chain)."""
    scripts: dict[str, list[tuple[str, Path]]] = {}
    for path in (sql_dir / "updates").glob("pggit--*--*.sql"):
        m = re.fullmatch(r"pggit--(.+)--(.+)\.sql", path.name)
        if m:
            scripts.setdefault(m.group(1), []).append((m.group(2), path))
    chain: list[Path] = []
    version = from_version
    while version != to_version:
        steps = sorted(scripts.get(version, []), key=lambda s: _version_key(s[0]))
        steps = [s for s in steps if _version_key(s[0]) <= _version_key(to_version)]
        if not steps:
            raise RuntimeError(f"no upgrade path from pgGit {version} to {to_version} in {sql_dir / 'updates'}")
        version, path = steps[-1]
        chain.append(path)
    return chain


def installed_version(conn: psycopg.Connection) -> str | None:
    cur = conn.cursor(row_factory=tuple_row)
    if not cur.execute("SELECT to_regproc('pggit.version') IS NOT NULL").fetchone()[0]:
        return None
    return cur.execute("SELECT pggit.version()").fetchone()[0]


def install(conn: psycopg.Connection, sql_dir: Path = SQL_DIR) -> tuple[str | None, str]:
    """Install or upgrade the engine in one transaction. Returns (version before, version after).

    Running it again at the same version does nothing. The first error rolls everything back.
    """
    target = current_version(sql_dir)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("SELECT set_config('pggit.capture', 'off', true)")
        conn.execute("SET LOCAL check_function_bodies = off")  # functions refer to ones defined later
        before = installed_version(conn)
        if before == target:
            pass
        elif before is None:
            conn.execute(build_script(sql_dir).encode())
            conn.execute("INSERT INTO pggit.meta (key, value) VALUES ('version', %s), ('installed_server_version', current_setting('server_version_num'))", (target,))
            conn.execute("SELECT set_config('pggit.capture', '', true)")
            conn.execute("SELECT pggit._initial_import()")
        elif _version_key(before) > _version_key(target):
            raise RuntimeError(f"installed pgGit {before} is newer than this client's {target}")
        else:
            # what drifts now (read with the installed version's functions) stays drift; any
            # other object this version describes differently takes the new form in one commit
            cur = conn.cursor(row_factory=tuple_row)
            drifted = None
            if cur.execute("SELECT to_regproc('pggit.drift') IS NOT NULL").fetchone()[0]:
                drifted = [r[0] for r in cur.execute("SELECT identity FROM pggit.drift()").fetchall()]
            for path in upgrade_path(before, target, sql_dir):
                conn.execute(path.read_text().encode())
            _recreate_functions(conn, build_script(sql_dir))
            if cur.execute("SELECT to_regproc('pggit._after_upgrade') IS NOT NULL").fetchone()[0]:
                conn.execute("SELECT pggit._after_upgrade()")
            conn.execute("UPDATE pggit.meta SET value = %s WHERE key = 'version'", (target,))
            if drifted is not None:
                conn.execute("SELECT pggit._refresh_descriptions(%s::text[], %s)",
                             (drifted, f"pgGit {target}: objects described in this version's form"))
        conn.execute("SELECT set_config('pggit.capture', '', true)")
    return before, target


def uninstall(conn: psycopg.Connection) -> None:
    """Remove the engine and its history (used by tests and by ``pggit uninstall --yes``)."""
    with conn.transaction():
        conn.execute("DROP EVENT TRIGGER IF EXISTS pggit_ddl_start")
        conn.execute("DROP EVENT TRIGGER IF EXISTS pggit_ddl_end")
        conn.execute("DROP EVENT TRIGGER IF EXISTS pggit_sql_drop")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier("pggit")))
