"""Which running engine a CLI command talks to: ``--socket``, ``$PXETUI_SOCKET`` or ``--profile``.

Shared by ``status``, ``assign`` and ``unassign`` so they agree with each other (and with
``pxetui serve``) on where the control socket is.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pxetui.engine.runtime_paths import profile_state_dir

SOCKET_ENV = "PXETUI_SOCKET"
PROFILE_ENV = "PXETUI_PROFILE"
SOCKET_NAME = "control.sock"


class TargetError(ValueError):
    """No way to tell which engine is meant."""


def add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", type=Path, help=f"engine control socket (or ${SOCKET_ENV})")
    parser.add_argument(
        "--profile", type=Path, help=f"or: the profile whose engine to ask (or ${PROFILE_ENV})"
    )


def socket_path(args: argparse.Namespace) -> Path:
    """The control socket the arguments (or environment) name."""
    if args.socket is not None:
        return Path(args.socket)
    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV])
    profile_path = args.profile or (
        Path(os.environ[PROFILE_ENV]) if os.environ.get(PROFILE_ENV) else None
    )
    if profile_path is None:
        raise TargetError(f"give --socket PATH or --profile FILE (or set ${SOCKET_ENV})")
    from pxetui.core.profile.loader import load_profile

    profile = load_profile(Path(profile_path))
    state = profile_state_dir(profile.state_dir, Path(profile_path), profile.name)
    return state / SOCKET_NAME
