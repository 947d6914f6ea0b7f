"""Checks before dnsmasq starts: privileges, one engine per interface, free ports, orphans.

Each check exists because of a failure that is silent otherwise: a second dnsmasq on the
same ports starts fine and splits the traffic; a non-root dnsmasq with only
CAP_NET_BIND_SERVICE exits 5 with a terse message; a dnsmasq left behind by a SIGKILLed
engine keeps answering with a stale configuration. Every error names what to do.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

DEFAULT_LOCK_DIR = Path("/run/pxetui")

Proto = Literal["udp", "tcp"]


@dataclass(frozen=True, slots=True)
class PortNeed:
    """A port our services will bind, and what for (used in the error message)."""

    port: int
    proto: Proto
    purpose: str


DHCP_PORTS: tuple[PortNeed, ...] = (
    PortNeed(67, "udp", "DHCP"),
    PortNeed(4011, "udp", "PXE boot server (proxyDHCP)"),
)


class PreflightError(RuntimeError):
    """The host is not ready for dnsmasq; the message says why and what to do."""


# --- privileges ---------------------------------------------------------------------------

_CAPS: dict[str, int] = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13}


def missing_capabilities(status_text: str) -> list[str]:
    """Capabilities dnsmasq needs that a non-root child would not inherit.

    *status_text* is ``/proc/<pid>/status``. A child started with ``exec`` keeps only the
    *ambient* set (``CapAmb``), so that is the set checked, e.g. what systemd's
    ``AmbientCapabilities=`` grants.
    """
    match = re.search(r"^CapAmb:\s*([0-9a-fA-F]+)\s*$", status_text, re.MULTILINE)
    mask = int(match.group(1), 16) if match else 0
    return [name for name, bit in _CAPS.items() if not mask & (1 << bit)]


def check_privileges(*, euid: int | None = None, status_text: str | None = None) -> None:
    """Raise :class:`PreflightError` unless we are root or hold the three capabilities."""
    uid = os.geteuid() if euid is None else euid
    if uid == 0:
        return
    if status_text is None:
        status_text = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    missing = missing_capabilities(status_text)
    if missing:
        raise PreflightError(
            "dnsmasq needs root or the capabilities CAP_NET_BIND_SERVICE, CAP_NET_ADMIN and "
            f"CAP_NET_RAW; missing (ambient, inherited by the child): {', '.join(missing)}. "
            "Run pxetui as root, or under systemd with AmbientCapabilities=CAP_NET_BIND_SERVICE "
            "CAP_NET_ADMIN CAP_NET_RAW."
        )


# --- one engine per interface -------------------------------------------------------------


def netns_tag() -> str:
    """``@<name>`` inside a named network namespace (``ip netns``), else ``""``.

    Interface names are per namespace: ``br0`` in two namespaces are two networks, and two
    engines serving them must not share a lock. Named namespaces are the ones labs and
    tests use (``ip netns exec``); anything else keeps the plain name.
    """
    try:
        own = os.stat("/proc/thread-self/ns/net")
        names = sorted(os.listdir("/run/netns"))
    except OSError:
        return ""
    for name in names:
        try:
            st = os.stat(f"/run/netns/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino) and "/" not in name:
            return f"@{name}"
    return ""


class InterfaceLock:
    """An exclusive ``flock`` on ``<lock_dir>/pxetui-<iface>.lock`` held while we serve.

    ``flock`` is released by the kernel when the holder dies, even by SIGKILL, so a crashed
    engine never leaves a stale lock. The file holds the owner's pid for the message. In a
    network namespace other than the main one the name gets :func:`netns_tag`.
    """

    def __init__(self, interface: str, lock_dir: Path = DEFAULT_LOCK_DIR) -> None:
        if "/" in interface or interface in ("", ".", ".."):
            raise PreflightError(f"not an interface name: {interface!r}")
        self.interface = interface
        self.path = lock_dir / f"pxetui-{interface}{netns_tag()}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise PreflightError(
                f"cannot create the interface lock {self.path}: {exc.strerror}. Run as root, "
                f"or make {self.path.parent} writable (systemd: RuntimeDirectory=pxetui)."
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise PreflightError(f"cannot lock {self.path}: {exc.strerror}") from exc
            who = f"process {owner} ({_process_name(owner)})" if owner else "another process"
            raise PreflightError(
                f"another pxetui engine already serves {self.interface}: {who} holds "
                f"{self.path}. Stop it first (two DHCP servers on one network split the "
                "clients between them)."
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Not unlinked: deleting a lock file races with the next locker.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _process_name(pid: int | None) -> str:
    if pid is None:
        return "unknown"
    try:
        return psutil.Process(pid).name()
    except (psutil.Error, OSError):
        return "gone"


# --- ports --------------------------------------------------------------------------------


def dhcp_ports(args: Sequence[str]) -> tuple[PortNeed, ...]:
    """The ports dnsmasq will bind for *args*: 67, and 4011 only with PXE services."""
    if any(a.startswith("--pxe-service") for a in args):
        return DHCP_PORTS
    return DHCP_PORTS[:1]


def _dnsmasq_on_other_interface(pid: int, interface: str) -> bool:
    """A dnsmasq with ``--bind-interfaces`` on other interfaces binds *its* devices only.

    (dnsmasq binds ``0.0.0.0%<dev>:67``; psutil shows just ``0.0.0.0:67``.) Such a one,
    e.g. another pxetui engine on another bridge, does not compete with us.
    """
    try:
        process = psutil.Process(pid)
        cmdline = process.cmdline()
        if process.name() != "dnsmasq" or "--bind-interfaces" not in cmdline:
            return False
    except (psutil.Error, OSError):
        return False
    interfaces = {a.split("=", 1)[1] for a in cmdline if a.startswith("--interface=")}
    return bool(interfaces) and interface not in interfaces


def port_holders(
    needs: Iterable[PortNeed], *, ignore_pids: Sequence[int] = (), interface: str | None = None
) -> list[str]:
    """One sentence per needed port that a process in this network namespace holds.

    UDP: any bound socket on the port (a DHCP server binds the wildcard address, so any
    holder steals broadcasts) — except a dnsmasq bound to other interfaces than
    *interface*. TCP: listening sockets only. Our own process is ignored (the engine's
    TFTP/HTTP servers may already be up).
    """
    wanted = {(n.port, n.proto): n for n in needs}
    problems: dict[tuple[int, Proto], list[str]] = {}
    protos: set[Proto] = {n.proto for n in wanted.values()}
    for proto in protos:
        try:
            conns = psutil.net_connections(kind=proto)
        except (psutil.Error, OSError) as exc:
            raise PreflightError(f"cannot list {proto} sockets: {exc}") from exc
        for conn in conns:
            if not conn.laddr:
                continue
            key: tuple[int, Proto] = (conn.laddr.port, proto)
            if key not in wanted:
                continue
            if proto == "tcp" and conn.status != psutil.CONN_LISTEN:
                continue
            if conn.pid is not None and conn.pid in ignore_pids:
                continue
            if (
                interface is not None
                and conn.pid is not None
                and _dnsmasq_on_other_interface(conn.pid, interface)
            ):
                continue
            holder = (
                f"pid {conn.pid} ({_process_name(conn.pid)})"
                if conn.pid is not None
                else "a process we cannot see (not root?)"
            )
            problems.setdefault(key, [])
            if holder not in problems[key]:
                problems[key].append(holder)
    return [
        f"{proto.upper()} port {port} ({wanted[(port, proto)].purpose}) is held by "
        + ", ".join(holders)
        for (port, proto), holders in sorted(problems.items())
    ]


def check_ports(
    needs: Iterable[PortNeed], *, ignore_pids: Sequence[int] = (), interface: str | None = None
) -> None:
    """Raise :class:`PreflightError` naming every process that holds a port we need."""
    problems = port_holders(needs, ignore_pids=ignore_pids, interface=interface)
    if problems:
        dhcp = any(p.startswith("UDP port 67 ") for p in problems)
        # Never advise stopping a DHCP server: it hands out the LAN's addresses.
        advice = (
            ". A DHCP server on this machine holds port 67: keep it. Either set "
            "`dhcp.mode: off` and point that server's PXE options (next-server, boot file) "
            "at pxetui, or serve from another interface or machine: proxy mode coexists "
            "with the LAN's DHCP server elsewhere on the network (it only adds boot "
            "information), and `dhcp.mode: full` belongs on an isolated lab network."
            if dhcp
            else ". Another server holds it: give pxetui another port in the profile "
            "(tftp.port / http.port) or interface, or stop that server if it is yours."
        )
        raise PreflightError("; ".join(problems) + advice)


# --- orphans ------------------------------------------------------------------------------


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie (a dead child of ours waits to be reaped)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_orphan(pid_file: Path, state_dir: Path, *, timeout: float = 3.0) -> int | None:
    """Stop a dnsmasq a killed engine left running; return its pid, or None if none.

    The pid file alone is not trusted (pids are reused): the process must be a dnsmasq
    whose command line names our *state_dir*. A stale pid file is removed.
    """
    try:
        text = pid_file.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PreflightError(f"cannot read {pid_file}: {exc}") from exc
    pid = int(text) if text.isdigit() else None
    process: psutil.Process | None = None
    if pid is not None and pid != os.getpid():
        try:
            candidate = psutil.Process(pid)
            cmdline = candidate.cmdline()
            is_dnsmasq = candidate.name() == "dnsmasq" or (
                bool(cmdline) and os.path.basename(cmdline[0]) == "dnsmasq"
            )
            if is_dnsmasq and any(str(state_dir) in arg for arg in cmdline):
                process = candidate
        except (psutil.Error, OSError):
            process = None
    if process is None:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        return None
    try:
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(process) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(process):
            process.kill()
            deadline = time.monotonic() + timeout
            while _alive(process) and time.monotonic() < deadline:
                time.sleep(0.05)
    except psutil.NoSuchProcess:
        pass
    except (psutil.Error, OSError) as exc:
        raise PreflightError(f"cannot stop orphaned dnsmasq pid {pid}: {exc}") from exc
    with contextlib.suppress(OSError):
        pid_file.unlink()
    return pid
