"""Who may use the control socket, and who is on the other end of a connection.

Operators ssh into the boot server as themselves, not as root: the socket is mode 0660 with
a group (``$PXETUI_SOCKET_GROUP``, which the unit ``pxetui init`` writes sets; default
``pxetui`` when that group exists), else 0600 and root only, and the engine says which. The
kernel tells us the peer's uid (``SO_PEERCRED``): it cannot be forged by the client, so
every change made through the socket is recorded with the user who made it.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

GROUP_ENV = "PXETUI_SOCKET_GROUP"
DEFAULT_GROUP = "pxetui"
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass(frozen=True)
class Peer:
    """The process on the other end of a control connection, as the kernel reports it."""

    pid: int
    uid: int
    gid: int

    @property
    def user(self) -> str:
        """The login name (or ``uid N`` for a uid with no passwd entry)."""
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return f"uid {self.uid}"


def peer_of(sock: Any) -> Peer | None:
    """``SO_PEERCRED`` of a connected unix socket (asyncio's TransportSocket will do)."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    except OSError:
        return None
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid, uid, gid)


def socket_group() -> tuple[str, int] | None:
    """The group allowed on the socket, if it exists: ``$PXETUI_SOCKET_GROUP`` or ``pxetui``."""
    name = os.environ.get(GROUP_ENV) or DEFAULT_GROUP
    try:
        return name, grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def apply_access(
    path: Path, mode: int, shown: Path | None = None
) -> tuple[Literal["info", "warning"], str]:
    """Give the freshly bound socket at ``path`` its group and mode; who may connect, as a log
    sentence naming ``shown`` (where the socket will be found), or ``path``."""
    shown = shown or path
    wanted = os.environ.get(GROUP_ENV) or DEFAULT_GROUP
    group = socket_group()
    problem = f"no group {wanted}"
    if group is not None:
        name, gid = group
        try:
            os.chown(path, -1, gid)
        except OSError as exc:  # an unprivileged engine outside that group
            problem = f"cannot give it group {name} ({exc.strerror})"
        else:
            os.chmod(path, mode | 0o060)
            return "info", f"control socket {shown}: mode 0660, group {name} may use it"
    os.chmod(path, mode)
    owner = pwd.getpwuid(os.geteuid()).pw_name
    # Asking for a group that is not there is a mistake; not having the default one is a choice.
    level: Literal["info", "warning"] = "warning" if os.environ.get(GROUP_ENV) else "info"
    return level, (
        f"control socket {shown}: mode {mode:04o}, only {owner} may use it: {problem} "
        f"(groupadd {wanted}, add operators to it, restart the engine)"
    )


def peer_name(peer: Peer | None) -> str:
    """``alice (uid 1001)``: who is on the other end, in the words every record uses."""
    return f"{peer.user} (uid {peer.uid})" if peer is not None else "an unknown peer"


def describe_change(who: str, op: str, args: dict[str, Any]) -> str | None:
    """``alice (uid 1001) assigned 52:54:00:… to centos8``; None for ops that change nothing.

    *who* is :func:`peer_name`, with the client's ``via`` after it when it gave one."""
    if op == "assign":
        once = " once" if args.get("once") is True else ""
        return f"{who} assigned {args.get('mac')} to {args.get('entry')}{once}"
    if op == "unassign":
        return f"{who} unassigned {args.get('mac')}"
    if op == "reload":
        return f"{who} reloaded the profile"
    if op == "set_default":
        return f"{who} made unknown clients boot {args.get('entry')}"
    if op == "stop":
        return f"{who} stopped the engine"
    return None
