"""Small wording rules every message shares, so "1 hosts" cannot creep back in anywhere."""

from __future__ import annotations

import time


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``, ``1 entry``, ``0 entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def clock(ts: float | None) -> str:
    """``10:02:03``: the operator's local wall clock, as every view shows a time;
    ``--:--:--`` while unknown."""
    if ts is None or ts <= 0:
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.localtime(ts))
