"""Engine events of one managed database: wait for ``NOTIFY pggit``, read the audit trail once.

The engine sends ``NOTIFY pggit`` from every transaction that captured a statement or wrote an
audit row, when it commits (``pggit._notify``). A reader keeps a position in the audit trail
(``pggit.audit_since``): ``read(position)`` writes queued captures (``pggit.flush()``, so their
commits and audit rows exist), then returns every row from that position on and the position
to start from next time. Rows near the position can come again (audit ids are per transaction,
not in commit order): the reader keeps the ids it has seen. Django-free: the web app's listener
(``monitoring/listener.py``) and scripts share it.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

PAGE = 1000


class EngineEvents:
    """A listening connection to one repository database (use as a context manager)."""

    def __init__(self, dsn: str, *, connect_timeout: int = 5):
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.conn: psycopg.Connection | None = None
        self.pending = False  # captured statements still queued after the last read

    def connect(self) -> "EngineEvents":
        self.close()
        self.conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row,
                                    connect_timeout=self.connect_timeout,
                                    application_name="pggit-listener")
        self.conn.execute("LISTEN pggit")
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def __enter__(self) -> "EngineEvents":
        return self.connect() if self.conn is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait(self, timeout: float) -> bool:
        """Block until a NOTIFY pggit arrives or ``timeout`` seconds pass; True if one arrived.
        Notifications that queued up meanwhile are taken together."""
        got = False
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            got = True
        if got:  # drain what else is waiting, without blocking
            for _ in self.conn.notifies(timeout=0.001):
                pass
        return got

    def read(self, position: int | None) -> tuple[list[dict], int]:
        """(rows, next position): the audit rows from ``position`` on, oldest first, after writing
        queued captures. With ``position`` None (never read), no rows and the current horizon."""
        self.conn.execute("SELECT pggit.flush()")
        if position is None:
            self.pending = False
            return [], self.conn.execute("SELECT pggit.audit_start() AS p").fetchone()["p"]
        rows: list[dict] = []
        horizon = None
        with self.conn.transaction():
            # one snapshot for every page: the first page's horizon holds for all of them
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            at = position
            while True:
                # (every column: engines from 0.9.0 add ``person``, the person the role acted for)
                page = self.conn.execute("SELECT * FROM pggit.audit_since(%s, %s)", (at, PAGE)).fetchall()
                rows.extend(page)
                if len(page) < PAGE:
                    break
                at = page[-1]["id"] + 1
            if rows:
                horizon = rows[0]["horizon"]
            else:  # nothing new: the horizon of this same snapshot
                horizon = self.conn.execute(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576 AS h").fetchone()["h"]
        # statements queued while this read flushed notified nobody (pggit._notify_capture)
        self.pending = self.conn.execute("SELECT pggit.capture_pending() AS p").fetchone()["p"]
        return rows, max(position, horizon)
