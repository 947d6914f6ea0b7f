"""A web console outlives nothing: when textual-serve goes away, its console exits.

``pxetui web`` (textual-serve) runs one ``pxetui attach`` per browser session with Textual's
web driver, speaking over the child's stdin/stdout. Killing or restarting ``pxetui web``
closes that stdin; Textual's driver then only stopped reading, and every such console lived
on, subscribed to the engine (found as orphans after the browser tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.engine import serving_on_loopback

WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    """A real engine on a loopback-only profile."""
    with serving_on_loopback(tmp_path, "webexit") as socket_path:
        yield socket_path


def test_a_web_console_exits_when_its_stdin_ends(engine_socket: Path) -> None:
    env = {**os.environ, "TEXTUAL_DRIVER": WEB_DRIVER, "COLUMNS": "120", "LINES": "40"}
    console = subprocess.Popen(
        [sys.executable, "-m", "pxetui", "attach", "--socket", str(engine_socket)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        assert console.stdout is not None and console.stdin is not None
        first = console.stdout.read(64)  # the driver's first packet: it is up
        assert first, "the web console wrote nothing"
        out = console.stdout  # drained, so a full pipe never holds the console up
        threading.Thread(target=lambda: [None for _ in iter(lambda: out.read(65536), b"")],
                         daemon=True).start()  # fmt: skip
        time.sleep(1.0)  # attached and drawing
        assert console.poll() is None, "the web console exited before its stdin ended"
        console.stdin.close()  # textual-serve gone
        try:
            code = console.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the web console lived on after its stdin ended")
        assert code == 0, code
    finally:
        if console.poll() is None:
            console.kill()
            console.wait(5)
