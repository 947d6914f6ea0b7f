"""Resource limits the engine enforces, and the one line each produces when hit.

A hostile or broken LAN client must cost a bounded amount of memory and file descriptors,
and the operator must learn that a limit was hit without a traceback flood: every limit
reports through a :class:`LimitNotice`, at most one line per interval with a count.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pxetui.core.events import EngineMessage, Event

NOTICE_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class FdLimit:
    """``RLIMIT_NOFILE`` before and after :func:`raise_fd_limit`."""

    before: int
    soft: int
    hard: int

    def sentence(self) -> str:
        if self.soft > self.before:
            return f"file descriptor limit raised from {self.before} to {self.soft} (hard limit)"
        return f"file descriptor limit {self.soft} (hard limit {self.hard})"


def raise_fd_limit() -> FdLimit:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one: sockets are our working set.

    The default soft limit (1024) is what let ~1,100 idle TCP connections starve TFTP.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return FdLimit(soft, soft, hard)
    return FdLimit(soft, max(soft, target), hard)


def fd_soft_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class LimitNotice:
    """One warning per *interval* for a limit being hit, with how often it was hit."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        text: str,
        *,
        interval: float = NOTICE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish
        self._text = text
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0
        self.hits = 0

    def hit(self, detail: str = "") -> None:
        self.hits += 1
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return
        extra = f" ({self._suppressed} more since the last notice)" if self._suppressed else ""
        self._last, self._suppressed = now, 0
        said = f"{self._text}: {detail}" if detail else self._text
        self._publish(EngineMessage(level="warning", text=f"limit: {said}{extra}"))


_ACCEPT_EXHAUSTED = "socket.accept() out of system resource"


def guard_accept_errors(
    loop: asyncio.AbstractEventLoop, publish: Callable[[Event], None]
) -> LimitNotice:
    """Turn asyncio's per-accept "out of system resource" tracebacks into one notice.

    When the fd limit is reached anyway, asyncio logs a traceback for every failed
    ``accept()`` of every listener (and retries a second later); everything else still
    goes to the handler that was there before.
    """
    notice = LimitNotice(
        publish, "out of file descriptors: new connections wait (raise LimitNOFILE)"
    )
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(_ACCEPT_EXHAUSTED):
            exc = context.get("exception")
            notice.hit(str(exc) if exc is not None else "")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return notice
