"""A real firmware behind a DHCP relay boots through pxetui (network.relayed).

The VM sits on 10.9.0.0/24 in the router namespace; a real relay (``dnsmasq --dhcp-relay``)
forwards its DHCP to pxetui on 10.250.77.0/24, which never sees the VM's broadcasts. The
firmware must get an address from the relayed range, reach our TFTP/HTTP through the router,
boot the assigned entry, and show up in the tracker with its relayed address.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from pxetui.core.mac import MacAddress
from pxetui.engine.control.client import ControlClient
from pxetui.lab.boot_run import boot_vm, start_pxetui_for
from pxetui.lab.netns import SERVER_IP, LabNetwork, create_lab_network, remove_stale
from pxetui.lab.qemu import Firmware
from pxetui.lab.relay import (
    RELAY_IP,
    SEGMENT,
    SITE_DHCP_IP,
    SITE_RANGE,
    RelayedSegment,
    SiteDhcp,
    add_relayed_segment,
    start_site_dhcp,
)
from pxetui.lab.scenarios import X86_ARGS, Scenario

pytestmark = pytest.mark.e2e

PREFIX = "pxfl-"
RELAYED_MAC = MacAddress.parse("52:54:00:e2:f1:01")
RELAYED_RANGE = ("10.9.0.100", "10.9.0.150")


@pytest.fixture
def relayed(tmp_path: Path) -> Iterator[RelayedSegment]:
    """Server + router namespaces, the routed segment and its relay; all removed after."""
    remove_stale(PREFIX)
    net = create_lab_network(PREFIX, router=True)
    segment: RelayedSegment | None = None
    try:
        segment = add_relayed_segment(net, tmp_path / "relay")
        yield segment
    finally:
        if segment is not None:
            segment.stop()
        net.teardown()


def _scenario() -> Scenario:
    network: dict[str, Any] = {
        "dhcp": {"mode": "full", "range": ["10.250.77.100", "10.250.77.150"]},
        "relayed": [
            {"subnet": str(SEGMENT), "range": list(RELAYED_RANGE), "router": str(RELAY_IP)}
        ],
    }
    return Scenario(
        "relayed-full",
        "BIOS iPXE ROM behind a DHCP relay, full DHCP from a relayed range",
        "bios",
        RELAYED_MAC,
        "tiny",
        dhcp="full",
        expect_args=("pxetui.entry=tiny", X86_ARGS),
        overrides={"network": network},
    )


async def test_bios_ipxe_behind_a_dhcp_relay_boots_from_the_relayed_range(
    relayed: RelayedSegment, amd64_files: dict[str, Path], tmp_path: Path
) -> None:
    """Relayed DISCOVER → lease from 10.9.0.100-150 → boot files over the router → booted."""
    scenario = _scenario()
    net: LabNetwork = relayed.net
    run = start_pxetui_for(scenario, net, tmp_path / "engine")
    try:
        result = await boot_vm(scenario, relayed.vm_net, tmp_path / "engine")
        assert result.outcome == "expected", (
            f"{result.outcome} {result.matched}\n--- serial\n{result.tail()}"
            f"\n--- relay\n{relayed.relay_log()[-2000:]}\n--- engine\n{run.server.output()}"
        )
        client = run.client()
        assert client is not None, "the tracker has no row for the relayed client"
        assert IPv4Address(client["ip"]) in SEGMENT, client
        acks = [e for e in run.server.events() if e.get("msg_type") == "DHCPACK"]
        assert acks and "relay-0" in acks[-1]["tags"], acks  # answered from the relayed range
        finished = {e.get("filename", "").lstrip("/") for e in run.transfers()}
        assert "lab/vmlinuz-amd64" in finished, finished
        async with ControlClient(run.server.socket) as control:
            steps = await control.request("explain", mac=RELAYED_MAC.colon)
        hex_ip = f"{int(IPv4Address(client['ip'])):08X}"
        assert any(step["path"].endswith(hex_ip) for step in steps), steps
    finally:
        run.stop()


@pytest.fixture
def relayed_with_site_dhcp(tmp_path: Path) -> Iterator[tuple[RelayedSegment, SiteDhcp]]:
    """As ``relayed``, plus the site's DHCP server; the relay forwards to it and to pxetui."""
    remove_stale(PREFIX)
    net = create_lab_network(PREFIX, router=True)
    segment: RelayedSegment | None = None
    site: SiteDhcp | None = None
    try:
        site = start_site_dhcp(net, tmp_path / "site")
        segment = add_relayed_segment(net, tmp_path / "relay", (SERVER_IP, SITE_DHCP_IP))
        yield segment, site
    finally:
        if segment is not None:
            segment.stop()
        if site is not None:
            site.stop()
        net.teardown()


@pytest.mark.parametrize(
    ("firmware", "timeout"),
    [("bios", 90.0), ("uefi", 240.0)],
    ids=["bios-ipxe-rom", "uefi-edk2-pxe"],
)
async def test_firmware_behind_a_relay_boots_with_pxetui_as_proxy_dhcp(
    relayed_with_site_dhcp: tuple[RelayedSegment, SiteDhcp],
    amd64_files: dict[str, Path],
    tmp_path: Path,
    firmware: Firmware,
    timeout: float,
) -> None:
    """The site's server leases, pxetui's proxy answers through the same relay → booted
    (BIOS: the iPXE ROM; UEFI: OVMF's own PXE, then ipxe.efi)."""
    relayed, site = relayed_with_site_dhcp
    scenario = Scenario(
        f"relayed-proxy-{firmware}",
        "firmware behind a DHCP relay, pxetui as proxyDHCP beside the site's server",
        firmware,
        RELAYED_MAC,
        "tiny",
        expect_args=("pxetui.entry=tiny", X86_ARGS),
        overrides={"network": {"relayed": [{"subnet": str(SEGMENT)}]}},
        timeout=timeout,
    )
    run = start_pxetui_for(scenario, relayed.net, tmp_path / "engine")
    try:
        result = await boot_vm(scenario, relayed.vm_net, tmp_path / "engine")
        assert result.outcome == "expected", (
            f"{result.outcome} {result.matched}\n--- serial\n{result.tail()}"
            f"\n--- relay\n{relayed.relay_log()[-2000:]}\n--- site\n{site.log()[-1500:]}"
            f"\n--- engine\n{run.server.output()}"
        )
        assert f"DHCPACK(site) {SITE_RANGE[0][:-3]}" in site.log()  # the site leased
        dhcp = [e for e in run.server.events() if e.get("kind") == "dhcp"]
        assert any("relay-0" in e["tags"] for e in dhcp), dhcp  # our proxy, via the relay
        client = run.client()
        assert client is not None, "the tracker has no row for the relayed client"
    finally:
        run.stop()
