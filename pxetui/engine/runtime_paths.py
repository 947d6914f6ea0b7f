"""Where a running engine keeps its state, and which address it serves from.

Root engines use ``/run/pxetui/<profile>`` (systemd's RuntimeDirectory, gone at reboot — use
``--state-dir /var/lib/pxetui/<profile>`` or the profile's ``state_dir`` to keep assignments
across reboots); a user's engine uses ``$XDG_RUNTIME_DIR/pxetui/<profile>``. The profile's
interface gives our address when the profile does not name one.

The ``pxetui@NAME`` service (the unit ``pxetui init`` writes) keeps its state in
``/var/lib/pxetui/NAME`` (StateDirectory) and its control socket in ``/run/pxetui/NAME``
(RuntimeDirectory): :func:`service_socket` and :func:`service_state_dir` are those paths, and
:func:`find_socket` is the one lookup every client (console, ``status``, ``assign``, ``web``)
uses, so a console started for ``/etc/pxetui/NAME.yaml`` attaches to the running service
instead of starting a second engine.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import stat
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import psutil

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
SERVICE_RUNTIME_DIR = Path("/run/pxetui")
SERVICE_STATE_DIR = Path("/var/lib/pxetui")
SOCKET_NAME = "control.sock"


def safe_name(profile_name: str) -> str:
    """The profile name as one path component (what the unit's ``%i`` is)."""
    return _SAFE.sub("_", profile_name) or "pxetui"


def service_socket(profile_name: str) -> Path:
    """The control socket of the ``pxetui@NAME`` service (its RuntimeDirectory)."""
    return SERVICE_RUNTIME_DIR / safe_name(profile_name) / SOCKET_NAME


def service_state_dir(profile_name: str) -> Path:
    """The ``pxetui@NAME`` service's state (its StateDirectory): database, history, lock."""
    return SERVICE_STATE_DIR / safe_name(profile_name)


def running_services() -> list[tuple[str, Path]]:
    """``(name, socket)`` of every service-style socket under ``/run/pxetui``, by name."""
    try:
        dirs = sorted(SERVICE_RUNTIME_DIR.iterdir())
    except OSError:
        return []
    found = []
    for directory in dirs:
        sock = directory / SOCKET_NAME
        try:
            if directory.is_dir() and stat.S_ISSOCK(sock.stat().st_mode):
                found.append((directory.name, sock))
        except OSError:
            continue
    return found


def find_socket(names: tuple[str, ...], state_dir: Path) -> Path:
    """Where clients look for the engine serving a profile whose state dir is *state_dir*.

    A profile that keeps its state where the ``pxetui@NAME`` service does (``pxetui init``
    writes ``state_dir: /var/lib/pxetui/NAME``; NAME is the profile's name or its file's
    stem) is served by that service when its socket exists: one state dir, one engine (the
    lock). Otherwise the socket in the state dir (``pxetui serve`` or the console's engine).
    A profile that merely shares a service's name is not mistaken for it.
    """
    for name in names:
        if state_dir != service_state_dir(name):
            continue
        service = service_socket(name)
        try:
            if stat.S_ISSOCK(service.stat().st_mode):
                return service
        except OSError:
            continue
    return state_dir / SOCKET_NAME


def default_state_dir(profile_name: str) -> Path:
    name = safe_name(profile_name)
    if os.geteuid() == 0:
        return Path("/run/pxetui") / name
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "pxetui" / name
    return Path(f"/tmp/pxetui-{os.getuid()}") / name


def default_socket(profile_name: str, state_dir: Path | None = None) -> Path:
    """The control socket clients look for when given no ``--socket``."""
    return (state_dir or default_state_dir(profile_name)) / SOCKET_NAME


def interface_address(interface: str) -> tuple[IPv4Address, IPv4Network] | None:
    """The first IPv4 address of *interface* and its subnet (psutil), or ``None``."""
    for addr in psutil.net_if_addrs().get(interface, []):
        if addr.family == socket.AF_INET and addr.address:
            ip = IPv4Address(addr.address)
            mask = addr.netmask or "255.255.255.255"
            return ip, IPv4Network(f"{ip}/{mask}", strict=False)
    return None


def profile_state_dir(state_dir: Path | None, profile_path: Path | None, profile_name: str) -> Path:
    """The state dir an engine for this profile uses, and its clients look in.

    The profile's ``state_dir`` wins; with a profile file, ``<profile dir>/state`` (what
    ``pxetui tui`` looks for, and it survives reboots); without one (ad-hoc), the runtime dir.
    """
    if state_dir is not None:
        return state_dir
    if profile_path is not None:
        return profile_path.resolve().parent / "state"
    return default_state_dir(profile_name)


class StateDirBusyError(RuntimeError):
    """Another engine holds this state directory."""


def lock_state_dir(state_dir: Path) -> int:
    """One engine per state dir (its database and socket); the fd holds the ``flock``.

    The kernel drops the lock when its holder dies (even by SIGKILL): no stale locks.
    """
    path = state_dir / "engine.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StateDirBusyError(f"another pxetui engine uses the state dir {state_dir}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
