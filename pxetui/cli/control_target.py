"""Which running engine a CLI command talks to.

In order: ``--socket``, ``$PXETUI_SOCKET``, a service NAME (``pxetui attach lab``),
``--profile`` / ``$PXETUI_PROFILE``, and with nothing given the one ``pxetui@NAME`` service
running on this machine. Shared by the console, ``status``, ``assign``, ``unassign`` and
``web`` so they agree with each other, with ``pxetui serve`` and with the unit ``pxetui init``
writes (:mod:`pxetui.engine.runtime_paths`) on where the control socket is.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pxetui.engine.runtime_paths import (
    SOCKET_NAME as SOCKET_NAME,
)
from pxetui.engine.runtime_paths import (
    find_socket,
    profile_state_dir,
    running_services,
    service_socket,
)

SOCKET_ENV = "PXETUI_SOCKET"
PROFILE_ENV = "PXETUI_PROFILE"
ETC_DIR = Path("/etc/pxetui")

class TargetError(ValueError):
    """No way to tell which engine is meant."""


def add_target_args(parser: argparse.ArgumentParser, *, positional_name: bool = False) -> None:
    if positional_name:
        parser.add_argument(
            "name", nargs="?", help="the pxetui@NAME service to attach to (pxetui init NAME)"
        )
    parser.add_argument("--socket", type=Path, help=f"engine control socket (or ${SOCKET_ENV})")
    parser.add_argument(
        "--profile", type=Path, help=f"or: the profile whose engine to ask (or ${PROFILE_ENV})"
    )


def profile_socket(profile_path: Path) -> Path:
    """The socket of the engine serving *profile_path*: its service's, or its state dir's."""
    from pxetui.core.profile.loader import load_profile

    profile = load_profile(profile_path)
    state = profile_state_dir(profile.state_dir, profile_path, profile.name)
    return find_socket((profile.name, profile_path.stem), state)


def service_target(name: str) -> Path:
    """``pxetui attach NAME``: the service's socket, or the engine for /etc/pxetui/NAME.yaml."""
    sock = service_socket(name)
    if sock.exists():
        return sock
    profile = ETC_DIR / f"{name}.yaml"
    if profile.is_file():
        return profile_socket(profile)
    raise TargetError(
        f"no engine for {name!r}: nothing at {sock} (is pxetui@{name} running? "
        f"systemctl status pxetui@{name}) and no {profile}"
    )


def the_running_service() -> Path:
    """With no target given: the one service running here, or a sentence saying why not."""
    services = running_services()
    if len(services) == 1:
        return services[0][1]
    if services:
        names = ", ".join(name for name, _ in services)
        raise TargetError(f"several engines run here ({names}): name one, e.g. pxetui attach NAME")
    raise TargetError(
        f"no pxetui service runs here: give --socket PATH or --profile FILE "
        f"(or set ${SOCKET_ENV}); `pxetui init` sets a service up"
    )


def socket_path(args: argparse.Namespace) -> Path:
    """The control socket the arguments (or environment) name."""
    if args.socket is not None:
        return Path(args.socket)
    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV])
    name = getattr(args, "name", None)
    if name:
        return service_target(name)
    profile_path = args.profile or (
        Path(os.environ[PROFILE_ENV]) if os.environ.get(PROFILE_ENV) else None
    )
    if profile_path is not None:
        return profile_socket(Path(profile_path))
    return the_running_service()
