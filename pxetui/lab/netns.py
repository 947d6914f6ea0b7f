"""Throwaway network namespaces for the lab and the e2e suite.

Topology (the recipe in REAL-BOOT-TESTS.md): a *server* namespace holding a bridge ``br0``
with the PXE server's address and a ``tap0`` for QEMU, and, for proxyDHCP, a *router*
namespace joined to the bridge by a veth that plays the LAN's own DHCP server. Traffic
never leaves these namespaces.

Every namespace we create is written to a registry directory (one file per namespace,
holding the creating process's pid) before it exists, and removed from it after it is
gone. :func:`remove_stale` deletes namespaces whose creator died (a crash, a ``kill -9``),
so a re-run cleans up after the previous one without ever touching a namespace that some
other tool — or another live lab — owns.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

REGISTRY = Path(os.environ.get("PXETUI_LAB_RUN", "/run/pxetui-lab")) / "namespaces"

SUBNET_PREFIX = 24
SERVER_IP = IPv4Address("10.250.77.1")
ROUTER_IP = IPv4Address("10.250.77.2")
ROUTER_IP6 = "fd00:e2e::2"
BRIDGE = "br0"
TAP = "tap0"
ROUTER_IFACE = "vlan"


class NetnsError(RuntimeError):
    """An ``ip`` command failed while building the lab network."""


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NS] ARGS``; raise :class:`NetnsError` with its stderr on failure."""
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def netns_pids(name: str) -> list[int]:
    """Processes running inside namespace *name* (all started by the lab)."""
    out = ip("netns", "pids", name, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def delete_netns(name: str, grace: float = 3.0) -> None:
    """Stop everything inside *name* (TERM, then KILL after *grace*), then delete it."""
    if netns_exists(name):
        pids = netns_pids(name)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while pids and time.monotonic() < deadline:
                pids = [p for p in netns_pids(name) if _pid_alive(p)]
                time.sleep(0.05)
            if not pids:
                break
        ip("netns", "del", name, check=False)
    (REGISTRY / name).unlink(missing_ok=True)


def _register(name: str) -> None:
    REGISTRY.mkdir(parents=True, exist_ok=True)
    (REGISTRY / name).write_text(f"{os.getpid()}\n")


def remove_stale(prefix: str = "px") -> list[str]:
    """Delete registered namespaces named *prefix*… whose creating process is gone."""
    removed: list[str] = []
    if not REGISTRY.is_dir():
        return removed
    for entry in sorted(REGISTRY.iterdir()):
        if not entry.name.startswith(prefix):
            continue
        try:
            owner = int(entry.read_text().strip() or "0")
        except (OSError, ValueError):
            owner = 0
        if owner and owner != os.getpid() and _pid_alive(owner):
            continue
        delete_netns(entry.name)
        removed.append(entry.name)
    return removed


@dataclass
class LabNetwork:
    """The namespaces of one lab or test, and how to take them down again."""

    server_ns: str
    router_ns: str | None
    server_ip: IPv4Address = SERVER_IP
    router_ip: IPv4Address = ROUTER_IP
    bridge: str = BRIDGE
    tap: str = TAP
    _down: bool = field(default=False, repr=False)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(n for n in (self.router_ns, self.server_ns) if n)

    def teardown(self) -> None:
        """Idempotent: kill what runs inside, delete the namespaces, forget them."""
        if self._down:
            return
        for name in self.namespaces:
            delete_netns(name)
        self._down = True

    def __enter__(self) -> LabNetwork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()


def add_netns(name: str) -> None:
    """Create namespace *name* (loopback up), registered so :func:`remove_stale` finds it."""
    _register(name)
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)


def create_lab_network(prefix: str = "pxg-", router: bool = True) -> LabNetwork:
    """Build the server namespace (br0 + tap0) and, with *router*, the LAN router's.

    Names are *prefix* + a random suffix, so parallel runs never collide. On any failure
    the half-built namespaces are removed before the error propagates.
    """
    suffix = secrets.token_hex(3)
    net = LabNetwork(f"{prefix}{suffix}-srv", f"{prefix}{suffix}-lan" if router else None)
    try:
        s = net.server_ns
        _register(s)
        ip("netns", "add", s)
        ip("link", "set", "lo", "up", netns=s)
        ip("link", "add", BRIDGE, "type", "bridge", netns=s)
        ip("addr", "add", f"{SERVER_IP}/{SUBNET_PREFIX}", "dev", BRIDGE, netns=s)
        ip("link", "set", BRIDGE, "up", netns=s)
        ip("tuntap", "add", TAP, "mode", "tap", netns=s)
        ip("link", "set", TAP, "master", BRIDGE, "up", netns=s)
        if net.router_ns:
            r = net.router_ns
            _register(r)
            ip("netns", "add", r)
            ip("link", "set", "lo", "up", netns=r)
            ip("link", "add", "vbr", "type", "veth", "peer", "name", ROUTER_IFACE, "netns", r,
               netns=s)  # fmt: skip
            ip("link", "set", "vbr", "master", BRIDGE, "up", netns=s)
            ip("addr", "add", f"{ROUTER_IP}/{SUBNET_PREFIX}", "dev", ROUTER_IFACE, netns=r)
            ip("addr", "add", f"{ROUTER_IP6}/64", "dev", ROUTER_IFACE, "nodad", netns=r)
            ip("link", "set", ROUTER_IFACE, "up", netns=r)
    except BaseException:
        net.teardown()
        raise
    return net


def netns_command(netns: str, argv: list[str]) -> list[str]:
    """*argv* run inside *netns* (``ip netns exec`` execs, so the pid is the program's)."""
    return ["ip", "netns", "exec", netns, *argv]
