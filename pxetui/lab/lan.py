"""The LAN's own DHCP server, in the router namespace (what proxyDHCP runs next to).

A plain dnsmasq hands out addresses (10.250.77.100-150, router .2) and sends IPv6 router
advertisements: without RAs the iPXE ROM waits 13-16 s in "Configuring (net0 …)" for IPv6
autoconfiguration (measured, see PXE-FACTS.md). RAs are only ever sent inside the lab's
own namespaces.

It answers every DHCP client at once (full DHCP, no boot file), so a client that takes the
first offer it sees (the s390-ccw firmware) may take the LAN's instead of pxetui's;
:func:`held` and :func:`wait_lan_ack` make that race come out one way on purpose.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import ROUTER_IFACE, ROUTER_IP, LabNetwork
from pxetui.lab.process import LabProcess

LAN_RANGE = ("10.250.77.100", "10.250.77.150")


def foreground_dnsmasq_argv(workdir: Path, name: str, interface: str) -> list[str]:
    """A lab dnsmasq in the foreground, no DNS, logging DHCP to stderr, files under *workdir*."""
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--port=0",
        "--user=root",
        "--group=root",
        "--no-resolv",
        "--no-hosts",
        f"--pid-file={workdir / f'{name}.pid'}",
        f"--dhcp-leasefile={workdir / f'{name}.leases'}",
        "--log-facility=-",
        "--log-dhcp",
        f"--interface={interface}",
        "--bind-interfaces",
    ]


def lan_dnsmasq_argv(
    workdir: Path, interface: str, send_ra: bool = True, next_server: str | None = None
) -> list[str]:
    """The router's dnsmasq command line (the one recorded in the samples).

    *next_server*: the LAN names that address as next-server (siaddr) in its answers, as a
    site's DHCP server does when it points netboot clients at a boot server (GRUB 2.06
    behind proxyDHCP reads its config from there).
    """
    argv = [
        *foreground_dnsmasq_argv(workdir, "lan", interface),
        f"--dhcp-range={LAN_RANGE[0]},{LAN_RANGE[1]},255.255.255.0,1h",
        f"--dhcp-option=option:router,{ROUTER_IP}",
        "--no-ping",
    ]
    if send_ra:
        argv += ["--enable-ra", f"--dhcp-range=::,constructor:{interface},ra-only"]
    if next_server is not None:
        argv.append(f"--dhcp-boot=,,{next_server}")  # siaddr only, no boot file
    return argv


def start_lan_dhcp(
    net: LabNetwork, workdir: Path, send_ra: bool = True, next_server: str | None = None
) -> LabProcess:
    """Start the LAN DHCP server in *net*'s router namespace; waits until it listens."""
    if net.router_ns is None:
        raise ValueError("this lab network has no router namespace")
    workdir.mkdir(parents=True, exist_ok=True)
    proc = LabProcess(
        "lan-dhcp",
        lan_dnsmasq_argv(workdir, ROUTER_IFACE, send_ra, next_server),
        net.router_ns,
        workdir / "lan-dnsmasq.log",
    )
    if not proc.wait_for_output("DHCP, IP range", 10):
        proc.stop()
        raise RuntimeError(f"LAN dnsmasq did not start:\n{proc.output()[-2000:]}")
    return proc


def lan_acked(lan: LabProcess, mac: MacAddress) -> str | None:
    """The LAN server's ``DHCPACK`` line for *mac*, if it leased it an address yet."""
    for line in lan.output().splitlines():
        if "DHCPACK(" in line and mac.colon in line:
            return line
    return None


@contextlib.contextmanager
def held(pid: int) -> Iterator[None]:
    """Hold process *pid* (SIGSTOP) for the body; it is always resumed (SIGCONT).

    The LAN server and pxetui's dnsmasq both answer a DISCOVER within a millisecond, so
    which offer a first-offer client takes is chance. Holding pxetui's dnsmasq until the
    LAN has ACKed (:func:`wait_lan_ack`) makes the LAN win: resumed, dnsmasq reads the
    DISCOVER and the REQUEST naming the LAN's server from its socket and answers too late,
    as a slower server on a real LAN would.
    """
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def wait_lan_ack(lan: LabProcess, mac: MacAddress, timeout: float) -> str:
    """Wait (bounded) until the LAN server ACKed *mac*; raise ``TimeoutError`` if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = lan_acked(lan, mac)
        if line is not None:
            return line
        time.sleep(0.05)
    raise TimeoutError(f"the LAN DHCP server did not ACK {mac} in {timeout:.0f} s")
