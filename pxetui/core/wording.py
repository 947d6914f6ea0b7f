"""Small wording rules every message shares, so "1 hosts" cannot creep back in anywhere."""

from __future__ import annotations

import time


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``, ``1 entry``, ``0 entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


NOT_WORLD_READABLE = "not world-readable"
"""Why the TFTP server (error 2, access violation) and the HTTP server (403) refuse a file:
both send regular, world-readable files only (engine/tftp/paths.py)."""


def chmod_fix(path: object) -> str:
    """The fix for a file the servers refuse as not world-readable."""
    return f"chmod 0644 {path}"


def clock(ts: float | None) -> str:
    """``10:02:03``: the operator's local wall clock, as every view shows a time;
    ``--:--:--`` while unknown."""
    if ts is None or ts <= 0:
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.localtime(ts))
