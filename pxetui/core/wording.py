"""Small wording rules every message shares, so "1 hosts" cannot creep back in anywhere."""

from __future__ import annotations


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``, ``1 entry``, ``0 entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
