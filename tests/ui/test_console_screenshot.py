"""The palette's Screenshot on a server: saved where the operator is, the path shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine


async def test_palette_screenshot_saves_in_the_working_directory_without_downloads(
    replay: ReplayEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ~/Downloads (a boot server's root): the SVG lands in the cwd and the toast names it."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(work)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "screenshot":
            await pilot.press(key)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(work.glob("*.svg")), timeout=10)
        (saved,) = work.glob("*.svg")
        assert saved.read_text().lstrip().startswith("<svg")
        await wait_for(
            pilot, lambda: any(str(saved) in str(n.message) for n in app._notifications)
        )
    assert not (home / "Downloads").exists()
