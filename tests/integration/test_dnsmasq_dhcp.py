"""Real dnsmasq under our supervisor answers real DHCP clients; we assert the events it publishes.

Proxy mode runs beside a "LAN router" namespace with a plain dnsmasq DHCP server; full mode
alone. Clients: busybox udhcpc with a PXE vendor class, and scapy-built DISCOVER/REQUEST
(and port-4011 boot-server) packets for arch 0, 7, 9 and 0x1F, with and without option 97.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from dnsmasq_lab import ROUTER_IP, SERVER_IP, Lab, entered, lab, mac_of, probe, udhcpc

from pxetui.core.events import DhcpEvent, Event, ServiceEvent
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.config import dnsmasq_config
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor

pytestmark = pytest.mark.netns

UDHCPC = "52:54:00:fd:00:01"
BIOS = "52:54:00:fd:01:00"
BIOS_IPXE = "52:54:00:fd:01:01"
EFI7 = "52:54:00:fd:01:07"
EFI9 = "52:54:00:fd:01:09"
PXELINUX_HOST = "52:54:00:fd:02:00"
S390 = "52:54:00:fd:03:90"
S390_UNKNOWN = "52:54:00:fd:03:91"
S390_IP = "10.252.1.90"
UUID = "8c3a5f3e2b6a4d1f9e0a1b2c3d4e5f60"
S390_PARAMS = {"params": [1, 3, 6, 66, 67, 93], "params_request": [1, 3, 6, 66, 67, 93, 209, 210]}


@pytest.fixture
def proxy_lab(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path, router=True) as the_lab, entered(the_lab.server):
        yield the_lab


@pytest.fixture
def full_lab(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path, router=False) as the_lab, entered(the_lab.server):
        yield the_lab


def make_profile(mode: str) -> Profile:
    return Profile.model_validate(
        {
            "network": {
                "dhcp": {
                    "mode": mode,
                    "subnet": "10.252.1.0/24",
                    "range": ["10.252.1.100", "10.252.1.150"],
                    "s390x_addresses": {S390: S390_IP},
                }
            },
            "entries": {"e": {"kind": "local"}},
            "hosts": {
                S390: {"entry": "e", "arch": "s390x"},
                PXELINUX_HOST: {"entry": "e", "loader": "pxelinux", "hostname": "rack1-node2"},
            },
        }
    )


async def serve(the_lab: Lab, mode: str, events: list[Event]) -> DnsmasqSupervisor:
    state = the_lab.tmp / "state"
    cfg = dnsmasq_config(
        make_profile(mode),
        server=IPv4Address(SERVER_IP),
        interface="br0",
        state_dir=state,
        tftp_port=69,
    )
    supervisor = DnsmasqSupervisor(
        cfg.args,
        publish=events.append,
        state_dir=state,
        interface="br0",
        lock_dir=the_lab.tmp / "lock",
    )
    await supervisor.start()
    return supervisor


def dhcp_for(events: list[Event], mac: str) -> list[DhcpEvent]:
    wanted = MacAddress.parse(mac)
    return [e for e in events if isinstance(e, DhcpEvent) and e.mac == wanted]


def with_boot_file(events: list[DhcpEvent]) -> DhcpEvent:
    found = [e for e in events if e.boot_file]
    assert found, events
    return found[-1]


def pxe_clients() -> list[dict[str, Any]]:
    return [
        {"mac": BIOS, "xid": 1000, "vendor": "PXEClient:Arch:00000:UNDI:002001", "arch": 0},
        {
            "mac": BIOS_IPXE,
            "xid": 1001,
            "vendor": "PXEClient:Arch:00000:UNDI:002001",
            "arch": 0,
            "user": "iPXE",
        },
        {
            "mac": EFI7,
            "xid": 1007,
            "vendor": "PXEClient:Arch:00007:UNDI:003016",
            "arch": 7,
            "uuid": UUID,
        },
        {"mac": EFI9, "xid": 1009, "vendor": "PXEClient:Arch:00009:UNDI:003016", "arch": 9},
        {
            "mac": PXELINUX_HOST,
            "xid": 1020,
            "vendor": "PXEClient:Arch:00000:UNDI:002001",
            "arch": 0,
            "uuid": UUID,
        },
        # s390-ccw: no vendor class, no option 93 in DISCOVER, arch 0x1F only in REQUEST.
        {"mac": S390, "xid": 1031, "arch_request": 0x1F, **S390_PARAMS},
    ]


async def test_proxy_mode_answers_pxe_clients_beside_the_lan_router(proxy_lab: Lab) -> None:
    """Proxy offers + port-4011 boot files per arch; the router leases; s390x gets a fixed lease."""
    events: list[Event] = []
    supervisor = await serve(proxy_lab, "proxy", events)
    try:
        lease = await asyncio.to_thread(udhcpc, proxy_lab, "PXEClient:Arch:00000:UNDI:002001")
        clients = [{**c, "pxebs": True} for c in pxe_clients()]
        server_mac = mac_of(proxy_lab.server, "br0")
        wire = await asyncio.to_thread(probe, proxy_lab, clients, server_mac=server_mac)
        await asyncio.sleep(0.5)  # let the last block flush
    finally:
        await supervisor.stop()

    assert lease.returncode == 0 and f"obtained from {ROUTER_IP}" in lease.stderr, lease.stderr
    udhcpc_offer = dhcp_for(events, UDHCPC)[0]
    assert (udhcpc_offer.msg_type, udhcpc_offer.text, udhcpc_offer.arch) == ("PXE", "proxy", 0)
    assert udhcpc_offer.firmware == "PXE ROM" and udhcpc_offer.interface == "br0"

    expected = {
        BIOS: (0, "PXE ROM", "undionly.kpxe"),
        BIOS_IPXE: (0, "iPXE", "boot.ipxe"),
        EFI7: (7, "EDK2", "ipxe.efi"),
        EFI9: (9, "EDK2", "ipxe.efi"),
        PXELINUX_HOST: (0, "PXE ROM", "pxelinux.0"),
    }
    for mac, (arch, firmware, boot_file) in expected.items():
        seen = dhcp_for(events, mac)
        assert seen and seen[0].msg_type == "PXE" and seen[0].text == "proxy", (mac, seen)
        answer = with_boot_file(seen)
        assert (answer.msg_type, answer.arch, answer.firmware) == ("PXE", arch, firmware), mac
        assert (answer.boot_file, answer.next_server) == (boot_file, SERVER_IP), mac
        # The proxy's offer on the wire carries PXEClient and no address of its own.
        ours = [r for r in wire[mac]["discover"] if r["src"] == SERVER_IP]
        assert ours and ours[0]["vendor_class"] == "PXEClient" and ours[0]["yiaddr"] == "0.0.0.0"
        assert any(r["src"] == ROUTER_IP for r in wire[mac]["discover"]), mac
        # The boot server's (port 4011) answer the client received names the file and us.
        assert [(r["file"], r["siaddr"]) for r in wire[mac]["pxebs"]] == [(boot_file, SERVER_IP)]
    assert dhcp_for(events, BIOS_IPXE)[0].user_class == "iPXE"
    # BIOS boot-server answers name the client's (router-given) address: MAC <-> IP for the tracker.
    bios_answer = with_boot_file(dhcp_for(events, BIOS))
    assert bios_answer.ip is not None and bios_answer.ip.startswith("10.252.1.1")

    s390 = [e for e in dhcp_for(events, S390) if e.msg_type == "DHCPOFFER"]
    assert s390 and (s390[0].ip, s390[0].boot_file) == (S390_IP, "s390x/01-52-54-00-fd-03-90")
    assert (s390[0].arch, s390[0].firmware) == (0x1F, "s390-ccw")
    ours = [r for r in wire[S390]["discover"] if r["src"] == SERVER_IP]
    assert ours and ours[0]["yiaddr"] == S390_IP
    assert ours[0]["bootfile"].rstrip("\0") == "s390x/01-52-54-00-fd-03-90"
    # No lease is handed to anyone else behind the proxy.
    offers = [
        e for e in events if isinstance(e, DhcpEvent) and e.msg_type in ("DHCPOFFER", "DHCPACK")
    ]
    assert {e.mac for e in offers} == {MacAddress.parse(S390)}
    assert [e.state for e in events if isinstance(e, ServiceEvent)] == [
        "starting",
        "running",
        "stopped",
    ]


async def test_full_mode_leases_with_per_arch_boot_files(full_lab: Lab) -> None:
    """Full DHCP: every client gets a lease and its boot file; s390x by host tag and by arch 31."""
    events: list[Event] = []
    supervisor = await serve(full_lab, "full", events)
    try:
        lease = await asyncio.to_thread(
            udhcpc, full_lab, "PXEClient:Arch:00000:UNDI:002001", hostname="lab-node-7"
        )
        clients = [
            *pxe_clients(),
            {"mac": S390_UNKNOWN, "xid": 1032, "arch_request": 0x1F, **S390_PARAMS},
        ]
        wire = await asyncio.to_thread(probe, full_lab, clients)
        await asyncio.sleep(0.5)
    finally:
        await supervisor.stop()

    assert lease.returncode == 0 and f"obtained from {SERVER_IP}" in lease.stderr, lease.stderr
    kinds = [e.msg_type for e in dhcp_for(events, UDHCPC)]
    assert kinds == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    ack = dhcp_for(events, UDHCPC)[-1]
    assert (ack.boot_file, ack.next_server, ack.firmware) == ("undionly.kpxe", SERVER_IP, "PXE ROM")
    assert ack.ip is not None and ack.ip.startswith("10.252.1.1")
    assert {e.hostname for e in dhcp_for(events, UDHCPC)} == {"lab-node-7"}

    expected = {
        BIOS: (0, "PXE ROM", "undionly.kpxe"),
        BIOS_IPXE: (0, "iPXE", "boot.ipxe"),
        EFI7: (7, "EDK2", "ipxe.efi"),
        EFI9: (9, "EDK2", "ipxe.efi"),
        PXELINUX_HOST: (0, "PXE ROM", "pxelinux.0"),
        S390: (0x1F, "s390-ccw", "s390x/01-52-54-00-fd-03-90"),
        S390_UNKNOWN: (0x1F, "s390-ccw", "s390x/default"),
    }
    for mac, (arch, firmware, boot_file) in expected.items():
        seen = dhcp_for(events, mac)
        assert [e.msg_type for e in seen][-2:] == ["DHCPREQUEST", "DHCPACK"], (mac, seen)
        final = seen[-1]
        assert (final.arch, final.firmware, final.boot_file) == (arch, firmware, boot_file), mac
        assert final.next_server == SERVER_IP
        (reply,) = wire[mac]["request"]
        assert reply["type"] == "5" and reply["yiaddr"] == final.ip, mac
        assert reply["siaddr"] == SERVER_IP
        assert reply["bootfile"].rstrip("\0") == boot_file, mac
    assert with_boot_file(dhcp_for(events, S390)).ip == S390_IP
    # The profile's host name goes out with the lease (dnsmasq logs it on the ACK line).
    assert dhcp_for(events, PXELINUX_HOST)[-1].text == "rack1-node2"
    # Arch 0x1F is only in the REQUEST: the unknown s390x client's DISCOVER has no arch yet.
    assert dhcp_for(events, S390_UNKNOWN)[0].arch is None
