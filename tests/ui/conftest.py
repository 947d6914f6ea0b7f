"""Fixtures for the console tests: a replay engine on a temp socket, a bounded wait."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.ui.replay_engine import ReplayEngine


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayEngine]:
    engine = ReplayEngine(tmp_path / "control.sock").start()
    try:
        yield engine
    finally:
        engine.stop()


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], timeout: float = 10.0
) -> None:
    """Let the app run until *condition* holds (bounded); fail with the condition's name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition!r}")
