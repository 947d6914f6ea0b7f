"""LISTEN for the other engines' changes, and notice when the database goes and comes back.

One async connection LISTENs on the store's channel. Notifications arrive within
milliseconds of the other engine's commit (no polling). Between notifications it asks the
server ``SELECT 1`` every ``probe_s`` seconds, so a stopped PostgreSQL is noticed even when
nothing is being written. Lost: ``on_lost(reason)`` once, then a reconnect attempt every
``retry_s`` seconds; back: ``on_back()`` (the engine catches up), then notifications again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import psycopg

from pxetui.engine.store.pg_link import CHANNEL, CONNECT_TIMEOUT_S

PROBE_S = 1.0
RETRY_S = 1.0


class StoreFollower:
    """Runs until cancelled; never raises out of :meth:`run` for a database problem."""

    def __init__(
        self,
        url: str,
        *,
        on_notify: Callable[[list[str]], Awaitable[None]],
        on_lost: Callable[[str], None],
        on_back: Callable[[], Awaitable[bool]],
        needs_catch_up: Callable[[], bool],
        on_listening: Callable[[], None] = lambda: None,
        probe_s: float = PROBE_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self._url = url
        self._on_notify = on_notify
        self._on_lost = on_lost
        self._on_back = on_back
        self._needs_catch_up = needs_catch_up
        self._on_listening = on_listening
        self._listened = False
        self._probe_s = probe_s
        self._retry_s = retry_s
        self.online = True  # the store was opened just before

    async def run(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            except psycopg.Error as exc:
                self._lost(exc)
                await asyncio.sleep(self._retry_s)
                continue
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                await self._follow(conn)
            except psycopg.Error as exc:
                self._lost(exc)
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
            await asyncio.sleep(self._retry_s)

    async def _follow(self, conn: psycopg.AsyncConnection[object]) -> None:
        if not self._listened and self.online:
            # Changes committed between the store's first read and this LISTEN would be
            # missed: read once more now that nothing can slip through, then say so.
            await self._on_notify([])
            self._listened = True
            self._on_listening()
        while True:
            if not self.online or self._needs_catch_up():
                # Listening again before catching up: nothing committed in between is missed.
                if not await self._on_back():
                    await asyncio.sleep(self._retry_s)
                    continue
                self.online = True
            async for note in conn.notifies(timeout=self._probe_s):
                await self._on_notify([note.payload])  # at once: within milliseconds
            await conn.execute("SELECT 1")  # a stopped server is noticed here

    def _lost(self, exc: BaseException) -> None:
        if self.online:
            self.online = False
            self._on_lost(" ".join(str(exc).split())[:300] or type(exc).__name__)
