"""The console's terminal driver: Esc works in a real terminal and is flushed when due.

The tmux test runs ``pxetui attach`` in a real terminal (a tmux pane) against the replay
engine: '?' opens help, a bare Esc (tmux sends the lone byte) must bring the main screen
back. The parser tests pin what makes Esc prompt: the input thread's wait ends when a
pending ESC is due (Textual's parser keeps that time in a private attribute; if a Textual
upgrade renames it, these fail instead of Esc silently slowing down).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import constants
from textual._xterm_parser import XTermParser

from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.driver import ESCAPE_DELAY, IDLE_WAIT, ConsoleDriver, pending_wait, use_escape_delay
from tests.ui.replay_engine import ReplayEngine


def test_a_pending_escape_ends_the_input_wait_when_it_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "ESCAPE_DELAY", ESCAPE_DELAY)  # as the driver sets it
    parser = XTermParser()
    assert pending_wait(parser) == IDLE_WAIT  # nothing pending: Textual's idle wait
    list(parser.feed("\x1b"))  # a lone ESC: the Esc key, or the start of a sequence?
    assert 0.0 < pending_wait(parser) <= ESCAPE_DELAY < IDLE_WAIT
    list(parser.feed("[A"))  # it was the Up arrow: nothing pending any more
    assert pending_wait(parser) == IDLE_WAIT


def test_the_escape_delay_is_short_unless_escdelay_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.1)
    monkeypatch.delenv("ESCDELAY", raising=False)
    assert use_escape_delay() == ESCAPE_DELAY
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.2)  # as Textual reads ESCDELAY=200
    monkeypatch.setenv("ESCDELAY", "200")
    assert use_escape_delay() == 0.2


def test_the_console_uses_it_in_a_terminal_but_not_where_told_otherwise(
    replay: ReplayEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PxeConsole(EngineLink(replay.socket_path)).driver_class is ConsoleDriver
    web = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets
    monkeypatch.setattr(constants, "DRIVER", web)
    assert PxeConsole(EngineLink(replay.socket_path)).driver_class is not ConsoleDriver


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (.ci/setup-dev installs it)")
    command = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    try:
        yield command
    finally:
        subprocess.run([*command, "kill-server"], capture_output=True, timeout=10)


def _wait_for_pane(tmux: list[str], text: str, gone: str | None = None) -> str:
    deadline = time.monotonic() + 20
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "console"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        if text in screen and (gone is None or gone not in screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"the pane never showed {text!r} (without {gone!r}):\n{screen}")


def test_escape_in_a_real_terminal_goes_back_to_the_main_screen(
    replay: ReplayEngine, tmux: list[str]
) -> None:
    attach = [sys.executable, "-m", "pxetui", "attach", "--socket", str(replay.socket_path)]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "console", "-x", "120", "-y", "40", "--", *attach],
        check=True,
        timeout=10,
    )
    main, help_ = "Progress", "Keys on the main screen"  # the table's header; help's
    _wait_for_pane(tmux, main)
    subprocess.run([*tmux, "send-keys", "-t", "console", "?"], check=True, timeout=10)
    _wait_for_pane(tmux, help_, gone=main)
    subprocess.run([*tmux, "send-keys", "-t", "console", "Escape"], check=True, timeout=10)
    _wait_for_pane(tmux, main, gone=help_)
    subprocess.run([*tmux, "send-keys", "-t", "console", "q"], check=True, timeout=10)
