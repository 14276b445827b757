"""Connections the web app trusts less than the repository's own: the SQL console on the
checked-out branch, and where a connection URL really leads.

The console on the checked-out branch runs a user's SQL on the live database. It never runs as
the repository's connection role (often a superuser): it logs in as a *console role* that the
repository names, a role that

- exists and can log in;
- is not SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS;
- is not a member, directly or through other roles, of a predefined ``pg_*`` role (reading or
  writing server files, running programs, signalling backends...) nor of a role with one of
  those attributes;
- is not (a member of) the owner of the engine's schema ``pggit``, who could rewrite history,
  nor a member of ``pggit_admin``, who may turn capture off.

``prepare_role`` checks that through the repository's privileged connection and grants the role
what the console needs from the engine (``USAGE ON SCHEMA pggit``, ``EXECUTE`` on
``pggit.begin_commit(text)``). ``connect`` logs in as the role (the repository's connection
parameters with user and password replaced: a login, not ``SET ROLE``, which the user's SQL
could undo with ``RESET ROLE``) and checks the session again before anything runs; ``run`` then
runs the statements in one transaction grouped into one commit.

``database_identity`` tells which server and database a connection reached, so that the web app
can refuse a URL naming its own database (or another repository's) however it is spelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import tuple_row

CONNECT_TIMEOUT = 10
MAX_ROLE_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names silently
ATTRIBUTES = {"rolsuper": "SUPERUSER", "rolcreaterole": "CREATEROLE", "rolcreatedb": "CREATEDB",
              "rolreplication": "REPLICATION", "rolbypassrls": "BYPASSRLS"}

# The role, its attributes, and the roles above it (memberships followed transitively, whatever
# their INHERIT/SET options) that are predefined (pg_*) or carry a dangerous attribute.
_ROLE_QUERY = """
WITH RECURSIVE target AS (
    SELECT oid, rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
    FROM pg_catalog.pg_roles WHERE rolname = %(role)s
), above(oid) AS (
    SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN target t ON m.member = t.oid
    UNION
    SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN above a ON m.member = a.oid
)
SELECT t.rolname, t.rolcanlogin, t.rolsuper, t.rolcreaterole, t.rolcreatedb, t.rolreplication, t.rolbypassrls,
       ARRAY(SELECT r.rolname::text FROM above a JOIN pg_catalog.pg_roles r ON r.oid = a.oid
             WHERE r.rolname LIKE 'pg\\_%%' OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb
                OR r.rolreplication OR r.rolbypassrls
             ORDER BY r.rolname) AS privileged_groups,
       (SELECT pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n
        WHERE n.nspname = 'pggit' AND pg_catalog.pg_has_role(t.oid, n.nspowner, 'MEMBER')) AS engine_owner,
       CASE WHEN pg_catalog.to_regrole('pggit_admin') IS NULL THEN false
            ELSE pg_catalog.pg_has_role(t.oid, pg_catalog.to_regrole('pggit_admin'), 'MEMBER') END AS capture_admin
FROM target t
"""


class ConsoleRoleRefused(Exception):
    """The console role is missing, cannot log in, or has more privileges than the console may use."""

    def __init__(self, role: str, problems: list[str]):
        self.role = role
        self.problems = problems
        super().__init__(f"the console role {role!r} is refused: " + "; ".join(problems))


def check_role_name(role: str) -> str:
    """The role name as PostgreSQL would store it, or ValueError (empty, NUL, too long)."""
    if not role or "\x00" in role:
        raise ValueError("a role name has at least one character and no NUL")
    if len(role.encode()) > MAX_ROLE_BYTES:
        raise ValueError(f"a role name has at most {MAX_ROLE_BYTES} bytes (PostgreSQL would cut it)")
    return role


def role_problems(conn: psycopg.Connection, role: str) -> list[str]:
    """Why ``role`` may not be the console role (empty list: it may), read on ``conn``."""
    row = conn.execute(_ROLE_QUERY, {"role": role}).fetchone()
    if row is None:
        return ["it does not exist"]
    names = ["rolname", "rolcanlogin", *ATTRIBUTES, "privileged_groups", "engine_owner", "capture_admin"]
    info = dict(zip(names, row))
    problems = []
    if not info["rolcanlogin"]:
        problems.append("it cannot log in (ALTER ROLE ... LOGIN)")
    bad = [label for column, label in ATTRIBUTES.items() if info[column]]
    if bad:
        problems.append("it has " + ", ".join(bad))
    if info["privileged_groups"]:
        problems.append("it is a member of " + ", ".join(info["privileged_groups"]))
    if info["engine_owner"]:
        problems.append(f"it is (a member of) {info['engine_owner']}, the owner of the engine's schema pggit")
    if info["capture_admin"]:
        problems.append("it is a member of pggit_admin, who may turn the engine's capture off")
    return problems


def prepare_role(dsn: str, role: str) -> None:
    """Check ``role`` through the repository's (privileged) connection ``dsn``, then grant it
    what the console needs from the engine. Raises ConsoleRoleRefused."""
    check_role_name(role)
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
        problems = role_problems(conn, role)
        if problems:
            raise ConsoleRoleRefused(role, problems)
        ident = sql.Identifier(role)
        with conn.transaction():
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pggit TO {}").format(ident))
            conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION pggit.begin_commit(text) TO {}").format(ident))


def role_dsn(dsn: str, role: str, password: str | None) -> str:
    """``dsn`` (URL or key=value) with its user and password replaced by the console role's."""
    params = conninfo_to_dict(dsn)
    for key in ("user", "password"):  # given here, they override a service file's
        params.pop(key, None)
    params["user"] = check_role_name(role)
    if password:
        params["password"] = password
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    return make_conninfo("", **params)


def connect(dsn: str, role: str, password: str | None) -> psycopg.Connection:
    """Log in as the console role and check the session before anything runs: logged in as
    ``role`` (no ``options`` switching roles), and ``role`` is still fit (``role_problems``).
    Raises ConsoleRoleRefused, also when the login itself fails."""
    try:
        conn = psycopg.connect(role_dsn(dsn, role, password))
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        if password:
            message = message.replace(password, "***")
        raise ConsoleRoleRefused(role, [f"logging in failed: {message}"]) from None
    try:
        session_user, current_user = conn.execute("SELECT session_user::text, current_user::text").fetchone()
        problems = []
        if session_user != role or current_user != role:
            problems.append(f"the session runs as {current_user!r} (logged in as {session_user!r}), not as {role!r}")
        problems += role_problems(conn, current_user)
        conn.rollback()
        if problems:
            raise ConsoleRoleRefused(role, problems)
    except BaseException:
        conn.close()
        raise
    return conn


ROWS_SHOWN = 100  # rows of a query's result the console shows (the count is of all of them)


@dataclass(frozen=True)
class Rows:
    """The rows the last statement that returns rows gave: its column names, the first
    ``ROWS_SHOWN`` rows as text (None for NULL), and how many there were in all."""

    columns: list[str]
    rows: list[list[str | None]]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def last_rows(cursor, limit: int = ROWS_SHOWN) -> Rows | None:
    """The result of the last statement of ``cursor``'s (multi-statement) execute that returned
    rows, or None when none did. PostgreSQL sends every row; only ``limit`` are kept as text."""
    cursor.row_factory = tuple_row  # (a connection with dict rows would merge columns of one name)
    found = None
    while True:
        if cursor.description is not None:
            rows = [[None if v is None else str(v) for v in row] for row in cursor.fetchmany(limit)]
            found = Rows([c.name for c in cursor.description], rows, max(cursor.rowcount, len(rows)))
        if not cursor.nextset():
            return found


def run(dsn: str, role: str, password: str | None, statements: str, message: str,
        person: str | None = None) -> Rows | None:
    """Run ``statements`` on the live database as the console role, in one transaction that the
    engine captures as one commit with ``message`` (all statements or none), authored by
    ``person`` (the web user; the console role is the committer); returns the rows of the last
    statement that returned some (a ``SELECT``), read as that role. PostgreSQL's errors (e.g.
    permission denied) are raised as psycopg errors; nothing is committed then."""
    with connect(dsn, role, password) as conn:
        if person:
            conn.execute("SELECT set_config('pggit.author', %s, true)", (person,))
        conn.execute("SELECT pggit.begin_commit(%s)", (message,))
        return last_rows(conn.execute(statements))
    # leaving the block commits (or rolls back on an error) and closes


# setting up a console role (the demo repository) ------------------------------------------------

def ensure_login_role(dsn: str, role: str, password: str) -> None:
    """Create ``role`` (LOGIN, no other attribute) unless it exists, and set its password;
    through the privileged connection ``dsn``."""
    check_role_name(role)
    ident = sql.Identifier(role)
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password)))


def hand_over_schema(dsn: str, schema: str, role: str) -> None:
    """Make ``role`` the owner of ``schema`` and of its tables, views and sequences, so that DDL
    run as ``role`` can change them (through the privileged connection ``dsn``)."""
    ident = sql.Identifier(role)
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn, conn.transaction():
        conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), ident))
        rows = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND NOT pg_catalog.pg_has_role(%s, c.relowner, 'USAGE') ORDER BY c.relname",
            (schema, role)).fetchall()
        for name, kind in rows:
            keyword = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}.get(kind, "TABLE")
            conn.execute(sql.SQL("ALTER " + keyword + " {}.{} OWNER TO {}").format(
                sql.Identifier(schema), sql.Identifier(name), ident))


# where a connection leads ------------------------------------------------------------------------

_IDENTITY_QUERY = """
SELECT CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END,
       extract(epoch FROM pg_catalog.pg_postmaster_start_time())::text,
       pg_catalog.current_setting('port'),
       pg_catalog.current_database()::text,
       (SELECT oid::bigint FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
"""


@dataclass(frozen=True)
class DatabaseIdentity:
    """What a server says about itself and the database a connection reached.

    ``system_identifier`` (pg_control_system(), when the role may read it) names the cluster;
    otherwise the postmaster's start time (to the microsecond) and its port name the running
    server. ``database_oid`` names the database within it (stable across renames)."""

    system_identifier: str | None
    started: str
    port: str
    database: str
    database_oid: int

    def same_server(self, other: "DatabaseIdentity") -> bool:
        """The same cluster (system identifier) when both sides could read it, else the same
        running server (postmaster start time and port)."""
        if self.system_identifier and other.system_identifier:
            return self.system_identifier == other.system_identifier
        return (self.started, self.port) == (other.started, other.port)

    def same_database(self, other: "DatabaseIdentity") -> bool:
        return self.same_server(other) and self.database_oid == other.database_oid

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "DatabaseIdentity":
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


def database_identity(conn) -> DatabaseIdentity:
    """The identity of the server and database ``conn`` (a psycopg connection or a DB-API
    cursor's connection) is on. Never fails for lack of privileges."""
    with conn.cursor() as cur:
        cur.execute(_IDENTITY_QUERY)
        sysid, started, port, database, oid = cur.fetchone()
    return DatabaseIdentity(sysid, started, port, database, int(oid))


def identity_of(dsn: str, connect_timeout: int = CONNECT_TIMEOUT) -> DatabaseIdentity:
    """Connect to ``dsn`` and read its identity."""
    with psycopg.connect(dsn, connect_timeout=connect_timeout, autocommit=True) as conn:
        return database_identity(conn)
