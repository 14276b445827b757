"""Python client of the pgGit engine: one connection to a managed database, typed results."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import install as _install
from .errors import (
    InvalidArgument,
    NotInstalled,
    PggitError,
    RefNotFound,
    ShadowReplayError,
    ShadowUnavailable,
    WrongObject,
    WrongBranch,
    translate,
)
from .console import ROWS_SHOWN, Rows, last_rows
from .shadow import Shadow

log = logging.getLogger(__name__)

# SQLSTATEs whose failure the audit log records as 'refused' (the engine said no) rather than 'error'.
_REFUSED = {"PGG08", "PGG09", "PGG10"}


class Client:
    """Calls the engine's SQL API in a managed database.

    Each call runs in its own transaction (autocommit connection); use ``transaction()`` to
    group calls.
    """

    # how far back ``search_commits`` looks: commits of the ref's history, newest first
    SEARCH_LOG_LIMIT = 100_000

    def __init__(self, dsn: str | None = None, *, conn: psycopg.Connection | None = None,
                 privileged_shadow: bool = False, person: str | None = None,
                 connect_timeout: int | None = None):
        """``privileged_shadow``: run SQL given to ``apply`` and custom resolutions in the shadow
        database as the DSN's own role instead of the unprivileged shadow role (the CLI's
        ``--privileged``, for a DBA at a terminal; the web app never sets it).

        ``person``: who the calls act for (the web app's user, a pipeline's ``--author``). The
        engine records it as the author of the commits, branches and audit rows they make, with
        the database role as committer (the setting ``pggit.author`` on this client's
        connection).

        ``connect_timeout``: seconds to wait for the connection (None: the DSN's, else libpq's)."""
        if conn is None and not dsn:
            raise ValueError("a DSN is required (pass dsn= or set PGGIT_DSN)")
        self.dsn = dsn
        self.person = (person or "").strip() or None
        self.connect_timeout = connect_timeout
        self._conn = conn
        if conn is not None:
            self._name_person(conn)
        self._shadow: Shadow | None = None
        self._apply_shadow: Shadow | None = None
        self.privileged_shadow = privileged_shadow

    # connection -------------------------------------------------------------------------
    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            extra = {} if self.connect_timeout is None else {"connect_timeout": self.connect_timeout}
            self._conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row, **extra)
            self._name_person(self._conn)
        return self._conn

    def _name_person(self, conn: psycopg.Connection) -> None:
        if self.person is not None:
            conn.execute("SELECT set_config('pggit.author', %s, false)", (self.person,))

    def close(self) -> None:
        for shadow in (self._shadow, self._apply_shadow):
            if shadow is not None:
                shadow.close()
        self._shadow = self._apply_shadow = None  # (they hold this connection: the next use makes new ones)
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

    def create_branch(self, name: str, from_ref: str | None = None, with_data: bool = False) -> str:
        """Create a branch at ``from_ref`` (HEAD when None). ``with_data``: the branch also
        carries the rows of every tracked table as they are now (it then starts at HEAD)."""
        if with_data:
            return self._value("SELECT pggit.create_branch(%s, %s, with_data => true)", (name, from_ref))
        return self._value("SELECT pggit.create_branch(%s, %s)", (name, from_ref))

    # data branches ------------------------------------------------------------------------
    def commit_drift(self, message: str | None = None) -> str | None:
        """Record the drift (changes made behind the engine's back) as one commit on HEAD;
        returns it, or None when there is no drift."""
        return self._value("SELECT pggit.commit_drift(%s)", (message,))

    def drift_data_loss(self) -> list[dict]:
        """The steps of ``discard_drift`` that would lose data (identity, statement, reason);
        nothing changes."""
        return self._rows("SELECT * FROM pggit.drift_data_loss()")

    def discard_drift(self, force: bool = False) -> str | None:
        """Migrate the live database back to HEAD's state, undoing the drift (steps that lose
        data need ``force``: DataLossRefused); returns HEAD, or None when there was no drift."""
        return self._value("SELECT pggit.discard_drift(%s)", (force,))

    def data_branches(self, sizes: bool = True) -> list[dict]:
        """Branches that carry data: branch, id, fork_commit, created_at, tables, rows, bytes
        (None without ``sizes``: counting reads the overlays), skipped (tables without a primary
        key). Empty on an engine older than 0.9.0."""
        if not self._value("SELECT to_regproc('pggit.data_branches') IS NOT NULL"):
            return []
        return self._rows("SELECT * FROM pggit.data_branches(%s)", (sizes,))

    def data_dsn(self, branch: str, search_path: str | None = None) -> str:
        """A connection string on which SELECT/INSERT/UPDATE/DELETE/COPY work on ``branch``'s
        rows: this client's DSN with the settings ``pggit.data_branch`` and a ``search_path``
        that shows the branch before each schema of ``search_path`` (the application's own;
        PostgreSQL's default when None)."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        row = (self._one("SELECT * FROM pggit.data_settings(%s)", (branch,)) if search_path is None
               else self._one("SELECT * FROM pggit.data_settings(%s, %s)", (branch, search_path)))
        params = conninfo_to_dict(self.dsn or self.conn.info.dsn)
        path = row["search_path"].replace("\\", "\\\\").replace(" ", "\\ ")
        options = f"{params.get('options', '')} -c pggit.data_branch={row['data_branch']} -c search_path={path}"
        params["options"] = options.strip()
        return make_conninfo(**params)

    def data_merge_preview(self, branch: str, resolutions: list[dict] | None = None) -> list[dict]:
        """What merging data branch ``branch`` into the checked-out tables would do, by primary
        key: table_identity, key, action (insert/update/delete/conflict), conflict (why),
        columns (cells changed differently on both sides), base, source, target rows."""
        return self._rows("SELECT * FROM pggit.data_merge_preview(%s, %s)", (branch, Jsonb(resolutions or [])))

    def merge_data(self, branch: str, resolutions: list[dict] | None = None) -> list[dict]:
        """Merge data branch ``branch`` into the checked-out tables, three-way by primary key,
        all or nothing. ``resolutions``: ``{"table", "key", "column" (optional), "take":
        "source" | "target" | "base" | "value", "value"}``. Rows with status ``conflicts`` (what is
        in the way; nothing applied) or ``merged`` (one per table with its counts)."""
        return self._rows("SELECT * FROM pggit.merge_data(%s, %s)", (branch, Jsonb(resolutions or [])))

    def is_data_branch(self, branch: str) -> bool:
        """Whether ``branch`` carries data (False on an engine older than 0.9.0)."""
        return any(d["branch"] == branch for d in self.data_branches(sizes=False))

    def data_merge_check(self, branch: str, resolutions: list[dict] | None = None) -> list[dict]:
        """What ``merge_data`` would stop on now, changing nothing: it runs in a transaction
        (a savepoint inside the caller's) that is rolled back. The rows with status
        ``conflicts``: conflicts left after ``resolutions``, or a constraint the merged rows
        break (``key`` NULL, ``conflict`` PostgreSQL's message). Empty when it would merge.
        It locks the checked-out tables the branch carries (``SHARE ROW EXCLUSIVE``) for
        that instant."""
        with self.conn.transaction(force_rollback=True):
            rows = self.merge_data(branch, resolutions)
        return [r for r in rows if r["status"] == "conflicts"]

    def merge_with_data(self, source: str, target: str | None = None, strategy: str = "auto",
                        message: str | None = None, resolutions: list[dict] | None = None, force: bool = False,
                        merge_id: int | None = None) -> dict:
        """Merge branch ``source`` into ``target`` (the checked-out branch: data is merged into
        the checked-out tables) and then its data (``merge_data`` with ``resolutions``), in one
        transaction: both or neither.

        With ``merge_id`` the open merge is finished (``finish_merge``) instead of a new one
        made. Returns ``merge``'s row with ``data``: ``merge_data``'s rows. When the schema
        merge stops (``conflicts``, or ``ready`` with the data-loss guard's ``error``) its state
        is kept and the data is not merged (``data`` empty). When the data merge stops
        (conflicts left, or a constraint the merged rows break), everything is rolled back,
        the schema merge too: status ``data_conflicts``, ``data`` the rows in the way,
        ``merge_id``/``commit_id`` None (a merge reopened here is gone with the rest).
        ``WrongBranch`` when ``target`` is not the checked-out branch."""
        current = self.current_branch()
        if target is not None and target != current:
            raise WrongBranch(f"the data of {source!r} merges into the checked-out branch {current!r}, "
                              f"not {target!r}", sqlstate="PGG11")
        args = {"source": source, "target": target, "strategy": strategy, "message": message,
                "resolutions": resolutions or [], "force": force, "merge_id": merge_id}

        class _Stopped(Exception):
            pass

        stopped: list[dict] = []

        def op() -> dict:
            try:
                with self.transaction():
                    if merge_id is not None:
                        row = self._verify_and_complete(merge_id, force)
                    else:
                        self.shadow.check_privileges()
                        row = self._one("SELECT * FROM pggit.merge_branches(%s, %s, %s, %s, false, %s)",
                                        (source, target, strategy, message, force))
                        row["shadow_ms"] = None
                        if row["status"] == "ready":
                            row = self._verify_and_complete(row["merge_id"], force)
                    if row["status"] not in ("merged", "fast_forward", "up_to_date"):
                        return dict(row, data=[])
                    data = self.merge_data(source, resolutions)
                    if any(r["status"] == "conflicts" for r in data):
                        stopped.extend(r for r in data if r["status"] == "conflicts")
                        raise _Stopped
                    return dict(row, data=data)
            except _Stopped:
                return {"merge_id": None, "status": "data_conflicts", "commit_id": None, "conflicts": 0,
                        "error": "; ".join(r["conflict"] or "" for r in stopped[:3]), "shadow_ms": None,
                        "data": stopped}

        row = self._guarded("merge_with_data", args, op)
        if row["status"] == "data_conflicts":  # (the engine's own audit row went with the rollback)
            self._audit_failure("merge_with_data", args, RuntimeError(f"data conflicts: {row['error']}"),
                                outcome="refused")
        return row

    def data_diff(self, from_ref: str | None, to_ref: str | None, table: str | None = None) -> list[dict]:
        """Rows that differ between the checked-out tables and a data branch, by primary key:
        table_identity, key, change (added/deleted/changed from ``from_ref`` to ``to_ref``),
        columns (changed), old_row, new_row."""
        return self._rows("SELECT * FROM pggit.data_diff(%s, %s, %s)", (from_ref, to_ref, table))

    def delete_branch(self, name: str, force: bool = False) -> str:
        return self._value("SELECT pggit.delete_branch(%s, %s)", (name, force))

    def deleted_branch_head(self, name: str) -> str | None:
        """The head branch ``name`` had when it was last deleted, from the engine's audit trail
        (``pggit.delete_branch`` records it); None when it never was, or exists now."""
        return self._value(
            "SELECT a.args->>'head' FROM pggit.audit_log a WHERE a.operation = 'delete_branch' "
            "AND a.outcome = 'ok' AND a.args->>'name' = %s "
            "AND NOT EXISTS (SELECT 1 FROM pggit.list_branches() b WHERE b.name = %s) "
            "ORDER BY a.at DESC, a.id DESC LIMIT 1", (name, name))

    def log(self, ref: str | None = None, limit: int = 50) -> list[dict]:
        return self._rows("SELECT * FROM pggit.log(%s, %s)", (ref, limit))

    def search_commits(self, text: str, ref: str | None = None, limit: int = 50) -> list[dict]:
        """Commits reachable from ``ref`` (HEAD when None) whose message or author contains
        ``text`` (case-insensitive, taken literally: ``%``, ``_`` and quotes are plain characters;
        ``strpos``, not ``LIKE``), newest first, at most ``limit``; pggit.log's columns."""
        if not text or "\x00" in text:  # (PostgreSQL text holds no NUL: nothing contains one)
            return []
        return self._rows(
            "SELECT * FROM pggit.log(%s, %s) l"
            " WHERE strpos(lower(l.message), lower(%s)) > 0 OR strpos(lower(l.author), lower(%s)) > 0"
            " LIMIT %s", (ref, self.SEARCH_LOG_LIMIT, text, text, limit))

    def search_objects(self, text: str, ref: str | None = None, limit: int = 50) -> list[dict]:
        """Objects of ``ref``'s tree (HEAD when None) whose identity (``table public.orders``)
        contains ``text`` (case-insensitive, literally, as ``search_commits``), by identity, at
        most ``limit``: ``kind, identity``."""
        if not text or "\x00" in text:
            return []
        return self._rows(
            "SELECT t.kind, t.identity FROM pggit.tree(%s) t WHERE strpos(lower(t.identity), lower(%s)) > 0"
            " ORDER BY t.identity LIMIT %s", (ref, text, limit))

    def show(self, commit: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.show(%s)", (commit,))

    def tree(self, ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.tree(%s)", (ref,))

    def blame(self, identity: str, ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.blame(%s, %s)", (identity, ref))

    def diff(self, from_ref: str | None, to_ref: str | None = None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.diff(%s, %s)", (from_ref, to_ref))

    def audit(self, limit: int = 50, offset: int = 0, max_id: int | None = None) -> list[dict]:
        """The engine's audit trail, newest first (id, at, role_name, operation, args, outcome,
        detail, duration_ms): ``limit`` rows after ``offset``, among ids up to ``max_id``."""
        return self._rows("SELECT * FROM pggit.audit(%s, %s, %s)", (limit, offset, max_id))

    def audit_stats(self, buckets: list[float], timeout_ms: int | None = None) -> list[dict]:
        """The whole audit trail counted by one aggregate query (for metrics): a row per
        (operation, outcome, merge_outcome, bucket) with ``n`` rows and ``seconds``, the sum of
        their durations.

        ``buckets``: increasing upper bounds in seconds; ``bucket`` is the index of the first bound
        the duration is at most (Prometheus' ``le``), ``len(buckets)`` beyond the last, None for a
        row without a duration. ``merge_outcome`` sorts ``merge`` rows as the event listener does
        (``failed``: error or refused; ``completed``: it made a commit; ``conflicts``: it stopped
        at conflicts; None otherwise and for other operations). ``timeout_ms``: the query's
        statement_timeout. The count reads ``pggit.audit_log`` (every row, in the database)."""
        bounds = [float(b) for b in buckets]
        if not bounds or any(b >= c for b, c in zip(bounds, bounds[1:])):
            raise ValueError(f"buckets must be one or more increasing bounds: {buckets!r}")
        # width_bucket(x, lower bounds) counts the bounds <= x; over the negated bounds, reversed,
        # it counts those >= the duration, so len - it is the number of bounds below the duration.
        negated = [-b for b in reversed(bounds)]
        with self.transaction():
            if timeout_ms is not None:
                self._rows("SELECT set_config('statement_timeout', %s, true)", (str(int(timeout_ms)),))
            return self._rows(
                "SELECT a.operation, a.outcome,"
                " CASE WHEN a.operation <> 'merge' THEN NULL"
                "      WHEN a.outcome <> 'ok' THEN 'failed'"
                "      WHEN nullif(a.args->>'commit', '') IS NOT NULL THEN 'completed'"
                "      WHEN a.args->>'status' = 'conflicts' THEN 'conflicts' END AS merge_outcome,"
                " %s - width_bucket(-a.duration_ms / 1000.0, %s::float8[]) AS bucket,"
                " count(*) AS n, coalesce(sum(a.duration_ms), 0) / 1000.0 AS seconds"
                " FROM pggit.audit_log a GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                (len(bounds), negated))

    def live_table_rows(self) -> dict[str, float]:
        """Estimated rows of every live table, by ``schema.table`` (pg_class.reltuples; -1, never
        analyzed, counts as 0)."""
        rows = self._rows(
            "SELECT n.nspname || '.' || c.relname AS name, greatest(c.reltuples, 0) AS rows"
            "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pggit')")
        return {r["name"]: r["rows"] for r in rows}

    def diff_count(self, from_ref: str | None, to_ref: str | None = None) -> int:
        """How many objects differ between two refs (without reading their definitions)."""
        return self._value("SELECT count(*) FROM pggit.diff(%s, %s)", (from_ref, to_ref))

    def migration(self, from_ref: str | None, to_ref: str | None = None) -> list[str]:
        rows = self._rows("SELECT statement FROM pggit.migration(%s, %s) ORDER BY step", (from_ref, to_ref))
        return [r["statement"] for r in rows]

    def migration_steps(self, from_ref: str | None, to_ref: str | None = None) -> list[dict]:
        """The steps of ``pggit.migration(from_ref, to_ref)`` in order: ``step``, ``kind`` (the
        object's kind, or ``setting``), ``identity`` (None for a setting), ``statement`` and
        ``reason`` (added, dropped, changed, renamed, label added, rebuilt: ...)."""
        return self._rows("SELECT step, kind, identity, statement, reason FROM pggit.migration(%s, %s) ORDER BY step",
                          (from_ref, to_ref))

    def migration_script(self, from_ref: str | None, to_ref: str | None = None) -> str:
        return self._value("SELECT pggit.migration_script(%s, %s)", (from_ref, to_ref))

    def resolve(self, ref: str | None = None) -> str:
        return self._value("SELECT pggit.resolve(%s)", (ref,))

    # shadow database ----------------------------------------------------------------------
    @property
    def shadow(self) -> Shadow:
        """The shadow database of this database (see ``pggit.shadow``)."""
        if self._shadow is None:
            self._shadow = Shadow(self.conn, dsn=self.dsn, privileged=self.privileged_shadow)
        return self._shadow

    @property
    def apply_shadow(self) -> Shadow:
        """The second shadow database, where ``apply`` and custom resolutions materialize a state
        with an engine and run a person's SQL (``<db>__apply__pggit_shadow``): kept apart from the
        verification shadow so that neither dirties the other, and kept at the state the last
        ``apply`` left, so that the next one migrates from there instead of replaying everything."""
        if self._apply_shadow is None:
            self._apply_shadow = Shadow(self.conn, dsn=self.dsn, privileged=self.privileged_shadow, purpose="apply")
        return self._apply_shadow

    def drop_shadow(self) -> None:
        """Drop both shadow databases, their kept states, their spares and their role (all are
        recreated when needed). A spare another client is making is waited for, then dropped."""
        for shadow in (self.apply_shadow, self.shadow):
            shadow.wait_for_spares()  # (this client's own makers: nothing of theirs comes after)
        self.apply_shadow.drop_templates()
        self.shadow.drop_templates()
        self.apply_shadow.drop()
        self.shadow.drop()

    def _check_shadow_engine(self) -> None:
        """The shadow's engine (this client's version) must describe objects as the live one does."""
        live, mine = self.version(), _install.current_version()
        if live != mine:
            raise ShadowUnavailable(
                f"the live engine is pgGit {live} and this client installs {mine} in the shadow database",
                hint="upgrade the live engine first (pggit init)",
            )

    def _state_rows(self, ref: str) -> list[dict]:
        return self._rows("SELECT step, kind, identity, statement FROM pggit.migration(NULL, %s) ORDER BY step", (ref,))

    def _migration_rows(self, from_ref: str | None, to_ref: str) -> list[dict]:
        return self._rows("SELECT step, kind, identity, statement FROM pggit.migration(%s, %s) ORDER BY step",
                          (from_ref, to_ref))

    # failures -----------------------------------------------------------------------------
    def _one(self, query: str, params: tuple = ()) -> dict | None:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def _audit_failure(self, operation: str, args: dict, exc: BaseException, outcome: str | None = None) -> None:
        """Record a failed operation in its own transaction (its own audit row was rolled back
        with it). Never masks the original error. ``outcome``: 'refused' or 'error' (by default
        from the error's SQLSTATE)."""
        sqlstate = getattr(exc, "sqlstate", None)
        outcome = outcome or ("refused" if sqlstate in _REFUSED else "error")
        detail = str(exc).strip() or type(exc).__name__
        query = "SELECT pggit.audit_failure(%s, %s, %s, %s)"
        params = (operation, Jsonb(args), outcome, detail)
        try:
            if self.conn.info.transaction_status == TransactionStatus.IDLE:
                self.conn.execute(query, params)
            elif self.dsn:  # inside a caller's transaction: write it through a connection of its own
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(query, params)
        except Exception as audit_exc:  # pragma: no cover - the engine is broken or absent
            log.warning("pggit: could not record the failure of %s: %s", operation, audit_exc)

    def _guarded(self, operation: str, args: dict, fn: Callable[[], Any]) -> Any:
        """Run a state-changing operation; on failure audit it, then re-raise the typed error."""
        try:
            return fn()
        except (PggitError, psycopg.Error) as exc:
            if not isinstance(exc, NotInstalled):
                self._audit_failure(operation, args, exc)
            raise

    # merge --------------------------------------------------------------------------------
    def find_merge_base(self, a: str, b: str) -> str | None:
        return self._value("SELECT pggit.find_merge_base(%s, %s)", (a, b))

    def detect_merge_conflicts(self, source: str, target: str | None = None) -> list[dict]:
        if target is None:
            return self._rows("SELECT * FROM pggit.detect_merge_conflicts(%s)", (source,))
        return self._rows("SELECT * FROM pggit.detect_merge_conflicts(%s, %s)", (source, target))

    def merge(self, source: str, target: str | None = None, strategy: str = "auto", message: str | None = None,
              verify: bool = True, force: bool = False) -> dict:
        """Merge ``source`` into ``target`` (HEAD's branch when None).

        Returns ``merge_id, status, commit_id, conflicts`` (status ``up_to_date``,
        ``fast_forward``, ``merged`` or ``conflicts``). With ``verify`` a merge with nothing
        open is first replayed in the shadow database; a statement PostgreSQL rejects reopens
        that object's item with the error (status ``conflicts``), else the merge completes.
        ``shadow_ms`` is the time the replay took (None when there was nothing to verify).
        Into HEAD, steps that would lose data stop the merge at ``ready`` with ``error`` saying
        which, unless ``force``.
        """
        args = {"source": source, "target": target, "strategy": strategy, "message": message, "verify": verify,
                "force": force}

        def op() -> dict:
            if verify:
                self.shadow.check_privileges()  # before the merge is opened
            row = self._one("SELECT * FROM pggit.merge_branches(%s, %s, %s, %s, %s, %s)",
                            (source, target, strategy, message, not verify, force))
            row["shadow_ms"] = None
            if verify and row["status"] == "ready":
                row = self._verify_and_complete(row["merge_id"], force)
            return row

        return self._guarded("merge", args, op)

    def _verify_and_complete(self, merge_id: int, force: bool = False) -> dict:
        """Bring the shadow to the merge result (incrementally from the state it holds when it
        can, see ``Shadow.verify``); report a rejected step as a semantic conflict, else complete
        the merge. After completion the shadow's marker ``merge:<id>`` names the merge commit's
        tree, and stays usable (a closed merge's state no longer changes)."""
        try:
            self.shadow.verify(f"merge:{merge_id}", self._migration_rows)
        except ShadowReplayError as exc:
            error = exc.message + (f"\nDETAIL: {exc.pg_detail}" if exc.pg_detail else "")
            row = self._one("SELECT * FROM pggit.merge_semantic_error(%s, %s, %s)", (merge_id, exc.identity, error))
        else:
            row = self._one("SELECT * FROM pggit.complete_merge(%s, %s)", (merge_id, force))
            if row.get("status") == "merged":
                self.shadow.keep_pending()  # a cold verification's state, now named for good
        row["shadow_ms"] = self.shadow.last_replay_ms
        return row

    def merge_items(self, merge_id: int) -> list[dict]:
        return self._rows("SELECT * FROM pggit.merge_items(%s)", (merge_id,))

    def resolution_definition(self, merge_id: int, identity: str) -> str | None:
        """The definition a merge recorded for ``identity`` after its resolution (for a custom
        one, the shadow engine's canonical text); None when the result has no such object."""
        item = next((i for i in self.merge_items(merge_id) if i["identity"] == identity), None)
        return item["result_definition"] if item else None

    def merges(self) -> list[dict]:
        return self._rows("SELECT * FROM pggit.merges ORDER BY merge_id")

    def resolve_conflict(self, merge_id: int, identity: str, resolution: str, definition: str | None = None,
                         verify: bool = True, force: bool = False, complete: bool = True) -> dict:
        """Resolve one item of an open merge (``source``, ``target``, ``base`` or ``custom``).

        A ``custom`` definition is run in the shadow database on the merge's state, in place of
        the object's current version; the shadow engine's description of the result is what is
        recorded. If PostgreSQL rejects it, ``ShadowReplayError`` carries its message and the
        merge is unchanged. When nothing is left open, the merge is verified (``verify``) and
        completed as in ``merge``. With ``complete=False`` a merge with nothing left open stays
        ``ready`` (see ``finish_merge``).
        """
        args = {"merge_id": merge_id, "identity": identity, "resolution": resolution, "verify": verify,
                "complete": complete}
        if definition is not None:
            args["definition"] = definition

        def op() -> dict:
            text, detail = definition, None
            if resolution == "custom":
                if not definition or not definition.strip():
                    raise InvalidArgument("a custom resolution needs a definition", sqlstate="PGG07")
                if verify:
                    self.shadow.check_privileges()
                text, detail = self._canonicalize(merge_id, identity, definition)
            row = self._one("SELECT * FROM pggit.resolve_conflict(%s, %s, %s, %s, %s, %s, %s)",
                            (merge_id, identity, resolution, text,
                             Jsonb(detail) if detail is not None else None, complete and not verify, force))
            row["shadow_ms"] = None
            if complete and verify and row.get("status") == "ready":
                row = self._verify_and_complete(merge_id, force)
            return row

        return self._guarded("resolve", args, op)

    def _canonicalize(self, merge_id: int, identity: str, definition: str) -> tuple[str, dict]:
        """Run a custom definition in the shadow, on the merge's state with the object's current
        version dropped, and return the shadow engine's (definition, detail) of ``identity``."""
        self._check_shadow_engine()
        ref = f"merge:{merge_id}"
        before = {r["identity"] for r in self._rows("SELECT identity FROM pggit._state(%s)", (ref,))}
        drop = self._value("SELECT pggit.object_drop_sql(%s, %s)", (ref, identity))
        if drop:  # what depends on the object goes too: only this object's description is read
            drop = re.sub(r";\s*$", " CASCADE;", drop.rstrip())
        shadow = self.apply_shadow
        with shadow.locked():
            shadow.materialize_with_engine(ref)
            changes = shadow.describe_changes(definition, f"resolve {identity}", prelude=drop)
            described = shadow.describe_object(identity)
        if described is None:
            raise WrongObject(identity, [c["identity"] for c in changes if not c.get("deleted")])
        extra = [c["identity"] for c in changes
                 if not c.get("deleted") and c["identity"] != identity and c["identity"] not in before]
        if extra:
            raise WrongObject(identity, [identity, *extra], extra)
        return described["definition"], described["detail"]

    def finish_merge(self, merge_id: int, force: bool = False) -> dict:
        """Verify a ``ready`` merge in the shadow database and complete it, as ``merge`` does:
        a rejected step reopens its item (status ``conflicts``)."""
        return self._guarded("finish_merge", {"merge_id": merge_id, "force": force},
                             lambda: self._verify_and_complete(merge_id, force))

    def merge_info(self, merge_id: int) -> dict | None:
        """The engine's row of one merge (source, target, their commits, status, result_commit...)."""
        return self._one("SELECT * FROM pggit.merges WHERE merge_id = %s", (merge_id,))

    def open_merge(self, source: str, target: str | None = None, strategy: str = "auto",
                   message: str | None = None) -> dict:
        """Open a merge without completing it (``merge_branches(..., complete => false)``): its
        items wait for ``resolve_conflict``, and a merge with nothing open stays ``ready`` for
        ``finish_merge``. Up-to-date and fast-forward cases are done at once, as in ``merge``."""
        return self._one("SELECT * FROM pggit.merge_branches(%s, %s, %s, %s, false, false)",
                         (source, target, strategy, message))

    def merge_status(self, merge_id: int) -> dict:
        """``merge_id, status, commit_id, conflicts, error`` of a merge, as ``merge`` returns them."""
        return self._one("SELECT * FROM pggit._merge_result(%s)", (merge_id,))

    def merge_for_commit(self, commit_id: str) -> dict | None:
        """The engine's row of the completed merge that made ``commit_id`` (None if none did)."""
        return self._one("SELECT * FROM pggit.merges WHERE result_commit = %s AND status IN ('merged', 'fast_forward') "
                         "ORDER BY merge_id DESC LIMIT 1", (commit_id,))

    def complete_merge(self, merge_id: int, force: bool = False) -> dict:
        return self._guarded("complete_merge", {"merge_id": merge_id, "force": force},
                             lambda: self._one("SELECT * FROM pggit.complete_merge(%s, %s)", (merge_id, force)))

    def abort_merge(self, merge_id: int) -> Any:
        return self._guarded("abort_merge", {"merge_id": merge_id},
                             lambda: self._result("SELECT * FROM pggit.abort_merge(%s)", (merge_id,)))

    def _result(self, query: str, params: tuple = ()) -> Any:
        """A function's result: its value if it returns one column, else its row."""
        row = self._one(query, params)
        if row is not None and len(row) == 1:
            return next(iter(row.values()))
        return row

    # checkout, revert, reset ---------------------------------------------------------------
    def switch_branch(self, name: str, force: bool = False) -> str:
        return self._guarded("switch", {"name": name, "force": force},
                             lambda: self._value("SELECT pggit.switch_branch(%s, %s)", (name, force)))

    def object_history(self, identity: str, ref: str | None = None, limit: int | None = None,
                       offset: int = 0) -> list[dict]:
        """The versions of ``identity`` reachable from ``ref``, newest first (``limit`` of them
        from ``offset``: one page), each with ``previous_definition`` (the version on the commit's
        first parent) and ``total``, the number of versions there are."""
        return self._rows("SELECT * FROM pggit.object_history(%s, %s, %s, %s)", (identity, ref, limit, offset))

    def commit_info(self, refs: list[str]) -> dict[str, dict]:
        """Commit rows (commit_id, parent_ids, author, message, committed_at, generation) by ref."""
        return {r["ref"]: r for r in self._rows("SELECT * FROM pggit.commit_info(%s)", (list(refs),))}

    def ahead_behind(self, a: str, b: str, limit: int = 1000) -> dict:
        """``ahead``/``behind``: commits reachable from ``a`` and not ``b`` and the reverse, up to
        ``limit``; ``ahead_more``/``behind_more`` when a count is a lower bound."""
        return self._one("SELECT * FROM pggit.ahead_behind(%s, %s, %s)", (a, b, limit))

    def ahead_behind_many(self, heads: list[str], b: str, limit: int = 1000) -> dict[str, dict]:
        """``ahead_behind(head, b, limit)`` of every head, in one statement (a branches list asks
        for every branch against the default one): rows by head, each head computed once."""
        rows = self._rows("SELECT h.head, ab.* FROM unnest(%s::text[]) AS h(head),"
                          " LATERAL pggit.ahead_behind(h.head, %s, %s) ab", (sorted(set(heads)), b, limit))
        return {r["head"]: r for r in rows}

    def migration_review(self, from_ref: str | None, to_ref: str) -> tuple[list[dict], list[dict]]:
        """(migration steps, data-loss rows) of ``from_ref`` -> ``to_ref``, the migration computed
        once (``data_loss_steps`` alone computes it again). Each step is a row of
        ``pggit.migration()`` as ``migration_steps`` returns it: step, kind, identity, statement,
        reason."""
        doc = self._value("SELECT pggit.migration_review(%s, %s)", (from_ref, to_ref))
        keys = ("step", "kind", "identity", "statement", "reason")
        return [{k: s.get(k) for k in keys} for s in doc["steps"]], doc["data_loss"]

    def drift(self) -> list[dict]:
        """Objects whose live definition differs from HEAD's tree (identity, kind, change
        added/modified/deleted, head_definition, live_definition): DDL the engine did not capture."""
        return self._rows("SELECT * FROM pggit.drift()")

    # the engine's own event triggers (90_install.sql): capture runs through them
    CAPTURE_TRIGGERS = ("pggit_ddl_start", "pggit_ddl_end", "pggit_sql_drop")

    def capture_off(self) -> list[dict]:
        """Why DDL on this database may go uncaptured, as the catalogs say now (``reason``,
        ``detail``); empty when capture is on for every new session. Reasons: ``trigger_missing``
        / ``trigger_disabled`` (one of the engine's event triggers dropped, or ``ALTER EVENT
        TRIGGER ... DISABLE``), ``setting`` (``ALTER DATABASE|ROLE ... SET pggit.capture = off``
        or ``SET event_triggers = off`` for this database or every database). A session's own
        ``SET pggit.capture = off`` leaves no trace here: what it does shows as drift."""
        rows = self._rows(
            "SELECT t.name AS trigger, e.evtenabled::text AS enabled"
            "  FROM unnest(%s::text[]) AS t(name) LEFT JOIN pg_event_trigger e ON e.evtname = t.name"
            " ORDER BY t.name", (list(self.CAPTURE_TRIGGERS),))
        found = []
        for r in rows:
            if r["enabled"] is None:
                found.append({"reason": "trigger_missing", "detail": f"event trigger {r['trigger']} is missing"})
            elif r["enabled"] == "D":
                found.append({"reason": "trigger_disabled", "detail": f"event trigger {r['trigger']} is disabled"})
        settings = self._rows(
            "SELECT coalesce(r.rolname, '') AS role, s.setdatabase <> 0 AS this_database, c.setting"
            "  FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole,"
            "       LATERAL unnest(s.setconfig) AS c(setting)"
            " WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))"
            "   AND lower(replace(c.setting, ' ', '')) IN ('pggit.capture=off', 'event_triggers=off',"
            "                                              'event_triggers=false', 'event_triggers=0')"
            " ORDER BY 1, 2, 3")
        for s in settings:
            where = ("this database" if s["this_database"] else "every database") + (
                f", role {s['role']}" if s["role"] else "")
            found.append({"reason": "setting", "detail": f"{s['setting']} is set for {where}"})
        return found

    def data_loss_steps(self, from_ref: str | None, to_ref: str | None) -> list[dict]:
        return self._rows("SELECT * FROM pggit.data_loss_steps(%s, %s)", (from_ref, to_ref))

    def revert(self, commit: str, branch: str | None = None, force: bool = False) -> str:
        return self._guarded("revert", {"commit": commit, "branch": branch, "force": force},
                             lambda: self._value("SELECT pggit.revert(%s, %s, %s)", (commit, branch, force)))

    def reset_branch(self, branch: str, ref: str, force: bool = False) -> str:
        return self._guarded("reset", {"branch": branch, "ref": ref, "force": force},
                             lambda: self._value("SELECT pggit.reset_branch(%s, %s, %s)", (branch, ref, force)))

    # apply --------------------------------------------------------------------------------
    def apply(self, branch: str, sql: str, message: str | None = None) -> str | None:
        """Run DDL on a branch that is not checked out, without touching the live database.

        The branch's head is materialized in the shadow database with an engine of its own, the
        SQL runs there (PostgreSQL's error is raised as ``ShadowReplayError`` and nothing is
        recorded), and what that engine describes as changed is committed on the branch
        (``pggit.commit_objects``). Returns the new commit id, or None when nothing changed.
        On HEAD's branch it refuses (``WrongBranch``): run the DDL on the live database.
        """
        return self.apply_with_rows(branch, sql, message)[0]

    def apply_with_rows(self, branch: str, sql: str, message: str | None = None,
                        limit: int = ROWS_SHOWN) -> tuple[str | None, Rows | None]:
        """``apply``, and the rows of the last statement that returned some (a ``SELECT``) as
        the shadow role read them in the branch's schema (the shadow holds no data): (commit
        id or None, ``pggit.console.Rows`` or None)."""
        args = {"branch": branch, "sql": sql, "message": message}
        found: list[Rows | None] = [None]

        def keep_rows(cursor) -> None:
            found[0] = last_rows(cursor, limit)

        def op() -> str | None:
            if branch == self.current_branch():
                raise WrongBranch(
                    f"branch {branch!r} is checked out: run the DDL on the live database, where it is captured",
                    sqlstate="PGG11")
            head = self._value("SELECT head FROM pggit.list_branches() WHERE name = %s", (branch,))
            if head is None:
                raise RefNotFound(f"branch {branch!r} does not exist", sqlstate="PGG01")
            self._check_shadow_engine()
            shadow = self.apply_shadow
            with shadow.locked():
                shadow.materialize_with_engine(head)
                objects = shadow.describe_changes(sql, message or sql, on_result=keep_rows)
                if not objects:
                    shadow.record_state(head)
                    return None
                commit = self._value("SELECT pggit.commit_objects(%s, %s, %s, %s)",
                                     (branch, head, message or sql, Jsonb(objects)))
                shadow.record_state(commit)  # the next apply migrates from here
                return commit

        return self._guarded("apply", args, op), found[0]


class _nullctx:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
