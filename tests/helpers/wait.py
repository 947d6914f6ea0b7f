"""Bounded waits that RAISE on timeout, naming what was awaited (and, optionally, why not).

Three flavours of one loop: plain polling (:func:`wait_for`), inside an asyncio test
(:func:`wait_for_async`) and inside a Textual pilot (:func:`pilot_wait_for`, which lets the
app run between checks). Each returns the check's first truthy value, so a wait can also
fetch (``row = wait_for(lambda: find(mac), 10, "the row")``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.pilot import Pilot

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What a test waited for did not happen in time (an assertion failure, not an error)."""


def _timed_out(what: str, timeout: float, detail: Callable[[], object] | None) -> WaitTimeout:
    extra = f"\n{detail()}" if detail is not None else ""
    return WaitTimeout(f"timed out after {timeout:g} s waiting for {what}{extra}")


def wait_for(
    check: Callable[[], T],
    timeout: float,
    what: str,
    detail: Callable[[], object] | None = None,
    *,
    interval: float = 0.1,
) -> T:
    """Poll *check* until it returns something truthy; raise :class:`WaitTimeout` after
    *timeout* seconds (the message names *what*, plus ``detail()`` when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, detail)
        time.sleep(interval)


async def wait_for_async(
    check: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.02,
    detail: Callable[[], object] | None = None,
) -> T:
    """:func:`wait_for` for a coroutine: the event loop runs between checks."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, detail)
        await asyncio.sleep(interval)


async def pilot_wait_for(
    pilot: Pilot[Any],
    check: Callable[[], T],
    timeout: float = 10.0,
    what: str = "",
    *,
    interval: float = 0.05,
    detail: Callable[[], object] | None = None,
) -> T:
    """:func:`wait_for` in a Textual pilot: the app runs (and repaints) between checks; an
    app that stopped (crashed) ends the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if not pilot.app.is_running:
            raise WaitTimeout(f"the app stopped while waiting for {what or check!r}")
        if time.monotonic() >= deadline:
            raise _timed_out(what or repr(check), timeout, detail)
        await pilot.pause(interval)
