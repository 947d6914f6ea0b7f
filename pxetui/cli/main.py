"""`pxetui` argument parsing: each subcommand lives in its own module.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>`` as the parser default. Plain ``pxetui`` (no subcommand)
runs the command registered as ``tui``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under pxetui.cli, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "tui",
    "init",
    "serve",
    "status",
    "assign",
    "wake",
    "web",
    "lab",
    "check",
    "import_iso",
    "render",
    "explain",
)


def build_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    """The parser, and the names of the registered commands."""
    parser = argparse.ArgumentParser(
        prog="pxetui", description="PXE boot console: TFTP, HTTP and proxy-DHCP for a lab."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pxetui.cli.{name}")
        module.register(sub)
    return parser, set(sub.choices)


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = build_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Plain `pxetui [--profile F]` opens the console.
    if "tui" in commands and (not args_list or args_list[0].startswith("--profile")):
        args_list = ["tui", *args_list]
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 130
