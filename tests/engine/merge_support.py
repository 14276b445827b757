"""Helpers shared by the merge, checkout, corpus and merge-fuzz tests: a database with the engine
installed, driven through the SQL API with psycopg (no client methods), and the checks every
test makes after an action (trees, heads, the live schema compared by normalized pg_dump with a
database built from the expected state)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

import pgtools


def install_engine(server: pgtools.PgServer, dbname: str) -> None:
    from pggit.client import Client

    client = Client(server.dsn_for(dbname))
    try:
        client.install()
    finally:
        client.close()


def run_script(server: pgtools.PgServer, dbname: str, script: str, what: str) -> None:
    """Execute ``script`` in one go (one implicit transaction); on error fail with the server's
    message, saving the script in the temporary directory."""
    if not script.strip():
        return
    with server.connect(dbname) as conn:
        try:
            conn.execute(script)
        except psycopg.Error as exc:
            saved = Path(tempfile.gettempdir()) / f"pggit-failed-{server.id}-{re.sub(r'[^A-Za-z0-9_]+', '_', what)[:80]}.sql"
            saved.write_text(script)
            raise AssertionError(f"replaying {what} on {server.id} failed: {type(exc).__name__}: {exc}\n"
                                 f"(script saved in {saved})") from None


@dataclass(frozen=True)
class Snapshot:
    """What must not change when an operation is refused or fails."""

    heads: dict
    current: str
    commits: int
    dump: str
    merges: tuple


class Repo:
    """A database with the engine installed, used through the SQL API."""

    def __init__(self, server: pgtools.PgServer, db: str):
        self.server, self.db = server, db
        self.conn = server.connect(db)

    def close(self) -> None:
        self.conn.close()

    # queries --------------------------------------------------------------------------
    def q(self, query, params=None) -> list[tuple]:
        cur = self.conn.execute(query, params)
        return cur.fetchall() if cur.description else []

    def one(self, query, params=None):
        rows = self.q(query, params)
        return rows[0][0] if rows else None

    def dicts(self, query, params=None) -> list[dict]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def ddl(self, *statements) -> None:
        for s in statements:
            self.conn.execute(s)

    # refs and history -----------------------------------------------------------------
    def head(self, ref: str | None = "HEAD") -> str:
        return self.one("SELECT pggit.resolve(%s::text)", [ref])

    def heads(self) -> dict[str, str]:
        return dict(self.q("SELECT name, head FROM pggit.list_branches()"))

    def current(self) -> str:
        return self.one("SELECT pggit.current_branch()")

    def commits(self) -> int:
        self.q("SELECT pggit.flush()")
        return self.one("SELECT count(*) FROM pggit.commits")

    def parents(self, commit: str) -> list[str]:
        return list(self.one("SELECT parent_ids FROM pggit.commits WHERE commit_id = %s", [commit]))

    def tree(self, ref: str | None = None) -> dict[str, str]:
        return dict(self.q("SELECT identity, definition FROM pggit.tree(%s::text)", [ref]))

    def hashes(self, ref: str | None = None) -> dict[str, str]:
        return dict(self.q("SELECT identity, hash FROM pggit.tree(%s::text)", [ref]))

    def create_branch(self, name: str, from_ref: str | None = None) -> str:
        return self.one("SELECT pggit.create_branch(%s, %s::text)", [name, from_ref])

    def switch(self, name: str, force: bool = False) -> str:
        return self.one("SELECT pggit.switch_branch(%s, %s)", [name, force])

    def on(self, branch: str, *statements: str, force: bool = True) -> str:
        """Run DDL on ``branch`` (captured there): switch to it, run, switch back. Returns the
        branch's new head."""
        back = self.current()
        self.switch(branch, force)
        self.ddl(*statements)
        self.switch(back, force)
        return self.head(branch)

    # merges ---------------------------------------------------------------------------
    def merge(self, source: str, target: str | None = None, strategy: str = "auto", message: str | None = None,
              complete: bool = True, force: bool = False) -> dict:
        return self.dicts("SELECT * FROM pggit.merge_branches(%s, %s, %s, %s, %s, %s)",
                          [source, target, strategy, message, complete, force])[0]

    def resolve(self, merge_id: int, identity: str, resolution: str, definition: str | None = None,
                detail=None, complete: bool = True, force: bool = False) -> dict:
        return self.dicts("SELECT * FROM pggit.resolve_conflict(%s, %s, %s, %s, %s, %s, %s)",
                          [merge_id, identity, resolution, definition, detail, complete, force])[0]

    def items(self, merge_id: int) -> dict[str, dict]:
        return {r["identity"]: r for r in self.dicts("SELECT * FROM pggit.merge_items(%s)", [merge_id])}

    def merge_row(self, merge_id: int) -> dict:
        return self.dicts("SELECT * FROM pggit.merges WHERE merge_id = %s", [merge_id])[0]

    # live schema ----------------------------------------------------------------------
    def dump(self) -> str:
        return self.server.dump_schema(self.db)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.heads(), self.current(), self.commits(), self.dump(),
                        tuple(self.q("SELECT merge_id, status, result_commit FROM pggit.merges ORDER BY merge_id")))

    def built_dump(self, ref: str, make_db) -> str:
        """Normalized dump of a fresh database built by replaying migration(NULL, ref)."""
        target = make_db()
        run_script(self.server, target, self.one("SELECT pggit.migration_script(NULL, %s::text)", [ref]) or "",
                   f"migration(NULL, {ref})")
        return self.server.dump_schema(target)

    def assert_live_is(self, ref: str, make_db, label: str | None = None) -> None:
        pgtools.assert_same_dump(self.built_dump(ref, make_db), self.dump(), f"replayed {label or ref}", "live")

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.q(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum", [table])]


def expected_tree(base: dict, source: dict, target: dict, pick) -> dict:
    """The merged tree (identity -> hash) when each object whose versions differ takes
    ``pick(identity, b, s, t)`` (None = absent) and every other keeps the target's version."""
    out = {}
    for ident in set(base) | set(source) | set(target):
        b, s, t = base.get(ident), source.get(ident), target.get(ident)
        v = t if s == t else pick(ident, b, s, t)
        if v is not None:
            out[ident] = v
    return out


def three_way(ident, b, s, t, conflict):
    """One-sided changes taken; a conflict (both sides changed, differently) goes to ``conflict``."""
    if t == b:
        return s
    if s == b:
        return t
    return conflict(ident, b, s, t)
