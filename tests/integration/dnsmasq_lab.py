"""A throw-away DHCP lab in network namespaces for the dnsmasq integration tests.

Topology (names ``pxd-<role><random>``, addresses 10.252.1.0/24 — private to the lab's own
bridge, so parallel labs never see each other)::

    pxd-s…  (server: our dnsmasq)  br0 10.252.1.1/24 ─┬─ vc ══ c0 (pxd-c…: clients, no address)
                                                       └─ vr ══ r0 10.252.1.2 (pxd-r…: LAN router,
                                                                 a plain dnsmasq DHCP server)

The test process itself enters the server namespace (``setns`` on the main thread, undone
afterwards) so the supervisor under test, its psutil port checks and its dnsmasq child all
live there, exactly as in production. Clients run in their namespace as subprocesses: busybox
udhcpc and a scapy script that sends hand-built DISCOVER/REQUEST packets.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.netns import build_segment

SERVER_IP = "10.252.1.1"
ROUTER_IP = "10.252.1.2"
SUBNET = "10.252.1.0/24"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*cmd: str, timeout: float = 20, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


@dataclass
class Lab:
    server: str
    client: str
    router: str | None
    tmp: Path
    router_proc: subprocess.Popen[bytes] | None = None
    extra: list[subprocess.Popen[Any]] = field(default_factory=list)


@contextlib.contextmanager
def lab(tmp: Path, *, router: bool) -> Iterator[Lab]:
    """Create the namespaces (and the router's DHCP server); always tear everything down."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    tag = secrets.token_hex(3)
    the_lab = Lab(f"pxd-s{tag}", f"pxd-c{tag}", f"pxd-r{tag}" if router else None, tmp)
    segment = None
    try:
        segment = build_segment(
            the_lab.server,
            the_lab.client,
            the_lab.router,
            server_cidr=f"{SERVER_IP}/24",
            router_cidr=f"{ROUTER_IP}/24",
            client_mac="52:54:00:fd:00:01",
        )
        if the_lab.router:
            r = the_lab.router
            the_lab.router_proc = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    r,
                    "dnsmasq",
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--port=0",
                    "--no-resolv",
                    "--no-hosts",
                    "--interface=r0",
                    "--bind-interfaces",
                    "--no-ping",
                    "--log-facility=-",
                    "--dhcp-range=10.252.1.100,10.252.1.150,255.255.255.0,10m",
                    f"--pid-file={tmp}/router.pid",
                    f"--dhcp-leasefile={tmp}/router.leases",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        yield the_lab
    finally:
        for proc in [*the_lab.extra, *([the_lab.router_proc] if the_lab.router_proc else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if segment is not None:
            segment.teardown()  # kills what is still inside (our dnsmasq children, udhcpc)


def mac_of(ns: str, dev: str) -> str:
    """The MAC address of *dev* in namespace *ns* (``/sys`` still shows the host's view)."""
    info = json.loads(sh("ip", "-n", ns, "-j", "link", "show", "dev", dev).stdout)
    return str(info[0]["address"])


@contextlib.contextmanager
def entered(ns: str) -> Iterator[None]:
    """Run this (main) thread — sockets, subprocesses, /proc/net — inside *ns* for a while."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(target, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(own, _CLONE_NEWNET) != 0:  # pragma: no cover - would poison the run
                os._exit(70)
    finally:
        os.close(target)
        os.close(own)


def udhcpc(
    the_lab: Lab, vendor: str, *, arch: int = 0, tries: int = 3, hostname: str = ""
) -> subprocess.CompletedProcess[str]:
    """busybox udhcpc in the client namespace as a PXE client (vendor class + option 93)."""
    return sh(
        "ip",
        "netns",
        "exec",
        the_lab.client,
        "busybox",
        "udhcpc",
        "-i",
        "c0",
        "-n",
        "-q",
        "-f",
        "-t",
        str(tries),
        "-T",
        "1",
        "-A",
        "1",
        "-V",
        vendor,
        "-x",
        f"0x5d:{arch:04x}",
        *(["-x", f"hostname:{hostname}"] if hostname else []),
        "-s",
        "/bin/true",
        timeout=30,
        check=False,
    )


PROBE = Path(__file__).with_name("dnsmasq_probe.py")


def probe(
    the_lab: Lab, clients: list[dict[str, Any]], *, server_mac: str = "", wait: float = 1.5
) -> dict[str, Any]:
    """Send DISCOVER, REQUEST (and PXEBS to port 4011 where asked) for every client at once.

    Each client: ``mac``, ``xid``, optional ``vendor``, ``user``, ``arch`` (``arch_request``
    overrides it in the REQUEST), ``uuid`` (option 97), ``params``/``params_request``,
    ``pxebs``. Returns, per MAC, the replies seen in each round.
    """
    spec = {
        "iface": "c0",
        "server": SERVER_IP,
        "server_mac": server_mac or "ff:ff:ff:ff:ff:ff",
        "wait": wait,
        "clients": clients,
    }
    result = sh(
        "ip",
        "netns",
        "exec",
        the_lab.client,
        sys.executable,
        str(PROBE),
        json.dumps(spec),
        timeout=90,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"DHCP probe failed: {result.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data
