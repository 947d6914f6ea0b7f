"""Real dnsmasq with ``loader: shim`` and UEFI HTTP boot: what goes on the wire.

shim reads the directory of its second stage from the BOOTP *file* field; dnsmasq empties
that field (moving the name to option 67) when the client asks for 67, as EDK2 does, unless
``--dhcp-no-override``. A UEFI HTTP-boot client (option 93 = 16, ``HTTPClient``) must get a
URL and option 60 ``HTTPClient`` back. Scapy clients in a namespace of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from dnsmasq_lab import SERVER_IP, Lab, entered, lab, probe

from pxetui.core.events import Event
from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.config import dnsmasq_config
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor

pytestmark = pytest.mark.netns

EFI7 = "52:54:00:fd:05:07"
HTTP16 = "52:54:00:fd:05:16"
EDK2_PARAMS = [1, 3, 6, 43, 60, 66, 67]


@pytest.fixture
def full_lab(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path, router=False) as the_lab, entered(the_lab.server):
        yield the_lab


async def _serve(the_lab: Lab, events: list[Event]) -> DnsmasqSupervisor:
    profile = Profile.model_validate(
        {
            "network": {
                "dhcp": {
                    "mode": "full",
                    "subnet": "10.252.1.0/24",
                    "range": ["10.252.1.100", "10.252.1.150"],
                }
            },
            "entries": {"e": {"kind": "local"}},
            "loader": "shim",
            "shim": {"file": "own/EFI/BOOT/bootx64.efi"},
        }
    )
    state = the_lab.tmp / "state"
    cfg = dnsmasq_config(
        profile, server=IPv4Address(SERVER_IP), interface="br0", state_dir=state, tftp_port=69
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


async def test_shim_goes_in_the_bootp_file_field_and_http_boot_gets_a_url(
    full_lab: Lab,
) -> None:
    """EDK2 asking for option 67 still finds shim's path in the file field; an HTTP-boot
    client gets the URL of the same shim on our HTTP and option 60 HTTPClient."""
    events: list[Event] = []
    supervisor = await _serve(full_lab, events)
    clients: list[dict[str, Any]] = [
        {
            "mac": EFI7,
            "xid": 2007,
            "vendor": "PXEClient:Arch:00007:UNDI:003016",
            "arch": 7,
            "params": EDK2_PARAMS,
        },
        {
            "mac": HTTP16,
            "xid": 2016,
            "vendor": "HTTPClient:Arch:00016:UNDI:003001",
            "arch": 16,
            "params": EDK2_PARAMS,
        },
    ]
    try:
        wire = await asyncio.to_thread(probe, full_lab, clients)
    finally:
        await supervisor.stop()
    for round_ in ("discover", "request"):
        (pxe,) = wire[EFI7][round_]
        assert pxe["file"] == "own/EFI/BOOT/bootx64.efi", pxe
        assert pxe["siaddr"] == SERVER_IP
        (http,) = wire[HTTP16][round_]
        assert http["vendor_class"] == "HTTPClient", http
        url = f"http://{SERVER_IP}:8080/own/EFI/BOOT/bootx64.efi"
        assert url in (http["file"], http["bootfile"]), http
