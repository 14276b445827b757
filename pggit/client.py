"""Python client of the pgGit engine: one connection to a managed database, typed results."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
from psycopg.rows import dict_row

from . import install as _install
from .errors import NotInstalled, translate


class Client:
    """Calls the engine's SQL API in a managed database.

    Each call runs in its own transaction (autocommit connection); use ``transaction()`` to
    group calls.
    """

    def __init__(self, dsn: str | None = None, *, conn: psycopg.Connection | None = None):
        if conn is None and not dsn:
            raise ValueError("a DSN is required (pass dsn= or set PGGIT_DSN)")
        self.dsn = dsn
        self._conn = conn

    # connection -------------------------------------------------------------------------
    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def _rows(self, query: str, params: tuple = ()) -> list[dict]:
        try:
            return self.conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) in ("42883", "3F000") and "pggit" in str(exc):
                raise NotInstalled("pgGit is not installed in this database (run: pggit init)") from exc
            raise translate(exc) from exc

    def _value(self, query: str, params: tuple = ()) -> Any:
        rows = self._rows(query, params)
        return next(iter(rows[0].values())) if rows else None

    # install ----------------------------------------------------------------------------
    def install(self) -> str:
        """Install or upgrade the engine; returns the installed version."""
        with psycopg.connect(self.dsn) if self._conn is None else _nullctx(self.conn) as conn:
            _before, after = _install.install(conn)
        return after

    def installed_version(self) -> str | None:
        return _install.installed_version(self.conn)

    # API --------------------------------------------------------------------------------
    def version(self) -> str:
        return self._value("SELECT pggit.version()")

    def current_branch(self) -> str:
        return self._value("SELECT pggit.current_branch()")

    def branches(self) -> list[dict]:
        return self._rows("SELECT * FROM pggit.list_branches()")

    def create_branch(self, name: str, from_ref: str | None = None) -> str:
        return self._value("SELECT pggit.create_branch(%s, %s)", (name, from_ref))

    def delete_branch(self, name: str, force: bool = False) -> str:
        return self._value("SELECT pggit.delete_branch(%s, %s)", (name, force))

    def log(self, ref: str | None = None, limit: int = 50) -> list[dict]:
        return self._rows("SELECT * FROM pggit.log(%s, %s)", (ref, limit))

    def show(self, commit: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.show(%s)", (commit,))

    def tree(self, ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.tree(%s)", (ref,))

    def blame(self, identity: str, ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.blame(%s, %s)", (identity, ref))

    def diff(self, from_ref: str | None, to_ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.diff(%s, %s)", (from_ref, to_ref))

    def migration(self, from_ref: str | None, to_ref: str | None = None) -> list[str]:
        rows = self._rows("SELECT statement FROM pggit.migration(%s, %s) ORDER BY step", (from_ref, to_ref))
        return [r["statement"] for r in rows]

    def migration_script(self, from_ref: str | None, to_ref: str | None = None) -> str:
        return self._value("SELECT pggit.migration_script(%s, %s)", (from_ref, to_ref))

    def resolve(self, ref: str | None = None) -> str:
        return self._value("SELECT pggit.resolve(%s)", (ref,))


class _nullctx:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
