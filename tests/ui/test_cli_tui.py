"""`pxetui [--profile F]` finds or starts the profile's engine as a detached process."""

from __future__ import annotations

import argparse
import os
import signal
import socket
from pathlib import Path

import pytest

from pxetui.cli.main import build_parser
from pxetui.cli.tui import engine_answers, socket_for, start_engine
from pxetui.cli.web import command_for

PROFILE = """\
name: cli-test
network:
  server: 127.0.0.1
  dhcp:
    mode: "off"
tftp:
  root: tftp
  port: {tftp}
  bind: 127.0.0.1
http:
  port: {http}
  bind: 127.0.0.1
entries: {{}}
"""


def _port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tui_starts_the_engine_in_its_own_session_and_it_outlives_us(tmp_path: Path) -> None:
    """No engine answers: one is started detached (new session), its socket answers."""
    profile = tmp_path / "lab.yaml"
    profile.write_text(
        PROFILE.format(tftp=_port(socket.SOCK_DGRAM), http=_port(socket.SOCK_STREAM))
    )
    (tmp_path / "tftp").mkdir()
    control = socket_for(profile)
    assert control == tmp_path / "state" / "control.sock"
    assert not engine_answers(control)
    process = start_engine(profile, control, tmp_path / "engine.log")
    try:
        assert engine_answers(control)
        # Its own session: a hang-up of our terminal (ssh lost) does not reach it.
        assert os.getsid(process.pid) == process.pid != os.getsid(0)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert process.returncode == 0
    assert not engine_answers(control)


def test_plain_pxetui_with_a_profile_runs_the_console_command() -> None:
    """`pxetui --profile F` is `pxetui tui --profile F`; attach and web are registered."""
    parser, commands = build_parser()
    assert {"tui", "attach", "web"} <= commands
    args = parser.parse_args(["attach", "--socket", "/run/x.sock"])
    assert isinstance(args, argparse.Namespace) and args.socket == Path("/run/x.sock")


def test_web_runs_one_attach_per_browser_session() -> None:
    """textual-serve runs `pxetui attach --socket …` for each browser tab."""
    command = command_for(Path("/run/pxetui/lab/control.sock"))
    assert command.endswith(
        "-m pxetui attach --socket /run/pxetui/lab/control.sock --via 'web console'"
    )


def test_tui_says_why_the_engine_did_not_start(tmp_path: Path) -> None:
    """An engine that exits at once (its TFTP port is taken) is reported with its last words."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        profile = tmp_path / "lab.yaml"
        profile.write_text(PROFILE.format(tftp=port, http=_port(socket.SOCK_STREAM)))
        (tmp_path / "tftp").mkdir()
        control = socket_for(profile)
        with pytest.raises(RuntimeError) as failure:
            start_engine(profile, control, tmp_path / "engine.log")
    message = str(failure.value)
    assert "the engine exited with" in message
    assert f"127.0.0.1:{port}" in message or str(port) in message
    assert str(tmp_path / "engine.log") in message
