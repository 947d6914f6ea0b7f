"""A routed segment behind a DHCP relay, added to a lab network (relayed-subnet tests).

Topology, on top of :func:`~pxetui.lab.netns.create_lab_network` with a router::

    server ns: br0 10.250.77.1/24 (pxetui)  ── route 10.9.0.0/24 via 10.250.77.2
    router ns: vlan 10.250.77.2/24 ── forwarding ── br1 10.9.0.1/24 ── tap0 (the VM)
               dnsmasq --dhcp-relay=10.9.0.1,10.250.77.1 (and IPv6 RAs on br1)

For proxyDHCP, :func:`start_site_dhcp` adds the site's own DHCP server in a namespace of its
own on the server's link (10.250.77.3, leasing 10.9.0.100-150 to relayed clients) and the
relay forwards to both, as a real site's relay forwards to its DHCP server and to pxetui.

The VM's broadcasts never reach pxetui's link: only the relay's unicast (giaddr 10.9.0.1)
does, and every file the firmware fetches crosses the router. RAs on the segment spare the
iPXE ROM its 13-16 s IPv6 wait, as on the lab's LAN.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pxetui.lab.lan import foreground_dnsmasq_argv
from pxetui.lab.netns import (
    BRIDGE as SERVER_BRIDGE,
)
from pxetui.lab.netns import (
    ROUTER_IP,
    SERVER_IP,
    SUBNET_PREFIX,
    LabNetwork,
    add_netns,
    delete_netns,
    ip,
    netns_command,
)
from pxetui.lab.process import LabProcess

SEGMENT = IPv4Network("10.9.0.0/24")
RELAY_IP = IPv4Address("10.9.0.1")
RELAY_IP6 = "fd00:e2f::1"
BRIDGE = "br1"
TAP = "tap0"
SITE_DHCP_IP = IPv4Address("10.250.77.3")
SITE_RANGE = ("10.9.0.100", "10.9.0.150")


@dataclass
class RelayedSegment:
    """The segment's namespace (the router's) and the running relay."""

    net: LabNetwork
    relay: LabProcess

    @property
    def vm_net(self) -> LabNetwork:
        """Where a VM on the segment runs: the router namespace, tap0 on br1."""
        assert self.net.router_ns is not None
        return LabNetwork(self.net.router_ns, None, RELAY_IP, RELAY_IP, BRIDGE, TAP)

    def relay_log(self) -> str:
        return self.relay.output()

    def stop(self) -> None:
        self.relay.stop()


def add_relayed_segment(
    net: LabNetwork, workdir: Path, servers: tuple[IPv4Address, ...] = (SERVER_IP,)
) -> RelayedSegment:
    """Build br1 + tap0 in *net*'s router namespace and start a relay to *servers*."""
    router = net.router_ns
    if router is None:
        raise ValueError("a relayed segment needs the lab network's router namespace")
    ip("link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", netns=router)
    ip("addr", "add", f"{RELAY_IP}/{SEGMENT.prefixlen}", "dev", BRIDGE, netns=router)
    ip("addr", "add", f"{RELAY_IP6}/64", "dev", BRIDGE, "nodad", netns=router)
    ip("link", "set", BRIDGE, "up", netns=router)
    ip("tuntap", "add", TAP, "mode", "tap", netns=router)
    ip("link", "set", TAP, "master", BRIDGE, "up", netns=router)
    ip("route", "add", str(SEGMENT), "via", str(ROUTER_IP), netns=net.server_ns)
    _sysctl(router, "net.ipv4.ip_forward", "1")
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        *foreground_dnsmasq_argv(workdir, "relay", BRIDGE),
        *(f"--dhcp-relay={RELAY_IP},{server}" for server in servers),
        "--enable-ra",
        f"--dhcp-range=::,constructor:{BRIDGE},ra-only",
    ]
    relay = LabProcess("dhcp-relay", argv, router, workdir / "relay.log")
    if not relay.wait_for_output("DHCP relay", 10):
        relay.stop()
        raise RuntimeError(f"the DHCP relay did not start:\n{relay.output()[-2000:]}")
    return RelayedSegment(net, relay)


def _sysctl(netns: str, key: str, value: str) -> None:
    cmd = netns_command(netns, ["sysctl", "-q", "-w", f"{key}={value}"])
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


@dataclass
class SiteDhcp:
    """The site's DHCP server for the relayed segment, in a namespace of its own."""

    netns: str
    server: LabProcess

    def log(self) -> str:
        return self.server.output()

    def stop(self) -> None:
        self.server.stop()
        delete_netns(self.netns)


def start_site_dhcp(net: LabNetwork, workdir: Path) -> SiteDhcp:
    """A plain dnsmasq at 10.250.77.3 on the server's link leasing the relayed range."""
    name = net.server_ns.removesuffix("-srv") + "-dhcp"
    add_netns(name)
    try:
        ip("link", "add", "vsd", "type", "veth", "peer", "name", "site", "netns", name,
           netns=net.server_ns)  # fmt: skip
        ip("link", "set", "vsd", "master", SERVER_BRIDGE, "up", netns=net.server_ns)
        ip("addr", "add", f"{SITE_DHCP_IP}/{SUBNET_PREFIX}", "dev", "site", netns=name)
        ip("link", "set", "site", "up", netns=name)
        ip("route", "add", str(SEGMENT), "via", str(ROUTER_IP), netns=name)
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            *foreground_dnsmasq_argv(workdir, "site", "site"),
            f"--dhcp-range={SITE_RANGE[0]},{SITE_RANGE[1]},{SEGMENT.netmask},1h",
            f"--dhcp-option=option:router,{RELAY_IP}",
            "--no-ping",
        ]
        server = LabProcess("site-dhcp", argv, name, workdir / "site.log")
        if not server.wait_for_output("DHCP, IP range", 10):
            server.stop()
            raise RuntimeError(f"the site DHCP server did not start:\n{server.output()[-2000:]}")
    except BaseException:
        delete_netns(name)
        raise
    return SiteDhcp(name, server)
