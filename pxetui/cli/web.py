"""``pxetui web``: the same console in a browser, through textual-serve.

Each browser tab runs ``pxetui attach --socket …`` as its own process behind a websocket:
one more client of the engine, like a terminal. It listens on localhost by default —
the console can change what machines boot, so exposing it is an explicit choice.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from pxetui.cli.control_target import TargetError, add_target_args, socket_path
from pxetui.core.profile.errors import ProfileError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "web",
        help="serve the console to a browser (textual-serve)",
        description="Serve the console over HTTP/websocket with textual-serve.",
    )
    add_target_args(parser)
    parser.add_argument("--host", default="localhost", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.set_defaults(func=run)


def command_for(control: Path) -> str:
    """The shell command textual-serve runs per browser session."""
    return shlex.join([sys.executable, "-m", "pxetui", "attach", "--socket", str(control)])


def run(args: argparse.Namespace) -> int:
    try:
        control = socket_path(args)
    except (TargetError, ProfileError) as exc:
        print(f"pxetui web: {exc}", file=sys.stderr)
        return 2
    try:
        from textual_serve.server import Server
    except ImportError:
        print("pxetui web: needs textual-serve (pip install 'pxetui[serve]')", file=sys.stderr)
        return 1
    print(f"pxetui web: http://{args.host}:{args.port}/  (engine {control})")
    Server(command_for(control), host=args.host, port=args.port, title="pxetui").serve()
    return 0
