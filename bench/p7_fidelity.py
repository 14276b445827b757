"""P7: fidelity of the engine on a corpus of real DDL, an older release against the current sources.

For every file of the corpus (``tests/engine/corpus/*.sql`` and ``tests/engine/rich_schema.sql``),
on one server, for each engine version:

* **statements behaving differently**: the file run with psql (errors do not stop it) into a
  database without the engine and into one with it; the error messages psql prints are compared
  (an error only one side has, or a statement that fails differently, counts);
* **drift rows**: ``pggit.drift()`` right after the load (the engine's record against the catalog);
* **failing rebuilds**: ``pggit.migration_script(NULL, 'main')`` replayed into an empty database;
* **differing dump lines**: ``pg_dump --schema-only`` (normalized as the tests do) of the live
  database against the rebuilt one, lines only on one side.

Prints one row per file and version, then the totals per version. Not a timed test.

    python bench/p7_fidelity.py [--server pg15|pg18] [--versions 0.4.0 current]
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402

import pgtools  # noqa: E402
from pggit import Client  # noqa: E402
from pggit import install as pginstall  # noqa: E402

CORPUS = sorted((ROOT / "tests" / "engine" / "corpus").glob("*.sql")) + [ROOT / "tests" / "engine" / "rich_schema.sql"]


def install(server: pgtools.PgServer, db: str, version: str) -> None:
    if version == "current":
        client = Client(server.dsn_for(db))
        try:
            client.install()
        finally:
            client.close()
        return
    # a kept release script, installed as its installer did
    with psycopg.connect(server.dsn_for(db)) as conn, conn.transaction():
        conn.execute("SELECT set_config('pggit.capture', 'off', true)")
        conn.execute("SET LOCAL check_function_bodies = off")
        conn.execute(pginstall.release_script(version).read_text().encode())
        conn.execute("INSERT INTO pggit.meta (key, value) VALUES ('version', %s),"
                     " ('installed_server_version', current_setting('server_version_num'))", (version,))
        conn.execute("SELECT set_config('pggit.capture', '', true)")
        conn.execute("SELECT pggit._initial_import()")


def run_file(server: pgtools.PgServer, db: str, path: Path) -> list[str]:
    """psql -f, continuing after errors: the error lines it printed (file positions removed)."""
    proc = subprocess.run([str(server.psql_path), "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", server.dsn_for(db), "-f", str(path)],
                          capture_output=True, text=True)
    return [re.sub(r"^psql:[^:]+:\d+: ", "", line) for line in proc.stderr.splitlines() if "ERROR" in line]


def dump_diff_lines(a: str, b: str) -> int:
    return sum(1 for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---")))


def measure(server: pgtools.PgServer, path: Path, version: str) -> dict:
    plain, live, rebuilt = server.create_database(), server.create_database(), server.create_database()
    try:
        plain_errors = run_file(server, plain, path)
        install(server, live, version)
        engine_errors = run_file(server, live, path)
        with server.connect(live) as conn:
            drift = conn.execute("SELECT count(*) FROM pggit.drift()").fetchone()[0]
            script = conn.execute("SELECT pggit.migration_script(NULL::text, 'main')").fetchone()[0] or ""
        live_dump = server.dump_schema(live)
        try:
            with server.connect(rebuilt) as conn:
                conn.execute(script.encode())
            failed, lines = False, dump_diff_lines(live_dump, server.dump_schema(rebuilt))
        except psycopg.Error:
            failed, lines = True, 0
        differ = len(set(plain_errors) ^ set(engine_errors)) + abs(len(plain_errors) - len(engine_errors))
        return {"differ": differ, "drift": drift, "failed": failed, "lines": lines}
    finally:
        for db in (plain, live, rebuilt):
            server.drop_database(db)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="pg15")
    ap.add_argument("--versions", nargs="+", default=["0.4.0", "current"])
    args = ap.parse_args()
    server = next(s for s in pgtools.discover_servers() if s.id == args.server)
    totals = {v: {"files": 0, "differ": 0, "drift": 0, "failed": 0, "lines": 0} for v in args.versions}
    print(f"P7 fidelity on {server.id} ({server.version}), {len(CORPUS)} files; engine versions: {', '.join(args.versions)}")
    print(f"{'file':55} {'version':8} {'differ':>6} {'drift':>6} {'rebuild':>8} {'dump lines':>10}")
    for path in CORPUS:
        for version in args.versions:
            r = measure(server, path, version)
            t = totals[version]
            t["files"] += 1
            for k in ("differ", "drift", "lines"):
                t[k] += r[k]
            t["failed"] += int(r["failed"])
            print(f"{path.name:55} {version:8} {r['differ']:6} {r['drift']:6} {'FAILED' if r['failed'] else 'ok':>8} {r['lines']:10}")
    print()
    for version, t in totals.items():
        print(f"{version}: {t['files']} files: {t['differ']} statements behaving differently, {t['drift']} drift rows, "
              f"{t['failed']} failing rebuilds, {t['lines']} differing dump lines (of rebuilds that ran)")


if __name__ == "__main__":
    main()
