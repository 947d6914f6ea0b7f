"""``pxetui [--profile F]`` / ``pxetui tui`` and ``pxetui attach``: open the console.

``tui`` finds the engine for a profile by its control socket; if none answers, it starts
``pxetui serve --profile F`` as its own detached process (a new session: closing the
terminal or the ssh connection does not stop it) and attaches. On quit it asks whether to
leave the engine serving. ``attach`` only attaches (to ``--socket``), and quitting detaches.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from pxetui.cli.control_target import (
    PROFILE_ENV,
    TargetError,
    add_target_args,
    profile_socket,
    socket_path,
    the_running_service,
)
from pxetui.core.profile.errors import ProfileError

ENGINE_LOG = "engine.log"
START_TIMEOUT = 20.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tui`` (the default command) and ``attach``."""
    tui = subparsers.add_parser(
        "tui",
        help="open the console (starts the engine for the profile if none runs)",
        description="Open the console for a profile; start its engine if none is running.",
    )
    tui.add_argument("--profile", type=Path, help=f"profile YAML (default: ${PROFILE_ENV})")
    tui.set_defaults(func=run_tui)
    attach = subparsers.add_parser(
        "attach",
        help="attach the console to a running engine",
        description="Attach the console to a running engine's control socket.",
    )
    add_target_args(attach, positional_name=True)
    attach.add_argument(
        "--via",
        default="",
        help="how people reach this console (e.g. 'web console'); the engine records it "
        "after the user it sees on the socket",
    )
    attach.set_defaults(func=run_attach)


def socket_for(profile_path: Path) -> Path:
    """Where the engine serving *profile_path* listens: its service's socket, or its state dir's."""
    return profile_socket(profile_path)


def engine_answers(path: Path, timeout: float = 1.0) -> bool:
    """Whether something accepts connections on the control socket *path*."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def start_engine(profile_path: Path, control: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``pxetui serve --profile`` in its own session and wait until it answers."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pxetui", "serve", "--profile", str(profile_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our terminal's SIGHUP must not reach the engine
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if engine_answers(control, timeout=0.5):
            return process
        if process.poll() is not None:
            raise RuntimeError(
                f"the engine exited with {process.returncode}:\n{_tail(log_path)}\n"
                f"(whole log: {log_path})"
            )
        time.sleep(0.1)
    raise RuntimeError(
        f"the engine did not open {control} in {START_TIMEOUT:.0f} s; see {log_path}"
    )


def _tail(path: Path, lines: int = 6) -> str:
    """The last lines of the engine's log: usually the sentence that says why it stopped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _profile_arg(args: argparse.Namespace) -> Path | None:
    path = args.profile or (Path(os.environ[PROFILE_ENV]) if os.environ.get(PROFILE_ENV) else None)
    return Path(path) if path is not None else None


def run_tui(args: argparse.Namespace) -> int:
    from pxetui.ui.app import PxeConsole
    from pxetui.ui.connection import EngineLink
    from pxetui.ui.screens.quit import QuitChoice

    profile_path = _profile_arg(args)
    if profile_path is None:
        # Plain `pxetui` on a boot server: the one pxetui@NAME service running here.
        try:
            control = the_running_service()
        except TargetError as exc:
            print(f"pxetui: {exc}", file=sys.stderr)
            return 2
        PxeConsole(EngineLink(control)).run()
        return 0
    try:
        control = socket_for(profile_path)
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 2
    started = None
    if not engine_answers(control):
        log_path = control.parent / ENGINE_LOG
        print(f"pxetui: starting the engine for {profile_path} (log: {log_path})")
        try:
            started = start_engine(profile_path, control, log_path)
        except RuntimeError as exc:
            print(f"pxetui: {exc}", file=sys.stderr)
            return 1
    choice = PxeConsole(EngineLink(control), ask_on_quit=True).run()
    if choice is QuitChoice.STOP_ENGINE:
        print("pxetui: engine stopped")
    else:
        pid = f" (pid {started.pid})" if started is not None else ""
        print(f"pxetui: the engine keeps serving{pid}; reattach: pxetui attach --socket {control}")
    return 0


def run_attach(args: argparse.Namespace) -> int:
    from pxetui.ui.app import PxeConsole
    from pxetui.ui.connection import EngineLink

    try:
        control = socket_path(args)
    except (TargetError, ProfileError) as exc:
        print(f"pxetui attach: {exc}", file=sys.stderr)
        return 2
    if not engine_answers(control):
        print(f"pxetui attach: no engine answers on {control}", file=sys.stderr)
        return 1
    PxeConsole(EngineLink(control, via=args.via)).run()
    return 0
