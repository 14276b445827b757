"""Build the engine's install script from ``sql/src`` and install or upgrade it.

Layout (pg_partman style): ``sql/src/*.sql`` are the sources of the version in ``sql/VERSION``,
concatenated in file-name order into one install script. A released version's upgrade lives in
``sql/updates/pggit--FROM--TO.sql``; a shipped update script is never edited.
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
            for path in upgrade_path(before, target, sql_dir):
                conn.execute(path.read_text().encode())
            conn.execute("UPDATE pggit.meta SET value = %s WHERE key = 'version'", (target,))
        conn.execute("SELECT set_config('pggit.capture', '', true)")
    return before, target


def uninstall(conn: psycopg.Connection) -> None:
    """Remove the engine and its history (used by tests and by ``pggit uninstall --yes``)."""
    with conn.transaction():
        conn.execute("DROP EVENT TRIGGER IF EXISTS pggit_ddl_end")
        conn.execute("DROP EVENT TRIGGER IF EXISTS pggit_sql_drop")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier("pggit")))
