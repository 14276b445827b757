"""Helpers for the benchmarks that build large schemas and compare databases (P2, P5).

Nothing here is timed; the scripts time what they measure themselves.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

BENCH_DIR = Path(__file__).resolve().parent


def log(msg: str) -> None:
    """Progress on stderr (figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(fn, runs: int) -> list[float]:
    """Wall times in seconds of `runs` calls of fn()."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt_runs(times: list[float]) -> str:
    """'min X ms, median Y ms (n runs)'."""
    return f"min {min(times) * 1000:9.1f} ms, median {statistics.median(times) * 1000:9.1f} ms ({len(times)} runs)"


# ----------------------------------------------------------------------------- URLs and tools


def url_for(dsn: str, scheme: str = "postgresql") -> str:
    """A URL (scheme://user:password@host:port/dbname) for a libpq DSN, for tools that want URLs."""
    from urllib.parse import quote

    p = conninfo_to_dict(dsn)
    user = quote(p.get("user") or os.environ.get("PGUSER") or "postgres", safe="")
    pw = p.get("password")
    auth = user + (":" + quote(pw, safe="") if pw else "")
    host = p.get("host") or "127.0.0.1"
    if host.startswith("/"):
        # a Unix socket directory: libpq-style query parameter
        return f"{scheme}://{auth}@/{quote(p.get('dbname', 'postgres'), safe='')}?host={quote(host, safe='')}" + (
            f"&port={p['port']}" if p.get("port") else ""
        )
    port = p.get("port") or "5432"
    return f"{scheme}://{auth}@{host}:{port}/{quote(p.get('dbname', 'postgres'), safe='')}"


def pg_bin(name: str, server_major: int) -> str:
    """A client binary (pg_dump...) matching the server's major version if one can be found."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"{name} not found (for PostgreSQL {server_major})")


# ----------------------------------------------------------------------------- pg_dump


# The tests' normalization (documented there) is the one the benchmark's correctness check uses.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pgtools import normalize_dump  # noqa: E402


def dump_schema(dsn: str, pg_dump: str) -> str:
    """Normalized schema-only dump of a database, without the engine's schema."""
    res = subprocess.run(
        [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--exclude-schema=pggit", "--dbname", dsn],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {res.stderr}")
    return normalize_dump(res.stdout)


def first_difference(a: str, b: str, label_a: str, label_b: str, context: int = 40) -> str:
    import difflib

    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), label_a, label_b, n=2, lineterm=""))
    more = f"\n... ({len(lines) - context} more diff lines)" if len(lines) > context else ""
    return "\n".join(lines[:context]) + more


# ----------------------------------------------------------------------------- migra


MIGRA_VENV = BENCH_DIR / ".venv-migra"
MIGRA_REQUIREMENTS = BENCH_DIR / "requirements-migra.txt"


def ensure_migra(python: str | None = None) -> tuple[str | None, str]:
    """Path of the migra executable in bench/.venv-migra (created and filled from
    requirements-migra.txt when missing), or (None, why not)."""
    exe = MIGRA_VENV / "bin" / "migra"
    if not exe.exists():
        log(f"creating {MIGRA_VENV} with {MIGRA_REQUIREMENTS.name}")
        try:
            subprocess.run([python or sys.executable, "-m", "venv", str(MIGRA_VENV)], check=True, capture_output=True, text=True)
            subprocess.run(
                [str(MIGRA_VENV / "bin" / "pip"), "install", "-q", "-r", str(MIGRA_REQUIREMENTS)],
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            return None, f"installing migra failed: {(exc.stderr or exc.stdout or str(exc)).strip()[-2000:]}"
    if not exe.exists():
        return None, "migra executable missing after install"
    return str(exe), ""
