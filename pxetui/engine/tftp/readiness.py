"""One epoll for every transfer socket, handed to asyncio as a single reader.

Why: asyncio turns each readable socket into a ``Handle`` queued and run by the loop — about
as much CPU as the rest of an ACK's handling. With dozens of transfers in lock-step that is
paid per block. Here the loop wakes us once per batch and we call the transfers directly.
Level-triggered: a socket with more datagrams queued is simply reported again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
from collections.abc import Callable

log = logging.getLogger(__name__)

_MAX_EVENTS = 256


class TransferSockets:
    """Readiness dispatch for transfer sockets: ``add(fd, on_readable)``, ``remove(fd)``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll = select.epoll()
        self._handlers: dict[int, Callable[[], None]] = {}
        loop.add_reader(self._epoll.fileno(), self._dispatch)

    def add(self, fd: int, on_readable: Callable[[], None]) -> None:
        self._handlers[fd] = on_readable
        self._epoll.register(fd, select.EPOLLIN)

    def remove(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is not None:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._loop.remove_reader(self._epoll.fileno())
        self._epoll.close()
        self._handlers.clear()

    def _dispatch(self) -> None:
        handlers = self._handlers
        for fd, _mask in self._epoll.poll(0, _MAX_EVENTS):
            handler = handlers.get(fd)
            if handler is None:
                continue
            try:
                handler()
            except Exception:
                # One transfer's bug must not stop the others (or the loop).
                log.exception("TFTP transfer handler failed")
