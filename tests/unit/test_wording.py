"""Counts read as English everywhere they are printed."""

from __future__ import annotations

from pxetui.core.wording import counted


def test_one_is_singular_and_everything_else_plural() -> None:
    """``1 host``, ``0 hosts``, ``1 entry``, ``2 entries``."""
    assert counted(1, "host") == "1 host"
    assert counted(0, "host") == "0 hosts"
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(2, "entry", "entries") == "2 entries"
