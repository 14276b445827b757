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

Who runs what (see docs/security.md). SQL that a person wrote (``describe_changes``: the SQL of
``apply`` and a custom conflict resolution; ``run``) and the replay of recorded states run on a
connection that LOGS IN as the shadow role: a role per shadow database (``pggit_sh_<hash>``) with
no attribute (no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS), no role membership, and
owning the shadow database and nothing else. It is NOLOGIN at rest: the client, holding a lock,
sets a fresh random password (sent as a SCRAM verifier), turns LOGIN on, connects, and turns LOGIN
off again, so nobody else can log in as it (a password it sets for itself is useless) and nothing
is stored. The engine's own steps run on the live DSN's (privileged) role: creating the database
and the role, the replay steps that install an extension, installing the engine in the shadow,
reading what it described, and the marker below. ``Shadow(..., privileged=True)`` (the CLI's
``--privileged``, for a DBA at a terminal) runs everything as the live DSN's role instead.

Merge verification is incremental: the shadow records the state it holds in itself (table
``pggit_shadow.state``: ``ref`` a commit id or ``merge:<id>``, ``engine``), written in the same
transaction as the DDL that brought it there (DDL is transactional: a failed step leaves the old
schema and the old marker). ``verify(ref)`` migrates from the recorded state to ``ref`` in one
transaction when the marker is usable (the shadow has no engine, and the marker still names the
same state on the live database: a commit that resolves, a merge that is closed), else it
recreates the shadow and replays the whole state (``replay``). Replays without a ref, and the
shadow materialized with an engine, carry no marker, so the next verification recreates it.

Cold starts (no shadow, or no usable marker) begin from a kept state when there is one: after a
cold start the state the shadow holds (a recorded state no person's SQL touched) is copied into a
database of the privileged role that nobody may connect to (``_keep_state``), and the next cold
start copies the nearest such state with CREATE DATABASE ... TEMPLATE and migrates from there
(``_start_from_template``). Beside each kept state one copy of it, its spare, is made ahead of
time by a thread after the operation (``_make_spares``); a cold start takes it, renaming it to the
shadow's name, instead of copying on its path (``_take_spare``), and copies only when no spare is
ready. See docs/merge.md, "Kept states" and "Spares".
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from . import install as _install
from .errors import ShadowReplayError, ShadowUnavailable

SUFFIX = "__pggit_shadow"
MARKER_SCHEMA = "pggit_shadow"  # in the shadow: table state(ref, engine), the state the shadow holds
# SQLSTATE classes of failures that are not a step's fault: connection, resources, operator
# intervention, system, transaction rollback (deadlock/serialization), internal.
_NOT_A_STEP = ("08", "40", "53", "57", "58", "XX")
MAX_IDENTIFIER_BYTES = 63
_LOCK_NAMESPACE = 0x70677368  # 'pgsh': advisory lock key (with the shadow name's hash) held while in use
_LOGIN_NAMESPACE = 0x70677372  # 'pgsr': held while the shadow role's LOGIN is on (one connection at a time)
ROLE_PREFIX = "pggit_sh_"
_ROLE_ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")


def without_owner_steps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A migration's rows without its ``owner`` steps (``ALTER ... OWNER TO``): the shadow role
    owns everything it makes in the shadow and may not give it away; owners are not verified
    there (as PostgreSQL's rights relative to the owner, they do not change what is made)."""
    return [r for r in rows if r["kind"] != "owner"]


_OWNER_OR_PRIVILEGE_LINE = re.compile(r"^(ALTER .* OWNER TO .*|GRANT .*|REVOKE .*|DO .*);$")


def creates_as_defined(statement: str, definition: str) -> bool:
    """Whether a migration step is what creates the object of a definition: the definition
    itself, or the definition without its trailing owner and privilege lines (a migration gives
    those after every object is made)."""
    statement, definition = statement.strip(), definition.strip()
    if statement == definition:
        return True
    if not definition.startswith(statement + "\n"):
        return False
    return all(_OWNER_OR_PRIVILEGE_LINE.match(line) for line in definition[len(statement) + 1:].split("\n"))


def shadow_role_name(shadow_db: str) -> str:
    """The unprivileged role that owns the shadow database ``shadow_db``: ``pggit_sh_`` and 16
    hex digits of the sha256 of its name."""
    return ROLE_PREFIX + hashlib.sha256(shadow_db.encode()).hexdigest()[:16]


# The apply shadow: a second scratch database per managed database, where ``apply`` and custom
# resolutions materialize a state with the shadow engine and run a person's SQL. Kept apart from
# the verification shadow, so that neither dirties the other's state; its name ends like the
# shadow's, so whatever refuses a shadow database (a repository URL naming one) refuses it too.
APPLY_SUFFIX = "__apply" + SUFFIX


def derived_name(live_db: str, suffix: str) -> str:
    """``<live_db><suffix>``, or, when that exceeds 63 bytes, the live name truncated (on a
    character boundary) plus ``_`` and 8 hex digits of the sha256 of the full live name."""
    name = live_db + suffix
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    tag = "_" + hashlib.sha256(live_db.encode()).hexdigest()[:8]
    budget = MAX_IDENTIFIER_BYTES - len((tag + suffix).encode())
    prefix = live_db.encode()[:budget].decode(errors="ignore")  # drop a cut multibyte character
    return prefix + tag + suffix


def shadow_name(live_db: str) -> str:
    """``<live_db>__pggit_shadow`` (see ``derived_name`` for long names)."""
    return derived_name(live_db, SUFFIX)


# Kept states (templates): a shadow's state, copied once it holds a recorded state that no
# person's SQL touched, into a database that nobody may connect to, from which a cold shadow is
# made with CREATE DATABASE ... TEMPLATE (see Shadow._start_from_template). Named
# ``<live_db>__t<v|a><slot>__pggit_shadow`` (v: the verification shadow's, a: the apply
# shadow's); what state each holds is in its comment (TEMPLATE_KIND, see Shadow._keep_state).
TEMPLATE_KIND = "pggit shadow template"


def template_name(live_db: str, purpose: str, slot: int) -> str:
    """The name of slot ``slot`` of the kept states of ``live_db``'s ``purpose`` shadow."""
    return derived_name(live_db, f"__t{purpose[0]}{slot}{SUFFIX}")


# Spares: beside each kept state, one copy of it made ahead of time (in the background, after
# the operation that needed it), that a cold start takes by renaming it to the shadow's name
# instead of copying the kept state on its path (see Shadow._take_spare, Shadow._make_spares).
# Named ``<live_db>__s<v|a><slot>__pggit_shadow`` after their kept state's slot, owned by the
# DSN's role, nobody may connect; their comment (SPARE_KIND) names the kept state (its name and
# oid) and the state it holds. While a spare is made or taken, a session advisory lock on its
# name (_SPARE_NAMESPACE, in the live database) is held: two clients never make the same spare,
# a kept state is never copied by a spare's maker and a cold start at once, and a spare found
# without its description while nobody holds that lock is what a crash left (dropped).
SPARE_KIND = "pggit shadow spare"
_SPARE_NAMESPACE = 0x70677370  # 'pgsp'
# Set aside: a shadow (or a spare failing a check) that a cold start replaces is renamed to
# ``<live_db>__x<v|a><6 hex>__pggit_shadow``, described as TRASH_KIND, and dropped by the maker
# thread after the operation: on PostgreSQL 15 DROP DATABASE waits for a checkpoint (8.5 s
# measured here just after copying a 10k-object state), which a cold start does not wait for.
TRASH_KIND = "pggit shadow trash"
_KINDS = (TEMPLATE_KIND, SPARE_KIND, TRASH_KIND)


def spare_name(live_db: str, purpose: str, slot: int) -> str:
    """The name of the spare of slot ``slot``'s kept state of ``live_db``'s ``purpose`` shadow."""
    return derived_name(live_db, f"__s{purpose[0]}{slot}{SUFFIX}")


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


@contextmanager
def _spare_lock(conn: psycopg.Connection, spare: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the advisory lock of the spare ``spare`` on the autocommit connection ``conn``
    (waiting for it, or, with ``wait`` false, yielding False when another session holds it)."""
    key = _lock_key(spare)
    if wait:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", (_SPARE_NAMESPACE, key))
        got = True
    else:
        row = conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS got", (_SPARE_NAMESPACE, key)).fetchone()
        got = bool(row["got"] if isinstance(row, dict) else row[0])
    try:
        yield got
    finally:
        if got and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_SPARE_NAMESPACE, key))


def template_meta(comment: str | None, kind: str = TEMPLATE_KIND) -> dict[str, Any] | None:
    """The metadata a kept state's (or, with ``kind`` SPARE_KIND, a spare's) comment holds, or
    None when it is not one."""
    try:
        meta = json.loads(comment) if comment else None
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("pggit") != kind or not isinstance(meta.get("ref"), str):
        return None
    return meta


def drop_templates(conn: psycopg.Connection, live_db: str, purpose: str | None = None) -> list[str]:
    """Drop the kept states of ``live_db`` (of one ``purpose``'s shadow, or of both), their
    spares and its shadows set aside, on the autocommit connection ``conn``: those in its slots
    and those whose comment names it; a spare under its lock (a spare being made is waited for,
    then dropped), with its kept state. Returns the names dropped."""
    purposes = [purpose] if purpose else ["verify", "apply"]
    pairs = [(spare_name(live_db, p, i), template_name(live_db, p, i))
             for p in purposes for i in range(Shadow.TEMPLATE_SLOTS_MAX)]
    slots = [n for pair in pairs for n in pair]
    rows = conn.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database"
        " WHERE datname = ANY(%s) OR shobj_description(oid, 'pg_database') LIKE ANY(%s)",
        (slots, ['{"pggit": "' + k + '"%' for k in _KINDS])).fetchall()
    found = []
    for r in rows:
        name, comment = (r["datname"], r["comment"]) if isinstance(r, dict) else r
        meta = next((m for m in (template_meta(comment, k) for k in _KINDS) if m), None)
        if name in slots or (meta and meta.get("live") == live_db and meta.get("purpose") in purposes):
            found.append(name)
    dropped = []
    for spare, template in pairs:
        if spare in found or template in found:
            # (a spare's maker holds its lock from before it reads the kept state until the spare
            # is described: waited for, so that no spare is made after its kept state is gone)
            with _spare_lock(conn, spare):
                for name in (spare, template):
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            dropped += [n for n in (spare, template) if n in found]
    for name in found:
        if name not in slots:  # (described as this database's, in a slot no longer looked at)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


def _pg_error(exc: psycopg.Error) -> tuple[str, str | None, str | None, str | None]:
    """(primary message, sqlstate, detail, hint) of a PostgreSQL error."""
    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag else None) or str(exc).strip()
    return message, getattr(exc, "sqlstate", None), diag.message_detail if diag else None, diag.message_hint if diag else None


# Kinds of objects only a superuser can make (or only the owner of something only a superuser
# makes: a server needs its wrapper, a user mapping its server): see Shadow._elevated_steps.
PRIVILEGED_KINDS = frozenset({
    "access method", "foreign data wrapper", "server", "user mapping", "foreign table", "operator class",
    "operator family", "text search parser", "text search template", "transform", "subscription", "type",
})


def privileged_drops(kind: str, identity: str) -> set[str]:
    """The DROP statements pggit.migration writes for an object of a privileged kind, from its
    identity (whose names are quoted): a step equal to one of them drops that object and nothing
    else."""
    rest = identity[len(kind) + 1:] if identity.startswith(kind + " ") else None
    if rest is None:
        return set()
    if kind == "subscription":
        return {f"DROP SUBSCRIPTION IF EXISTS {rest};",
                f"ALTER SUBSCRIPTION {rest} DISABLE; ALTER SUBSCRIPTION {rest} SET (slot_name = NONE); DROP SUBSCRIPTION {rest};"}
    if kind == "type":
        return {f"DROP TYPE IF EXISTS {rest} CASCADE;"}  # (a base type, with its I/O functions)
    if kind in ("operator class", "operator family"):
        name, sep, method = rest.rpartition(" using ")
        return {f"DROP {kind.upper()} IF EXISTS {name} USING {method};"} if sep else set()
    if kind == "transform":
        return {f"DROP TRANSFORM IF EXISTS {rest.replace('for ', 'FOR ', 1).replace(' language ', ' LANGUAGE ', 1)};"}
    if kind == "user mapping":
        return {f"DROP USER MAPPING IF EXISTS {rest.replace('for ', 'FOR ', 1).replace(' server ', ' SERVER ', 1)};"}
    return {f"DROP {kind.upper()} IF EXISTS {rest};"}


class Shadow:
    """The shadow database of one live database.

    ``live_conn`` is a connection to the live database; the shadow is reached with the same
    connection parameters (host, port, user, password) and the shadow's name.
    """

    # Kept states (see _start_from_template and _keep_state)
    TEMPLATES_KEPT = 2  # per shadow: the least recently used one gives way to a new one
    TEMPLATE_SLOTS_MAX = 8  # slots looked at when dropping (TEMPLATES_KEPT may have been larger)
    TEMPLATE_REFRESH_STEPS = 200  # a cold start that migrated this many steps from a kept state keeps its own
    # CREATE DATABASE ... STRATEGY on PostgreSQL 15+ (14 always copies files): 'file_copy' or 'wal_log'
    # (None: the server's default, wal_log). bench/p3_cold_shadow.py --strategy measures both: at
    # 10k objects (~12,500 relation files, ~100 MB) WAL_LOG took 1.4-9 s on PostgreSQL 15 here,
    # FILE_COPY (two checkpoints, an fsync per file) 8-38 s.
    template_strategy: str | None = "wal_log"
    # Spares (see _take_spare and _make_spares): False takes none and makes none (every cold
    # start copies its kept state, as before spares; bench/p3_cold_shadow.py measures both).
    spares: bool = True
    # Databases a shadow may hold on the server: itself, TEMPLATES_KEPT kept states and one spare
    # of each (a live database has two shadows: verification and apply)
    MAX_DATABASES = 1 + 2 * TEMPLATES_KEPT

    def __init__(self, live_conn: psycopg.Connection, *, dsn: str | None = None, privileged: bool = False,
                 purpose: str = "verify"):
        self.live_conn = live_conn
        info = live_conn.info
        self.live_db = info.dbname
        self.purpose = purpose
        self.name = shadow_name(self.live_db) if purpose == "verify" else derived_name(self.live_db, APPLY_SUFFIX)
        self.privileged = privileged  # True: everything runs as the live DSN's role (no shadow role)
        self.role = shadow_role_name(shadow_name(self.live_db))  # one role for both of a database's shadows
        self._role_ready = False
        base = dsn or info.dsn
        extra = {"password": info.password} if info.password and "password" not in base else {}
        self._base_dsn = make_conninfo(base, **extra)
        self._admin: psycopg.Connection | None = None
        self._lock_depth = 0
        self.last_replay_ms: float | None = None
        self.last_mode: str | None = None  # 'full' or 'incremental': how the last verify/replay/materialize ran
        self.last_statements: int | None = None  # statements run by it
        self.last_fallback: str | None = None  # why the last verify did not run incrementally
        self.baseline: str | None = None  # the shadow engine's initial commit after materialize_with_engine
        self.last_template: str | None = None  # the kept state the last cold start was made from
        self.last_kept: str | None = None  # the kept state the last operation made (None: none made)
        self._keep_pending: str | None = None  # a state to keep once its ref names it for good (keep_pending)
        self.last_spare: str | None = None  # the spare the last cold start took (None: it copied its kept state)
        self.last_spare_why: str | None = None  # why the last cold start took no spare
        self.last_spare_ms: float | None = None  # how long the last spare made took to copy
        self.last_start_ms: float | None = None  # how long the last cold start took to make the shadow a kept state's copy
        self.spares_made: list[str] = []  # spares made by this object's makers (newest last)
        self._spares_wanted = False  # a cold start or a kept state: spares are (re)made when the lock is let go
        self._spare_thread: threading.Thread | None = None
        self._spare_mutex = threading.Lock()  # guards the two below
        self._spare_running = False  # a maker thread of this object runs
        self._spares_again = False  # it goes round once more before it ends

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
        """A privileged connection to the shadow (the live DSN's role): the engine's own steps.
        Its search_path is pg_catalog only: nothing the shadow role created (a function or
        operator in public) can stand in for a built-in in what this connection runs."""
        conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)
        conn.execute("SET search_path = pg_catalog, pg_temp")
        return conn

    def connect_untrusted(self) -> psycopg.Connection:
        """A connection to the shadow that logs in as the shadow role (see the module docstring),
        for SQL a person wrote and for replays; the live DSN's role when ``privileged``."""
        if self.privileged:  # (the default search_path: this runs a person's SQL)
            return psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)
        self.ensure_role()
        admin = self._admin_conn()
        key = int.from_bytes(hashlib.sha256(self.role.encode()).digest()[:4], "big", signed=True)
        role = sql.Identifier(self.role)
        admin.execute("SELECT pg_advisory_lock(%s, %s)", (_LOGIN_NAMESPACE, key))
        try:
            password = secrets.token_urlsafe(32)
            verifier = admin.pgconn.encrypt_password(password.encode(), self.role.encode(), b"scram-sha-256").decode()
            admin.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(verifier)))
            try:
                conn = psycopg.connect(make_conninfo(self._base_dsn, dbname=self.name, user=self.role, password=password),
                                       autocommit=True, row_factory=dict_row)
            except psycopg.OperationalError as exc:
                raise ShadowUnavailable(
                    f"cannot log in to the shadow database {self.name!r} as its role {self.role!r}: {str(exc).strip()}",
                    hint=f"allow the role in pg_hba.conf, e.g. 'host {self.name} {self.role} <client address> scram-sha-256' "
                         "(a password is set for each connection)",
                ) from exc
            finally:
                admin.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOGIN_NAMESPACE, key))
        try:
            self._check_unprivileged(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_unprivileged(self, conn: psycopg.Connection) -> None:
        """Refuse a shadow-role connection whose role has any attribute or membership."""
        row = conn.execute(
            "SELECT current_user AS who, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,"
            " (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) AS memberships"
            " FROM pg_roles r WHERE r.rolname = current_user").fetchone()
        bad = [a[3:] for a in _ROLE_ATTRIBUTES if row[a]] + (["a member of other roles"] if row["memberships"] else [])
        if row["who"] != self.role or bad:
            raise ShadowUnavailable(f"the shadow connection's role {row['who']!r} is not unprivileged: {', '.join(bad)}",
                                    hint=f"the shadow role {self.role!r} must have no attributes and no memberships")

    def ensure_role(self) -> None:
        """Create the shadow role (NOLOGIN, no attributes) if needed; strip attributes someone gave
        it; refuse if it was made a member of any role."""
        if self._role_ready or self.privileged:
            return
        conn = self._admin_conn()
        role = sql.Identifier(self.role)
        row = conn.execute(
            "SELECT r.oid, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,"
            " array(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid) AS member_of"
            " FROM pg_roles r WHERE r.rolname = %s", (self.role,)).fetchone()
        try:
            if row is None:
                try:
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
                                 .format(role))
                except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    pass  # made by a concurrent client
            else:
                if any(row[a] for a in _ROLE_ATTRIBUTES):
                    conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
                                 .format(role))
                if row["member_of"]:
                    raise ShadowUnavailable(
                        f"the shadow role {self.role!r} is a member of {', '.join(row['member_of'])}: it must be of none",
                        hint=f"REVOKE those roles FROM {self.role}, or DROP ROLE it (pgGit recreates it)")
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ShadowUnavailable(
                f"the shadow role {self.role!r} cannot be created or checked: {_pg_error(exc)[0]}",
                hint="the managed database's DSN needs a role with CREATEROLE (or a superuser) for the shadow database",
            ) from exc
        self._role_ready = True

    def close(self) -> None:
        if self._admin is not None and not self._admin.closed:
            self._admin.close()
        self._admin = None
        self._lock_depth = 0
        self._role_ready = False  # checked again by the next use

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
            if self._lock_depth == 0:
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_NAMESPACE, key))
                if self._spares_wanted:
                    self._spares_wanted = False
                    self._start_spare_maker()

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
        self.ensure_role()

    def exists(self) -> bool:
        row = self._admin_conn().execute("SELECT 1 AS x FROM pg_database WHERE datname = %s", (self.name,)).fetchone()
        return row is not None

    def _drop_subscriptions(self) -> None:
        """Drop the subscriptions a replay made in the shadow (made disabled, never connected):
        PostgreSQL refuses to drop a database that has any. Their slots are let go first
        (slot_name = NONE), so that nothing is asked of the publisher."""
        names = [r["subname"] for r in self._admin_conn().execute(
            "SELECT s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = %s",
            (self.name,),
        ).fetchall()]
        if not names:
            return
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET pggit.capture = off")
            for name in names:
                ident = sql.Identifier(name)
                conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident))
                conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident))
                conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(ident))

    def drop(self) -> None:
        """Drop the shadow database if it exists (its sessions are disconnected). Its kept states
        stay (``drop_templates``), and so does its role while they exist."""
        with self.locked():
            conn = self._admin_conn()
            self._drop_subscriptions()
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            if not self.privileged:  # (refused while the other shadow of the database still exists)
                try:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.role)))
                except psycopg.Error:  # it owns something elsewhere, or another client is logging in
                    pass
                self._role_ready = False
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
            self._set_aside(self.name)
            self.ensure_role()
            owner = sql.SQL("") if self.privileged else sql.SQL(" OWNER {}").format(sql.Identifier(self.role))
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}{} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                        sql.Identifier(self.name), owner, sql.Literal(db["encoding"]),
                        sql.Literal(db["datcollate"]), sql.Literal(db["datctype"]),
                    )
                )
                # nobody but its owner (and superusers) connects to it
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(self.name)))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ShadowUnavailable(
                    f"the shadow database {self.name!r} cannot be created: {_pg_error(exc)[0]}"
                ) from exc
            with self.connect() as shadow:
                if not self.privileged and conn.info.server_version < 150000:
                    # before PostgreSQL 15 schema public belongs to the bootstrap superuser, not to
                    # the database's owner
                    shadow.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(self.role)))
                with shadow.transaction():  # the marker's place, the privileged role's before anything else runs
                    self._create_marker_table(shadow)
            self.baseline = None

    # kept states (templates) ---------------------------------------------------------------
    def _strategy(self, conn: psycopg.Connection | None = None) -> sql.Composable:
        if self.template_strategy is None or (conn or self._admin_conn()).info.server_version < 150000:
            return sql.SQL("")
        if self.template_strategy.lower() not in ("file_copy", "wal_log"):
            raise ValueError(f"unknown CREATE DATABASE strategy {self.template_strategy!r}")
        return sql.SQL(" STRATEGY {}").format(sql.SQL(self.template_strategy.upper()))

    def _kept_databases(self, conn: psycopg.Connection, names: list[str], kind: str) -> list[dict[str, Any]]:
        """Kept states (or spares, ``kind``) among the databases ``names``, each with ``why`` it
        is not trusted (None when it is): the checks a kept state and a spare both pass before
        use. Owned by the DSN's role; no connections allowed and not a template; CONNECT granted
        to nobody; a description of this kind for this database, shadow and shadow role; its
        objects owned by no other role than the shadow role and the DSN's role."""
        rows = conn.execute(
            """SELECT d.oid::bigint AS oid, d.datname, d.datallowconn, d.datistemplate,
                      d.datdba = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user) AS mine,
                      current_user::text AS me,
                      NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                                   WHERE a.grantee <> d.datdba) AS private,
                      shobj_description(d.oid, 'pg_database') AS comment,
                      array(SELECT DISTINCT r.rolname::text FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid
                             WHERE s.dbid = d.oid AND s.deptype = 'o') AS owners
                 FROM pg_database d WHERE d.datname = ANY(%s)""", (names,)).fetchall()
        out = []
        for r in rows:
            r = dict(r)
            meta = template_meta(r["comment"], kind) or {}
            allowed = {r["me"]} | (set() if self.privileged else {self.role})
            why = None
            if not r["mine"]:
                why = "owned by another role"
            elif r["datallowconn"] or r["datistemplate"]:
                why = "it accepts connections or is marked as a template"
            elif not r["private"]:
                why = "CONNECT is granted on it"
            elif not meta:
                why = "no description of its state"
            elif (meta.get("live"), meta.get("purpose"), meta.get("role")) != (
                    self.live_db, self.purpose, None if self.privileged else self.role):
                why = "made for another database, shadow or role"
            elif set(r["owners"]) - allowed:
                why = f"objects in it belong to {', '.join(sorted(set(r['owners']) - allowed))}"
            r.update(meta=meta, why=why, ref=meta.get("ref"), slot=names.index(r["datname"]))
            out.append(r)
        return out

    def templates(self, conn: psycopg.Connection | None = None) -> list[dict[str, Any]]:
        """The kept states of this shadow: ``{name, oid, ref, used, trusted, why}``, most
        recently used first; ``why`` says why one is not trusted (it is then never copied)."""
        slots = [template_name(self.live_db, self.purpose, i) for i in range(self.TEMPLATE_SLOTS_MAX)]
        out = []
        for r in self._kept_databases(conn or self._admin_conn(), slots, TEMPLATE_KIND):
            why = r["why"]
            if why is None and self.purpose == "apply" and r["ref"].split()[1:] != [_install.current_version()]:
                why = "made with another engine version"
            out.append({"name": r["datname"], "oid": r["oid"], "ref": r["ref"], "used": r["meta"].get("used") or 0,
                        "trusted": why is None, "why": why, "mine": r["mine"], "slot": r["slot"]})
        return sorted(out, key=lambda t: -t["used"])

    def spares_list(self, conn: psycopg.Connection | None = None) -> list[dict[str, Any]]:
        """The spares of this shadow's kept states: ``{name, oid, slot, ref, template,
        template_oid, why}`` (``why``: a check of a kept state it fails, else None; whether it
        still is a copy of its slot's kept state is checked when it is taken)."""
        slots = [spare_name(self.live_db, self.purpose, i) for i in range(self.TEMPLATE_SLOTS_MAX)]
        return [{"name": r["datname"], "oid": r["oid"], "slot": r["slot"], "ref": r["ref"],
                 "template": r["meta"].get("template"), "template_oid": r["meta"].get("template_oid"), "why": r["why"]}
                for r in self._kept_databases(conn or self._admin_conn(), slots, SPARE_KIND)]

    def _current_user(self) -> str:
        return self._admin_conn().execute("SELECT current_user AS u").fetchone()["u"]

    def _drop_template(self, name: str) -> None:
        """Drop a kept state, and its spare first (under the spare's lock: a spare being made of
        it is waited for)."""
        admin = self._admin_conn()
        slots = [template_name(self.live_db, self.purpose, i) for i in range(self.TEMPLATE_SLOTS_MAX)]
        if name in slots:
            spare = spare_name(self.live_db, self.purpose, slots.index(name))
            with _spare_lock(admin, spare):
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(spare)))
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        else:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def drop_templates(self) -> list[str]:
        """Drop this shadow's kept states and their spares; returns their names."""
        with self.locked():
            return drop_templates(self._admin_conn(), self.live_db, self.purpose)

    def drop_spares(self) -> list[str]:
        """Drop this shadow's spares (each under its lock); returns their names. The next cold
        start copies its kept state and has the spare made again."""
        admin = self._admin_conn()
        dropped = []
        for slot in range(self.TEMPLATE_SLOTS_MAX):
            name = spare_name(self.live_db, self.purpose, slot)
            with _spare_lock(admin, name):
                if admin.execute("SELECT 1 AS x FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                    dropped.append(name)
        return dropped

    def _usable_templates(self) -> list[dict[str, Any]]:
        """The trusted kept states whose ref still names the state they hold; the others that are
        ours are dropped (a stale or tampered one is never copied)."""
        usable = []
        for t in self.templates():
            if t["trusted"] and self._still_names_same_state(t["ref"].split()[0]):
                usable.append(t)
            elif t["mine"]:
                self._drop_template(t["name"])
        return usable

    def _start_from_template(self, ref: str) -> bool:
        """Make the shadow a copy of the kept state nearest to ``ref`` (fewest objects differ),
        ready for the incremental path to migrate from there; False (the shadow may then be
        gone) when there is none or the copy fails. The copy is the kept state's spare when one
        is ready (``_take_spare``: renamed, no copy on this path), else made now with CREATE
        DATABASE ... TEMPLATE; either way the spare is (re)made after the operation
        (``_make_spares``). The copy's own marker must name the state the template's
        description does, else the template is dropped."""
        self.last_template = self.last_spare = self.last_spare_why = None
        started = time.perf_counter()
        try:
            usable = self._usable_templates()
            if not usable:
                return False
            if len(usable) > 1:
                def distance(t: dict[str, Any]) -> float:
                    try:
                        with self.live_conn.transaction():
                            return self.live_conn.cursor(row_factory=dict_row).execute(
                                "SELECT count(*) AS n FROM pggit.diff(%s, %s)", (t["ref"].split()[0], ref)).fetchone()["n"]
                    except psycopg.Error:
                        return float("inf")
                usable.sort(key=distance)
            chosen = usable[0]
            self.check_privileges()
            admin = self._admin_conn()
            self._set_aside(self.name)
            self._spares_wanted = self._spares_wanted or self.spares
            # the spare's lock, held while the kept state is copied: a spare being made of it is
            # waited for (and then taken), and none is made of it while this copy runs
            with _spare_lock(admin, spare_name(self.live_db, self.purpose, chosen["slot"])):
                if self.spares and self._take_spare(chosen):
                    with self.connect() as conn:
                        marker = self._read_marker(conn)
                    if marker is not None and marker["ref"] == chosen["ref"]:
                        self.last_spare = spare_name(self.live_db, self.purpose, chosen["slot"])
                    else:  # (its kept state is checked by the copy below)
                        self.last_spare_why = "the spare does not hold what it says"
                        self._set_aside(self.name)
                elif not self.spares:
                    self.last_spare_why = "spares are off"
                if self.last_spare is None:
                    owner = sql.SQL("") if self.privileged else sql.SQL(" OWNER {}").format(sql.Identifier(self.role))
                    admin.execute(sql.SQL("CREATE DATABASE {}{} TEMPLATE {}{}").format(
                        sql.Identifier(self.name), owner, sql.Identifier(chosen["name"]), self._strategy()))
                    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(self.name)))
            if self.last_spare is None:
                with self.connect() as conn:
                    marker = self._read_marker(conn)
                if marker is None or marker["ref"] != chosen["ref"]:
                    self._drop_template(chosen["name"])
                    self.last_fallback = f"the kept state {chosen['name']!r} does not hold what it says"
                    return False
            self._describe_template(chosen["name"], chosen["ref"])  # (its last use)
        except psycopg.Error as exc:
            self.last_fallback = f"no copy of a kept state: {_pg_error(exc)[0]}"
            return False
        self.last_template = chosen["name"]
        self.last_start_ms = (time.perf_counter() - started) * 1000
        return True

    def _set_aside(self, name: str) -> None:
        """Take the database ``name`` (this shadow, or a spare failing a check) out of the way
        without dropping it on the path (see TRASH_KIND): connections refused, then renamed and
        described as trash in one transaction; the maker thread drops it after the operation.
        When a client session is in it, or the rename fails, it is dropped here as before
        (sessions disconnected)."""
        admin = self._admin_conn()
        if not admin.execute("SELECT 1 AS x FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        if name == self.name:
            self._drop_subscriptions()  # (made disabled by a replay: a database with any cannot be dropped)
        ident = sql.Identifier(name)
        trash = derived_name(self.live_db, f"__x{self.purpose[0]}{secrets.token_hex(3)}{SUFFIX}")
        meta = {"pggit": TRASH_KIND, "live": self.live_db, "purpose": self.purpose, "ref": name}
        try:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident))
            if admin.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = %s"
                             " AND backend_type = 'client backend') AS x", (name,)).fetchone()["x"]:
                raise LookupError(name)
            with admin.transaction():
                admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident, sql.Identifier(trash)))
                admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(trash), sql.Literal(json.dumps(meta))))
        except (psycopg.Error, LookupError):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            return
        self._spares_wanted = True  # (the maker drops it)

    def _drop_set_aside(self, conn: psycopg.Connection) -> None:
        """Drop this shadow's databases set aside (``_set_aside``), each under its lock taken
        without waiting (another maker is dropping it)."""
        rows = conn.execute("SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database"
                            " WHERE shobj_description(oid, 'pg_database') LIKE %s",
                            ('{"pggit": "' + TRASH_KIND + '"%',)).fetchall()
        for r in rows:
            meta = template_meta(r["comment"], TRASH_KIND)
            if meta and (meta.get("live"), meta.get("purpose")) == (self.live_db, self.purpose):
                with _spare_lock(conn, r["datname"], wait=False) as got:
                    if got:
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(r["datname"])))

    def _take_spare(self, template: dict[str, Any]) -> bool:
        """Make the spare of the kept state ``template`` the shadow (called holding the spare's
        lock, the shadow dropped): when it passes every check a kept state passes and is a copy
        of that very kept state (its description names the kept state's name, oid and ref), it
        is renamed to the shadow's name and given to the shadow role, with connections allowed
        and its description removed, in one transaction. Else it is dropped (made again after
        the operation) and False returned, ``last_spare_why`` saying why."""
        admin = self._admin_conn()
        name = spare_name(self.live_db, self.purpose, template["slot"])
        [spare] = self._kept_databases(admin, [name], SPARE_KIND) or [None]
        if spare is None:
            self.last_spare_why = "no spare ready"
            return False
        why = spare["why"]
        if why is None and (spare["meta"].get("template"), spare["meta"].get("template_oid"), spare["ref"]) != (
                template["name"], template["oid"], template["ref"]):
            why = "not a copy of its kept state as it is"
        if why is not None:
            self.last_spare_why = f"spare {name!r} dropped: {why}"
            self._set_aside(name)
            return False
        shadow = sql.Identifier(self.name)
        with admin.transaction():
            admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(name), shadow))
            if not self.privileged:  # (as CREATE DATABASE ... OWNER gives it; its objects are the role's already)
                admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(shadow, sql.Identifier(self.role)))
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(shadow))
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS NULL").format(shadow))
            admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(shadow))
        return True

    def _start_spare_maker(self) -> None:
        """Have the missing spares made by a thread of this process (``_make_spares``), unless
        one of this object's is still at it. The thread is not a daemon: a CLI process waits for
        it after printing its result, so that the copy it started is finished and described
        (a process killed meanwhile leaves at most an undescribed spare, dropped when found)."""
        with self._spare_mutex:
            if self._spare_running:  # (it goes round once more: the spare it made may have been taken since)
                self._spares_again = True
                return
            self._spare_running, self._spares_again = True, False
            self._spare_thread = threading.Thread(target=self._spare_maker, name=f"pggit spares {self.name}",
                                                  daemon=False)
            self._spare_thread.start()

    def _spare_maker(self) -> None:
        while True:
            try:
                self._make_spares()
            except Exception:  # (best effort, in a thread: the next cold start copies, and asks again)
                pass
            with self._spare_mutex:
                if not self._spares_again:
                    self._spare_running = False
                    return
                self._spares_again = False

    def make_spares(self) -> None:
        """Make the missing spares now, in this thread (what the maker thread does)."""
        self._make_spares()

    def wait_for_spares(self, timeout: float | None = None) -> bool:
        """Wait for this object's spare maker (if any) to finish; False when it still runs."""
        thread = self._spare_thread
        if thread is not None:
            thread.join(timeout)  # (a thread going round again is the same thread)
            return not thread.is_alive()
        return True

    def _make_spares(self) -> None:
        """Make the spare of each trusted kept state that has no good one (the body of the
        maker thread: a connection of its own to the live database; best effort, nothing
        raised). Each under the spare's lock, taken without waiting (held by another session:
        that one makes it, or a cold start is copying its kept state): the spare is checked as
        ``_take_spare`` checks it and dropped when it fails, then CREATE DATABASE ... TEMPLATE
        <kept state> ALLOW_CONNECTIONS false, CONNECT revoked from PUBLIC, and its description
        written last (a spare without one is unusable)."""
        try:
            with psycopg.connect(self._base_dsn, autocommit=True, row_factory=dict_row,
                                 application_name="pggit shadow spares") as conn:
                self._drop_set_aside(conn)
                for template in self.templates(conn):
                    if not template["trusted"] or not self.spares:
                        continue
                    name = spare_name(self.live_db, self.purpose, template["slot"])
                    with _spare_lock(conn, name, wait=False) as got:
                        if not got:
                            continue
                        # again under the lock (the kept state cannot be dropped while it is held)
                        now = {t["name"]: t for t in self.templates(conn)}.get(template["name"])
                        if not now or not now["trusted"] or now["oid"] != template["oid"]:
                            continue
                        [spare] = self._kept_databases(conn, [name], SPARE_KIND) or [None]
                        if spare is not None:
                            if spare["why"] is None and (spare["meta"].get("template"), spare["meta"].get("template_oid"),
                                                         spare["ref"]) == (now["name"], now["oid"], now["ref"]):
                                continue  # ready
                            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                        started = time.perf_counter()
                        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} ALLOW_CONNECTIONS false{}").format(
                            sql.Identifier(name), sql.Identifier(now["name"]), self._strategy(conn)))
                        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
                        meta = {"pggit": SPARE_KIND, "live": self.live_db, "purpose": self.purpose, "ref": now["ref"],
                                "role": None if self.privileged else self.role, "template": now["name"],
                                "template_oid": now["oid"]}
                        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                            sql.Identifier(name), sql.Literal(json.dumps(meta))))
                        self.last_spare_ms = (time.perf_counter() - started) * 1000
                        self.spares_made.append(name)
        except psycopg.Error:
            return  # (the live database dropped, the server gone: the next cold start copies, and tries again)

    def _describe_template(self, name: str, ref: str) -> None:
        meta = {"pggit": TEMPLATE_KIND, "live": self.live_db, "purpose": self.purpose, "ref": ref,
                "role": None if self.privileged else self.role, "used": time.time()}
        self._admin_conn().execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(meta))))

    def _keep_after_cold(self, ref: str, steps: int | None) -> None:
        """After a cold start (``steps``: how many steps the copy of a kept state was migrated;
        None after a full replay): keep the shadow's state when no kept state was used or the one
        used is far from it. A ref that does not name its state for good yet (an open merge) is
        kept once it does (``keep_pending``)."""
        self._keep_pending = None
        if steps is not None and steps < self.TEMPLATE_REFRESH_STEPS:
            return
        if self._still_names_same_state(ref):
            self._keep_state()
        elif ref.startswith("merge:"):
            self._keep_pending = ref

    def keep_pending(self) -> None:
        """Keep the state a cold verification left for later (an open merge's) now that its ref
        names it for good (the merge completed), if the shadow still holds it."""
        ref, self._keep_pending = self._keep_pending, None
        if ref is None:
            return
        with self.locked():
            if self.exists() and (self.marker() or {}).get("ref") == ref and self._still_names_same_state(ref):
                self._keep_state()

    def _keep_state(self) -> None:
        """Copy the shadow (holding the recorded state its marker names, touched by no person's
        SQL) into a kept state: a database owned by the DSN's role that nobody may connect to
        (ALLOW_CONNECTIONS false, CONNECT revoked from PUBLIC), described by its comment. At most
        TEMPLATES_KEPT are kept; the least recently used one gives way, and kept states whose
        commit no branch reaches any longer (a branch deleted or reset, a merge aborted) or whose
        database is gone are dropped first. Best effort: a failure keeps nothing."""
        self.last_kept = None
        admin = self._admin_conn()
        try:
            with self.connect() as conn:
                marker = self._read_marker(conn)
            has_subscriptions = admin.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid"
                " WHERE d.datname = %s) AS x", (self.name,)).fetchone()["x"]
            if marker is None or has_subscriptions:  # (subscriptions are not copied with a database)
                return
            self._prune_templates()
            usable = self._usable_templates()
            for t in usable:
                if t["ref"] == marker["ref"]:
                    self._describe_template(t["name"], t["ref"])
                    return
            taken = {t["slot"] for t in self.templates()}
            free = [i for i in range(self.TEMPLATES_KEPT) if i not in taken]
            if free:
                slot = free[0]
            else:
                oldest = min(usable or self.templates(), key=lambda t: t["used"])
                slot = oldest["slot"]
                self._drop_template(oldest["name"])
            name = template_name(self.live_db, self.purpose, slot)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} ALLOW_CONNECTIONS false{}").format(
                sql.Identifier(name), sql.Identifier(self.name), self._strategy()))
            admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
            self._describe_template(name, marker["ref"])
        except psycopg.Error:
            return
        self.last_kept = name
        self._spares_wanted = self._spares_wanted or self.spares  # (its spare is made once the operation is over)

    def _prune_templates(self) -> None:
        """Drop kept states whose commit no branch reaches (deleted or reset branches, aborted
        merges), and kept states of any database that no longer exists."""
        admin = self._admin_conn()
        for r in admin.execute(
                "SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d"
                " WHERE d.datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
                "   AND shobj_description(d.oid, 'pg_database') LIKE ANY(%s)",
                (['{"pggit": "' + k + '"%' for k in _KINDS],)):
            meta = next((m for m in (template_meta(r["comment"], k) for k in _KINDS) if m), None)
            if meta and not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (meta.get("live"),)).fetchone():
                self._drop_template(r["datname"])
        templates = [t for t in self.templates() if t["trusted"]]
        if not templates:
            return
        with self.live_conn.transaction():
            cur = self.live_conn.cursor(row_factory=dict_row)
            heads = [r["head"] for r in cur.execute("SELECT head FROM pggit.list_branches()").fetchall()]
            for t in templates:
                ref = t["ref"].split()[0]
                m = re.fullmatch(r"merge:([0-9]{1,18})", ref)
                if m:
                    row = cur.execute("SELECT result_commit FROM pggit.merges WHERE merge_id = %s AND status = 'merged'",
                                      (int(m.group(1)),)).fetchone()
                    ref = row and row["result_commit"]
                reached = ref is not None and any(
                    h == ref or cur.execute("SELECT pggit.find_merge_base(%s, %s) AS b", (ref, h)).fetchone()["b"] == ref
                    for h in heads)
                if not reached:
                    self._drop_template(t["name"])

    # operations -----------------------------------------------------------------------------
    def replay(self, statements: Iterable[dict[str, Any]], ref: str | None = None) -> float:
        """Recreate the shadow empty and run ``statements`` (rows ``step, kind, identity,
        statement`` of ``pggit.migration``) in order, in transactions of ``CHUNK`` statements
        (leading ``enum value`` steps, which PostgreSQL refuses to use in their own transaction,
        in one before them).

        With ``ref`` (the state the statements build: a commit id or ``merge:<id>``) the shadow's
        marker is set to it in the last transaction, so that ``verify`` can go on from there;
        without, the shadow has no marker.

        Returns the time taken in milliseconds (also kept in ``last_replay_ms``). A statement
        PostgreSQL rejects raises ``ShadowReplayError`` with its message, step, identity and
        statement.
        """
        rows = without_owner_steps(sorted(statements, key=lambda r: r["step"]))
        started = time.perf_counter()
        with self.locked():
            try:
                self._replay(rows, ref)
            finally:
                self.last_replay_ms = (time.perf_counter() - started) * 1000
        return self.last_replay_ms

    def _replay(self, rows: list[dict[str, Any]], ref: str | None = None) -> None:
        """Recreate the shadow and run ``rows`` as the shadow role, the elevated steps (see
        ``_elevated_steps``) on a privileged connection, in order; then write the marker (a crash
        before it leaves none: the next verification replays again)."""
        self.last_mode, self.last_statements = "full", len(rows)
        self.recreate()
        elevated = self._elevated_steps(rows)
        # PostgreSQL refuses to use an enum label in the transaction that added it: the
        # migration lists new labels first ('enum value' steps); they are committed first.
        settings = [r for r in rows if r["kind"] == "setting"]
        labels = [r for r in rows if r["kind"] == "enum value"]
        rest = [r for r in rows if r["kind"] not in ("enum value", "setting")]
        batches = [b for b in ([labels, rest] if labels else [rest]) if b]
        with self.connect_untrusted() as untrusted, self.connect() as privileged:
            for conn in {id(untrusted): untrusted, id(privileged): privileged}.values():
                for r in settings:  # session settings, on every connection that runs steps
                    conn.execute(r["statement"].encode())
            for batch in batches:
                for is_elevated, segment in self._segments(batch, elevated):
                    self._run_batch(privileged if is_elevated else untrusted, segment)
            if ref is not None:
                with privileged.transaction():
                    self._write_marker(privileged, ref)

    @staticmethod
    def _segments(rows: list[dict[str, Any]], elevated: set[int]) -> Iterator[tuple[bool, list[dict[str, Any]]]]:
        """Runs of consecutive rows that are all elevated or all not, in order."""
        current: list[dict[str, Any]] = []
        flag = None
        for r in rows:
            e = r["step"] in elevated
            if current and e != flag:
                yield flag, current
                current = []
            flag = e
            current.append(r)
        if current:
            yield flag, current

    def _elevated_steps(self, rows: list[dict[str, Any]]) -> set[int]:
        """Steps of a replay that run privileged: installing an extension, and creating a function
        in a language only a superuser may use (C, an untrusted PL) when HEAD's tree holds that
        very definition and the live database has that function in such a language (a
        privileged role made it there; no unprivileged path can record one). Everything else,
        whoever wrote it, runs as the shadow role: a definition can hold code that runs when it
        is created (a materialized view's query, a column default)."""
        if self.privileged:
            return set()
        out = {r["step"] for r in rows if r["kind"] == "extension"}
        funcs = {r["identity"]: r for r in rows if r["kind"] in ("function", "procedure") and r.get("identity")}
        if funcs:
            cur = self.live_conn.cursor(row_factory=dict_row)
            with self.live_conn.transaction():
                found = cur.execute(
                    """SELECT t.identity, b.definition
                         FROM pggit.tree('HEAD') t JOIN pggit.blobs b ON b.hash = t.hash
                         JOIN pg_proc p ON p.oid = to_regprocedure(substr(t.identity, strpos(t.identity, ' ') + 1))
                         JOIN pg_language l ON l.oid = p.prolang
                        WHERE t.identity = ANY (%s) AND NOT l.lanpltrusted""",
                    (list(funcs),)).fetchall()
            out |= {funcs[f["identity"]]["step"] for f in found
                    if creates_as_defined(funcs[f["identity"]]["statement"], f["definition"])}
        # kinds only a superuser (or the owner of what only a superuser makes) can create or drop:
        # made privileged when the step is HEAD's very definition (read from the catalog, where a
        # privileged role made it); a step that is exactly the drop of such an object counts too
        # (the shadow role could not drop it: verify replays such a migration in full instead)
        kept = {r["identity"]: r for r in rows if r["kind"] in PRIVILEGED_KINDS and r.get("identity")}
        if kept:
            cur = self.live_conn.cursor(row_factory=dict_row)
            with self.live_conn.transaction():
                found = cur.execute(
                    """SELECT t.identity, t.kind, b.definition FROM pggit.tree('HEAD') t JOIN pggit.blobs b ON b.hash = t.hash
                        WHERE t.identity = ANY (%s)""", (list(kept),)).fetchall()
            heads = {f["identity"]: f["definition"] for f in found}
            for r in rows:
                if r["kind"] not in PRIVILEGED_KINDS or not r.get("identity"):
                    continue
                statement = r["statement"].strip()
                # (of types, base types only: made from their shell, CREATE TYPE name;)
                if creates_as_defined(statement, heads.get(r["identity"], "")) and (
                        r["kind"] != "type" or statement.startswith(f"CREATE TYPE {r['identity'][len('type '):]};\n")):
                    out.add(r["step"])
                elif statement in privileged_drops(r["kind"], r["identity"]):
                    out.add(r["step"])
        return out

    CHUNK = 500  # statements per transaction: one transaction for 10,000 objects runs out of lock slots

    @classmethod
    def _run_batch(cls, conn: psycopg.Connection, rows: list[dict[str, Any]]) -> None:
        """Run the rows in transactions of CHUNK statements, each sent as one script (one round
        trip). A chunk PostgreSQL rejects is rolled back and run again statement by statement to
        name the step that fails. (The shadow is scratch: earlier chunks staying is harmless.)"""
        for start in range(0, len(rows), cls.CHUNK):
            chunk = rows[start:start + cls.CHUNK]
            # (CREATE and DROP SUBSCRIPTION lock catalogs the cluster shares in orders that deadlock
            # two such transactions: the strongest lock first, as pggit._apply_live does)
            lock = ["LOCK TABLE pg_catalog.pg_subscription IN ACCESS EXCLUSIVE MODE;"] \
                if any(r["kind"] == "subscription" for r in chunk) else []
            try:
                with conn.transaction():
                    conn.execute("\n".join(lock + [r["statement"] for r in chunk]).encode())
            except psycopg.Error:
                cls._run_each(conn, chunk)
                raise  # the chunk failed as a script but not statement by statement: report that

    @staticmethod
    def _run_each(conn: psycopg.Connection, rows: list[dict[str, Any]], *, rollback: bool = False) -> None:
        current: dict[str, Any] | None = None
        try:
            with conn.transaction(force_rollback=rollback):
                for current in rows:
                    conn.execute(current["statement"].encode())
        except psycopg.Error as exc:
            message, sqlstate, detail, hint = _pg_error(exc)
            raise ShadowReplayError(
                message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                step=current and current.get("step"), identity=current and current.get("identity"),
                statement=current and current.get("statement"),
            ) from exc

    # marker and incremental verification -----------------------------------------------------
    @staticmethod
    def _write_marker(conn: psycopg.Connection, ref: str, engine: bool = False) -> None:
        """Record (in the caller's transaction, on a privileged connection) that the shadow holds
        the state ``ref``. The marker's schema and table belong to the privileged role and nobody
        else may write them: the shadow role cannot forge a state (``_read_marker`` trusts only
        a marker its own role owns)."""
        schema = sql.Identifier(MARKER_SCHEMA)
        Shadow._create_marker_table(conn)
        conn.execute(sql.SQL("DELETE FROM {}.state").format(schema))
        conn.execute(sql.SQL("INSERT INTO {}.state (ref, engine) VALUES (%s, %s)").format(schema), (ref, engine))

    @staticmethod
    def _create_marker_table(conn: psycopg.Connection) -> None:
        """Schema ``pggit_shadow`` and its table ``state``, made by (and only usable as) the
        connection's role; refused when another role made either (the shadow role may create
        a schema of that name once the marker is gone: it is then never written to or trusted)."""
        schema = sql.Identifier(MARKER_SCHEMA)
        row = conn.execute(
            """SELECT (SELECT n.nspowner = current_user::regrole FROM pg_namespace n WHERE n.nspname = %s) AS schema_ok,
                      (SELECT c.relowner = current_user::regrole FROM pg_class c WHERE c.oid = to_regclass(%s)) AS table_ok""",
            (MARKER_SCHEMA, f"{MARKER_SCHEMA}.state")).fetchone()
        if row["schema_ok"] is False or row["table_ok"] is False:
            raise ShadowUnavailable(f"schema {MARKER_SCHEMA!r} in the shadow database belongs to another role",
                                    hint="the shadow database is recreated by the next full replay")
        if row["schema_ok"] and row["table_ok"]:
            # (no DDL when both are there: in a shadow with an engine every DDL statement, the
            # REVOKE below included, is captured, which costs a scan of the catalogs at 10k objects)
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {}.state (ref text NOT NULL, engine boolean NOT NULL)")
                     .format(schema))
        conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {0} FROM PUBLIC; REVOKE ALL ON {0}.state FROM PUBLIC").format(schema))

    def _drop_marker(conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(MARKER_SCHEMA)))

    def marker(self) -> dict[str, Any] | None:
        """``{ref, engine}`` recorded in the shadow (``engine`` also true when the shadow has a
        ``pggit`` schema), or None when the shadow or its marker does not exist."""
        if not self.exists():
            return None
        with self.connect() as conn:
            return self._read_marker(conn)

    @staticmethod
    def _read_marker(conn: psycopg.Connection) -> dict[str, Any] | None:
        row = conn.execute(
            """SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE c.oid = to_regclass(%s) AND c.relowner = current_user::regrole
                                 AND n.nspowner = current_user::regrole) AS has_marker,
                      to_regnamespace('pggit') IS NOT NULL AS has_engine""",
            (f"{MARKER_SCHEMA}.state",),
        ).fetchone()
        if not row["has_marker"]:
            return None
        rows = conn.execute(sql.SQL("SELECT ref, engine FROM {}.state").format(sql.Identifier(MARKER_SCHEMA))).fetchall()
        if len(rows) != 1:
            return None
        return {"ref": rows[0]["ref"], "engine": rows[0]["engine"] or row["has_engine"]}

    def _still_names_same_state(self, ref: str) -> bool:
        """Whether the marker's ref names, on the live database, the state it named when it was
        written: a commit id that resolves to itself (commits are immutable), or a merge that is
        closed, ``merged`` or ``aborted`` (an open merge's state changes as its items are
        resolved, a closed one's no longer)."""
        live = self.live_conn
        try:
            with live.transaction():  # a savepoint inside a caller's transaction
                cur = live.cursor(row_factory=dict_row)
                m = re.fullmatch(r"merge:([0-9]{1,18})", ref)
                if m:
                    row = cur.execute("SELECT status FROM pggit.merges WHERE merge_id = %s", (int(m.group(1)),)).fetchone()
                    return row is not None and row["status"] in ("merged", "aborted")
                row = cur.execute("SELECT pggit.resolve(%s) AS c", (ref,)).fetchone()
                return row is not None and row["c"] == ref
        except psycopg.Error:
            return False

    def _migration(self, from_ref: str | None, to_ref: str) -> list[dict[str, Any]]:
        cur = self.live_conn.cursor(row_factory=dict_row)
        return cur.execute(
            "SELECT step, kind, identity, statement FROM pggit.migration(%s, %s) ORDER BY step", (from_ref, to_ref)
        ).fetchall()

    def verify(self, ref: str, migration: Callable[[str | None, str], list[dict[str, Any]]] | None = None) -> float:
        """Bring the shadow to the state ``ref`` (a commit id or ``merge:<id>``) and record it.

        Incremental when the shadow's marker is usable: the steps of ``pggit.migration(marker,
        ref)`` and the new marker run in ONE transaction; a step PostgreSQL rejects raises
        ``ShadowReplayError`` (step, identity, statement, PostgreSQL's message) and leaves the
        shadow at its previous state and marker. Otherwise (no shadow, no marker, an engine in
        the shadow, a marker naming no known state, steps adding enum labels, or the transaction
        failing for a reason that is no step's, such as lock slots) the shadow is recreated and
        the whole state replayed (``replay``). ``migration(from_ref, to_ref)`` returns the rows
        of ``pggit.migration`` (read through the live connection by default).

        Returns the time taken in milliseconds (``last_replay_ms``); ``last_mode`` says how it
        ran, ``last_statements`` how many statements, ``last_fallback`` why not incrementally.
        """
        given = migration or self._migration

        def migration(from_ref: str | None, to_ref: str) -> list[dict[str, Any]]:
            return without_owner_steps(given(from_ref, to_ref))

        started = time.perf_counter()
        self.last_fallback = self.last_kept = self.last_template = self.last_spare = self.last_spare_why = None
        with self.locked():
            try:
                if not self._verify_incremental(ref, migration):
                    why = self.last_fallback
                    if self._start_from_template(ref) and self._verify_incremental(ref, migration):
                        self.last_mode, self.last_fallback = "template", why
                        self._keep_after_cold(ref, self.last_statements)
                    else:
                        self._replay(sorted(migration(None, ref), key=lambda r: r["step"]), ref)
                        self._keep_after_cold(ref, None)
            finally:
                self.last_replay_ms = (time.perf_counter() - started) * 1000
        return self.last_replay_ms

    def _verify_incremental(self, ref: str, migration: Callable[[str | None, str], list[dict[str, Any]]]) -> bool:
        """The incremental path of ``verify``; False (with ``last_fallback`` set) when it does not apply.

        The steps run as the shadow role in one transaction; the marker is the privileged role's.
        It is removed before the steps run and written after they commit (a crash in between
        leaves no marker: the next verification replays); steps PostgreSQL rejects roll back and
        the old marker is put back."""
        if not self.exists():
            self.last_fallback = "no shadow database"
            return False
        with self.connect() as privileged:
            marker = self._read_marker(privileged)
            if marker is None:
                self.last_fallback = "no marker"
                return False
            if marker["engine"]:
                self.last_fallback = "an engine is installed in the shadow"
                return False
            if not self._still_names_same_state(marker["ref"]):
                self.last_fallback = f"the marker {marker['ref']!r} names no known state"
                return False
            rows = sorted(migration(marker["ref"], ref), key=lambda r: r["step"])
            if any(r["kind"] == "enum value" for r in rows):  # a new label cannot be used in its transaction
                self.last_fallback = "the migration adds enum labels"
                return False
            if self._elevated_steps(rows):
                self.last_fallback = "the migration has steps that run privileged (extensions, objects only a superuser makes)"
                return False
            script = "\n".join(r["statement"] for r in rows)
            with privileged.transaction():
                self._drop_marker_rows(privileged)
            with self.connect_untrusted() as conn:
                try:
                    with conn.transaction():
                        if script:
                            conn.execute(script.encode())
                except psycopg.Error as exc:
                    with privileged.transaction():  # nothing ran: the shadow still holds the old state
                        self._write_marker(privileged, marker["ref"])
                    if not self._is_step_error(exc, conn):
                        self.last_fallback = f"incremental transaction failed: {type(exc).__name__}: {_pg_error(exc)[0]}"
                        return False
                    try:  # name the step: again statement by statement, rolled back whatever happens
                        self._run_each(conn, rows, rollback=True)
                    except ShadowReplayError as step_exc:
                        if step_exc.pg_sqlstate and step_exc.pg_sqlstate[:2] in _NOT_A_STEP:
                            self.last_fallback = f"incremental transaction failed: {step_exc.message}"
                            return False
                        self.last_mode, self.last_statements = "incremental", len(rows)
                        raise
                    self.last_fallback = f"the script failed but no single step did: {_pg_error(exc)[0]}"
                    return False
            with privileged.transaction():
                self._write_marker(privileged, ref)
        self.last_mode, self.last_statements = "incremental", len(rows)
        return True

    @staticmethod
    def _drop_marker_rows(conn: psycopg.Connection) -> None:
        Shadow._create_marker_table(conn)
        conn.execute(sql.SQL("DELETE FROM {}.state").format(sql.Identifier(MARKER_SCHEMA)))

    @staticmethod
    def _is_step_error(exc: psycopg.Error, conn: psycopg.Connection) -> bool:
        sqlstate = getattr(exc, "sqlstate", None)
        if conn.closed or conn.broken or not sqlstate:
            return False
        return sqlstate[:2] not in _NOT_A_STEP

    def materialize_with_engine(self, ref: str, statements: Iterable[dict[str, Any]] | None = None) -> str:
        """Bring the shadow to the state of ``ref`` with an engine of its own installed, whose HEAD
        is then the baseline DDL run afterwards is compared with; returns the baseline commit id.

        Incremental when the shadow's marker names a state with this engine version (the state the
        last ``apply`` left, see ``record_state``): the migration from there to ``ref`` runs as the
        shadow role in one transaction, captured by the shadow's engine. Otherwise (no marker, an
        unknown state, steps that run privileged or add enum labels, a step failing) the shadow
        is recreated, the state replayed (``statements``, else read from the live database) and
        the engine installed; its initial import describes every object."""
        self.last_kept = self.last_template = self.last_spare = self.last_spare_why = None
        with self.locked():
            self._keep_pending = None
            if self._materialize_incremental(ref):
                return self.baseline
            why = self.last_fallback
            if self._start_from_template(ref) and self._materialize_incremental(ref):
                self.last_mode, self.last_fallback = "template", why
                self._keep_after_cold(ref, self.last_statements)
                return self.baseline
            if statements is None:
                statements = self.live_conn.execute(
                    "SELECT step, kind, identity, statement FROM pggit.migration(NULL, %s) ORDER BY step", (ref,)
                ).fetchall()
            self.replay(statements)  # no ref: no marker until the engine is in
            with self.connect() as conn:  # the engine is the privileged role's: its history cannot be forged
                _install.install(conn)
                # (the shadow role owns what it made there, the live DSN's role what ran
                # privileged: owners are not described, the branch keeps its own, see
                # pggit.commit_objects)
                conn.execute("SELECT pggit.configure_owners(false)")
                self.baseline = conn.execute("SELECT pggit.resolve('HEAD') AS c").fetchone()["c"]
            self.record_state(ref)
            self._keep_after_cold(ref, None)
            self._keep_pending = None  # (the apply shadow keeps only what it held before a person's SQL)
        return self.baseline

    def record_state(self, ref: str) -> None:
        """Record (privileged) that the shadow, engine installed, holds the state ``ref``: after
        ``materialize_with_engine``, and by ``apply`` once what its SQL changed is committed as
        ``ref`` on the branch. The marker carries the engine version."""
        with self.locked(), self.connect() as conn, conn.transaction():
            self._write_marker(conn, f"{ref} {_install.current_version()}", engine=True)

    def _materialize_incremental(self, ref: str) -> bool:
        if not self.exists():
            self.last_fallback = "no shadow database"
            return False
        with self.connect() as privileged:
            marker = self._read_marker(privileged)
            words = marker["ref"].split() if marker else []
            if not marker or not marker["engine"] or len(words) != 2 or words[1] != _install.current_version():
                self.last_fallback = "no marker of a state with this engine"
                return False
            if not self._still_names_same_state(words[0]):
                self.last_fallback = f"the marker {words[0]!r} names no known state"
                return False
            rows = without_owner_steps(self._migration(words[0], ref))
            if any(r["kind"] == "enum value" for r in rows) or self._elevated_steps(rows):
                self.last_fallback = "the migration adds enum labels or has steps that run privileged"
                return False
            with privileged.transaction():
                self._drop_marker_rows(privileged)  # whatever happens next, the old state is gone
            script = "\n".join(r["statement"] for r in rows if r["kind"] != "setting")
            if script:
                try:
                    with self.connect_untrusted() as conn, conn.transaction():
                        conn.execute("SET LOCAL check_function_bodies = off")
                        conn.execute(script.encode())
                except psycopg.Error as exc:  # (data a person left in the shadow, say): start afresh
                    self.last_fallback = f"the migration from {words[0]} failed: {_pg_error(exc)[0]}"
                    return False
            privileged.execute("SELECT pggit.flush()")
            self.baseline = privileged.execute("SELECT pggit.resolve('HEAD') AS c").fetchone()["c"]
            with privileged.transaction():
                self._write_marker(privileged, f"{ref} {_install.current_version()}", engine=True)
        self.last_mode, self.last_statements = "incremental", len(rows)
        return True

    def describe_changes(self, sql_text: str, message: str | None = None, *,
                         prelude: str | None = None, on_result=None) -> list[dict[str, Any]]:
        """Run ``sql_text`` in the materialized shadow (one transaction, captured by the shadow's
        engine as one commit) and return the objects that changed since the baseline:
        ``{identity, kind, definition, detail}`` for added or changed ones, ``{identity, deleted:
        True}`` for dropped ones. On an error PostgreSQL's message is raised
        (``ShadowReplayError``) and nothing is recorded. ``on_result(cursor)``, if given, reads
        the SQL's results (a ``SELECT``'s rows) inside its transaction, as the shadow role."""
        if self.baseline is None:
            raise RuntimeError("describe_changes needs materialize_with_engine first")
        with self.locked():
            with self.connect() as privileged, privileged.transaction():
                marker = self._read_marker(privileged)
                self._drop_marker_rows(privileged)  # the state changes: known again only through record_state
            with self.connect_untrusted() as conn:  # a person's SQL: as the shadow role
                try:
                    with conn.transaction():
                        if prelude:
                            conn.execute(prelude.encode())
                        cursor = conn.execute(sql_text.encode())
                        if on_result is not None:
                            on_result(cursor)
                except psycopg.Error as exc:
                    if marker is not None:  # rolled back: the shadow still holds the state it had
                        with self.connect() as privileged, privileged.transaction():
                            self._write_marker(privileged, marker["ref"], engine=True)
                    pg_message, sqlstate, detail, hint = _pg_error(exc)
                    raise ShadowReplayError(pg_message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                                            statement=sql_text) from exc
            return self.changes_since_baseline()

    def changes_since_baseline(self, conn: psycopg.Connection | None = None) -> list[dict[str, Any]]:
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.execute("SELECT pggit.flush()")  # statements whose capture was queued (CREATE TABLE...)
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
        """Run SQL in the shadow in its own transaction (raises ``ShadowReplayError``). The
        shadow's marker is dropped with it: the shadow no longer holds a known state."""
        with self.locked():
            if self.exists():
                with self.connect() as privileged, privileged.transaction():
                    self._drop_marker_rows(privileged)
            self._run_untrusted(sql_text)

    def _run_untrusted(self, sql_text: str) -> None:
        with self.connect_untrusted() as conn:
            try:
                with conn.transaction():
                    conn.execute(sql_text.encode())
            except psycopg.Error as exc:
                message, sqlstate, detail, hint = _pg_error(exc)
                raise ShadowReplayError(message, pg_sqlstate=sqlstate, pg_detail=detail, pg_hint=hint,
                                        statement=sql_text) from exc
