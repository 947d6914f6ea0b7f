"""Fixtures for the console tests: a replay engine on a temp socket; ``wait_for`` is the
pilot wait of :mod:`tests.helpers.wait` (bounded, raises naming what it waited for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.wait import pilot_wait_for as wait_for
from tests.ui.replay_engine import ReplayEngine

__all__ = ["replay", "wait_for"]


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayEngine]:
    engine = ReplayEngine(tmp_path / "control.sock").start()
    try:
        yield engine
    finally:
        engine.stop()
