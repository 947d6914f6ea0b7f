"""One bounded connection to the shared database, and how its failures read.

Every call is bounded: connect in 3 s, any statement in 5 s. A connection error marks the
link lost (``lost_reason``, ``lost_since``); the store above decides what waits and what is
refused. The password never appears in a message (:func:`redact`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pxetui.engine.store.protocol import StoreError

CHANNEL = "pxetui"
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 5000


def redact(url: str) -> str:
    """*url* without its password, for messages and the service bar."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}{port}".replace("@***@", ":***@")))


def why(exc: BaseException) -> str:
    """A database error in one line of at most 300 characters."""
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


class PgLink:
    """The connection of the engine named *engine* to the database at *url*."""

    def __init__(self, url: str, engine: str) -> None:
        self.url = url
        self.engine = engine
        self._conn: psycopg.Connection[Any] | None = None
        self.lost_reason = ""
        self.lost_since: float | None = None

    @property
    def path(self) -> str:
        return redact(self.url)

    @property
    def online(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            application_name=f"pxetui {self.engine}"[:63],
        )

    def _hang_up(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def lost(self, reason: str) -> None:
        """Mark the database unreachable (the follower, or a failed call, found out)."""
        self._hang_up()
        if self.lost_since is None:
            self.lost_since = time.time()
        self.lost_reason = reason

    def _run(self, fn: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """*fn* on the connection; any failure as :class:`StoreError` (a lost link marked)."""
        conn = self._conn
        if conn is None or conn.closed:
            since = time.strftime("%H:%M:%S", time.localtime(self.lost_since or time.time()))
            raise StoreError(
                f"shared store {self.path} unreachable since {since}"
                + (f" ({self.lost_reason})" if self.lost_reason else "")
            )
        try:
            return fn(conn)
        except psycopg.OperationalError as exc:
            self.lost(why(exc))
            raise StoreError(f"shared store {self.path}: {why(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"shared store {self.path}: {why(exc)}") from exc
