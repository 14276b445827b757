"""The shadow database: a schema-only scratch database per managed database.

The client uses it for what needs a second database: verifying a merge result before it is
committed (replaying ``pggit.migration(NULL, 'merge:<id>')`` into an empty database shows what
PostgreSQL would reject), canonicalizing a custom conflict resolution, and ``apply`` on a branch
that is not checked out (the branch's state is materialized with an engine of its own, the SQL is
run there, and that engine describes what changed).

It lives on the same server as the managed ("live") database and is named after it:
``<db>__pggit_shadow`` (a long name is truncated and given a short hash, so it fits PostgreSQL's
63 bytes). It holds no data and may be dropped at any time; every operation recreates it. Creating
it needs CREATEDB; installing the engine in it (``materialize_with_engine``) needs a superuser,
like ``pggit init``. While one client uses it, a session advisory lock on the live database keeps
other clients of the same database out of it.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from . import install as _install
from .errors import ShadowReplayError, ShadowUnavailable

SUFFIX = "__pggit_shadow"
MAX_IDENTIFIER_BYTES = 63
_LOCK_NAMESPACE = 0x70677368  # 'pgsh': advisory lock key (with the shadow name's hash) held while in use


def shadow_name(live_db: str) -> str:
    """``<live_db>__pggit_shadow``, or, when that exceeds 63 bytes, the live name truncated (on a
    character boundary) plus ``_`` and 8 hex digits of the sha256 of the full live name."""
    name = live_db + SUFFIX
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    tag = "_" + hashlib.sha256(live_db.encode()).hexdigest()[:8]
    budget = MAX_IDENTIFIER_BYTES - len((tag + SUFFIX).encode())
    prefix = live_db.encode()[:budget].decode(errors="ignore")  # drop a cut multibyte character
    return prefix + tag + SUFFIX


def _pg_error(exc: psycopg.Error) -> tuple[str, str | None, str | None, str | None]:
    """(primary message, sqlstate, detail, hint) of a PostgreSQL error."""
    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag else None) or str(exc).strip()
    return message, getattr(exc, "sqlstate", None), diag.message_detail if diag else None, diag.message_hint if diag else None


class Shadow:
    """The shadow database of one live database.

    ``live_conn`` is a connection to the live database; the shadow is reached with the same
    connection parameters (host, port, user, password) and the shadow's name.
    """

    def __init__(self, live_conn: psycopg.Connection, *, dsn: str | None = None):
        self.live_conn = live_conn
        info = live_conn.info
        self.live_db = info.dbname
        self.name = shadow_name(self.live_db)
        base = dsn or info.dsn
        extra = {"password": info.password} if info.password and "password" not in base else {}
        self._base_dsn = make_conninfo(base, **extra)
        self._admin: psycopg.Connection | None = None
        self._lock_depth = 0
        self.last_replay_ms: float | None = None
        self.baseline: str | None = None  # the shadow engine's initial commit after materialize_with_engine

    # connections ----------------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        return make_conninfo(self._base_dsn, dbname=self.name)

    def _admin_conn(self) -> psycopg.Connection:
        """A connection of our own to the live database: CREATE/DROP DATABASE and the lock."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self._base_dsn, autocommit=True, row_factory=dict_row)
        return self._admin

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)

    def close(self) -> None:
        if self._admin is not None and not self._admin.closed:
            self._admin.close()
        self._admin = None
        self._lock_depth = 0

    @contextmanager
    def locked(self) -> Iterator["Shadow"]:
        """Hold the shadow for a sequence of operations (re-entrant within this object)."""
        conn = self._admin_conn()
        key = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:4], "big", signed=True)
        if self._lock_depth == 0:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_NAMESPACE, key))
        self._lock_depth += 1
        try:
            yield self
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_NAMESPACE, key))

    # lifecycle ------------------------------------------------------------------------------
    def check_privileges(self) -> None:
        row = self._admin_conn().execute(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not row or not (row["rolsuper"] or row["rolcreatedb"]):
            raise ShadowUnavailable(
                f"the shadow database {self.name!r} cannot be created: role "
                f"{self.live_conn.info.user!r} lacks CREATEDB",
                hint="ALTER ROLE ... CREATEDB (merge verification, custom resolutions and apply need it)",
            )

    def exists(self) -> bool:
        row = self._admin_conn().execute("SELECT 1 AS x FROM pg_database WHERE datname = %s", (self.name,)).fetchone()
        return row is not None

    def drop(self) -> None:
        """Drop the shadow database if it exists (its sessions are disconnected)."""
        with self.locked():
            self._admin_conn().execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        self.baseline = None

    def recreate(self) -> None:
        """Drop and create the shadow database empty, with the live database's encoding and locale."""
        self.check_privileges()
        conn = self._admin_conn()
        db = conn.execute(
            "SELECT pg_encoding_to_char(encoding) AS encoding, datcollate, datctype FROM pg_database WHERE datname = %s",
            (self.live_db,),
        ).fetchone()
        with self.locked():
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                        sql.Identifier(self.name), sql.Literal(db["encoding"]),
                        sql.Literal(db["datcollate"]), sql.Literal(db["datctype"]),
                    )
                )
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ShadowUnavailable(
                    f"the shadow database {self.name!r} cannot be created: {_pg_error(exc)[0]}"
                ) from exc
            self.baseline = None

    # operations -----------------------------------------------------------------------------
    def replay(self, statements: Iterable[dict[str, Any]]) -> float:
        """Recreate the shadow empty and run ``statements`` (rows ``step, kind, identity,
        statement`` of ``pggit.migration``) in order, in transactions of ``CHUNK`` statements
        (leading ``enum value`` steps, which PostgreSQL refuses to use in their own transaction,
        in one before them).

        Returns the time taken in milliseconds (also kept in ``last_replay_ms``). A statement
        PostgreSQL rejects raises ``ShadowReplayError`` with its message, step, identity and
        statement.
        """
        rows = sorted(statements, key=lambda r: r["step"])
        started = time.perf_counter()
        with self.locked():
            try:
                self._replay(rows)
            finally:
                self.last_replay_ms = (time.perf_counter() - started) * 1000
        return self.last_replay_ms

    def _replay(self, rows: list[dict[str, Any]]) -> None:
        self.recreate()
        # PostgreSQL refuses to use an enum label in the transaction that added it: the
        # migration lists new labels first ('enum value' steps); they are committed first.
        settings = [r for r in rows if r["kind"] == "setting"]
        labels = [r for r in rows if r["kind"] == "enum value"]
        rest = [r for r in rows if r["kind"] != "enum value"]
        batches = [settings + labels, rest] if labels else [rest]
        with self.connect() as conn:
            for batch in batches:
                if batch:
                    self._run_batch(conn, batch)

    CHUNK = 500  # statements per transaction: one transaction for 10,000 objects runs out of lock slots

    @classmethod
    def _run_batch(cls, conn: psycopg.Connection, rows: list[dict[str, Any]]) -> None:
        """Run the rows in transactions of CHUNK statements, each sent as one script (one round
        trip). A chunk PostgreSQL rejects is rolled back and run again statement by statement to
        name the step that fails. (The shadow is scratch: earlier chunks staying is harmless.)"""
        for start in range(0, len(rows), cls.CHUNK):
            chunk = rows[start:start + cls.CHUNK]
            try:
                with conn.transaction():
                    conn.execute("\n".join(r["statement"] for r in chunk).encode())
            except psycopg.Error:
                cls._run_each(conn, chunk)
                raise  # the chunk failed as a script but not statement by statement: report that

    @staticmethod
    def _run_each(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> None:
        current: dict[str, Any] | None = None
        try:
            with conn.transaction():
                for current in rows:
                    conn.execute(current["statement"].encode())
        except psycopg.Error as exc:
            message, sqlstate, detail, hint = _pg_error(exc)
            raise ShadowReplayError(
                message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                step=current and current.get("step"), identity=current and current.get("identity"),
                statement=current and current.get("statement"),
            ) from exc

    def materialize_with_engine(self, ref: str, statements: Iterable[dict[str, Any]] | None = None) -> str:
        """Replay the state of ``ref`` (read from the live database unless ``statements`` are
        given), then install the engine there: its initial import describes every object and is
        the baseline DDL run afterwards is compared with. Returns the baseline commit id."""
        if statements is None:
            statements = self.live_conn.execute(
                "SELECT step, kind, identity, statement FROM pggit.migration(NULL, %s) ORDER BY step", (ref,)
            ).fetchall()
        with self.locked():
            self.replay(statements)
            with self.connect() as conn:
                _install.install(conn)
                self.baseline = conn.execute("SELECT pggit.resolve('HEAD') AS c").fetchone()["c"]
        return self.baseline

    def describe_changes(self, sql_text: str, message: str | None = None, *,
                         prelude: str | None = None) -> list[dict[str, Any]]:
        """Run ``sql_text`` in the materialized shadow (one transaction, captured by the shadow's
        engine as one commit) and return the objects that changed since the baseline:
        ``{identity, kind, definition, detail}`` for added or changed ones, ``{identity, deleted:
        True}`` for dropped ones. On an error PostgreSQL's message is raised
        (``ShadowReplayError``) and nothing is recorded."""
        if self.baseline is None:
            raise RuntimeError("describe_changes needs materialize_with_engine first")
        with self.locked(), self.connect() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pggit.begin_commit(%s)", (message or sql_text,))
                    if prelude:
                        conn.execute(prelude.encode())
                    conn.execute(sql_text.encode())
            except psycopg.Error as exc:
                pg_message, sqlstate, detail, hint = _pg_error(exc)
                raise ShadowReplayError(pg_message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                                        statement=sql_text) from exc
            return self.changes_since_baseline(conn)

    def changes_since_baseline(self, conn: psycopg.Connection | None = None) -> list[dict[str, Any]]:
        own = conn is None
        conn = conn or self.connect()
        try:
            rows = conn.execute(
                """SELECT d.identity, coalesce(t.kind, d.kind) AS kind, d.change, b.definition, b.detail
                     FROM pggit.diff(%s, 'HEAD') d
                     LEFT JOIN pggit.tree('HEAD') t ON t.identity = d.identity
                     LEFT JOIN pggit.blobs b ON b.hash = t.hash
                    ORDER BY d.identity""",
                (self.baseline,),
            ).fetchall()
        finally:
            if own:
                conn.close()
        out: list[dict[str, Any]] = []
        for r in rows:
            if r["change"] == "deleted":
                out.append({"identity": r["identity"], "deleted": True})
            else:
                out.append({"identity": r["identity"], "kind": r["kind"], "definition": r["definition"],
                            "detail": r["detail"]})
        return out

    def describe_object(self, identity: str) -> dict[str, Any] | None:
        """The shadow engine's description (``identity, kind, definition, detail``) of one object
        in its HEAD state, or None if there is no such object."""
        with self.connect() as conn:
            return conn.execute(
                """SELECT t.identity, t.kind, b.definition, b.detail
                     FROM pggit.tree('HEAD') t JOIN pggit.blobs b ON b.hash = t.hash
                    WHERE t.identity = %s""",
                (identity,),
            ).fetchone()

    def run(self, sql_text: str) -> None:
        """Run SQL in the shadow in its own transaction (raises ``ShadowReplayError``)."""
        with self.locked(), self.connect() as conn:
            try:
                with conn.transaction():
                    conn.execute(sql_text.encode())
            except psycopg.Error as exc:
                message, sqlstate, detail, hint = _pg_error(exc)
                raise ShadowReplayError(message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                                        statement=sql_text) from exc
