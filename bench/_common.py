"""Shared helpers for the benchmarks: scratch databases on a server given by DSN."""

from __future__ import annotations

import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402


def server_dsn() -> str:
    """The server to benchmark on: PGGIT_BENCH_DSN, DATABASE_URL, or the embedded PostgreSQL."""
    dsn = os.environ.get("PGGIT_BENCH_DSN") or os.environ.get("DATABASE_URL")
    if dsn:
        return dsn
    from pggit import embedded

    return embedded.start().dsn("postgres")


def dsn_for(dsn: str, dbname: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo(**params)


@contextmanager
def scratch_db(dsn: str, prefix: str = "pggit_bench"):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_for(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
