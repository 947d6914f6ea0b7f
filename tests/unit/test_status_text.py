"""`pxetui status` prints the engine's state as plain tables, from the tracker's own dicts."""

from __future__ import annotations

from typing import Any

from pxetui.cli.status import render_state
from pxetui.core.boot_stage import StageMap
from pxetui.core.events import DhcpEvent, FileNotFound, TransferFinished, TransferStarted
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker

MAC = MacAddress.parse("52:54:00:e2:e0:01")
NIC2 = MacAddress.parse("52:54:00:e2:e0:02")
IP = "10.0.0.129"
PROFILE = Profile.model_validate(
    {"entries": {"centos": {"kind": "linux", "kernel": "k", "initrds": ["images/initrd.img"]}}}
)


def client_state() -> dict[str, Any]:
    """A real tracker's view: boot #1 handed over, boot #2 (from NIC 2) missing its initrd."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=True, hostname="node1")
    tracker.set_nics(MAC, [NIC2])
    for n, (start, nic) in enumerate(((10.0, MAC), (50.0, NIC2))):
        tracker.apply(
            DhcpEvent(
                ts=start, msg_type="PXE", mac=nic, ip=IP, user_class="iPXE", arch=0,
                vendor_class="PXEClient:Arch:00000:UNDI:002001",
            )
        )  # fmt: skip
        for i, name in enumerate(("ipxe/52-54-00-e2-e0-01.ipxe", "k")):
            common = {"transfer_id": f"{n}{i}", "proto": "http", "client_ip": IP, "filename": name}
            tracker.apply(TransferStarted(ts=start + 1 + i, size=10, **common))
            tracker.apply(TransferFinished(ts=start + 1 + i, bytes_sent=10, seconds=0.1, **common))
        if n == 0:
            common = {"transfer_id": "i", "proto": "http", "client_ip": IP}
            tracker.apply(TransferStarted(ts=13, size=9, filename="images/initrd.img", **common))
            tracker.apply(
                TransferFinished(
                    ts=14, bytes_sent=9, seconds=1, filename="images/initrd.img", **common
                )
            )
        else:
            tracker.apply(
                FileNotFound(ts=53.0, proto="http", client_ip=IP, filename="images/initrd.img")
            )
    state = tracker.get(MAC)
    assert state is not None
    return state.to_dict(full=True)


def test_status_text_shows_services_clients_boots_hints_and_assignments() -> None:
    """Every part of the state a person needs appears in the text, hints with evidence."""
    state = {
        "profile": {
            "name": "lab",
            "path": "/etc/pxetui/lab.yaml",
            "server": "10.0.0.1",
            "dhcp_mode": "proxy",
            "interface": "br0",
        },
        "services": {
            "dhcp": {"state": "running", "address": "br0", "message": "dnsmasq is serving"}
        },
        "clients": [client_state()],
        "assignments": {"52:54:00:e2:e0:01": {"entry": "centos", "once": True, "source": "x"}},
        "unknown": "local",
    }
    text = render_state(state, now=58.0)
    assert "profile lab (/etc/pxetui/lab.yaml), server 10.0.0.1, dhcp proxy on br0" in text
    assert "dhcp  running    br0 dnsmasq is serving" in text
    assert "52:54:00:e2:e0:01 node1" in text and "!kernel" in text and "5s ago" in text
    assert "NIC 52:54:00:e2:e0:02" in text and "entry centos (once)" in text
    assert "(1 earlier boots" in text
    assert "error: http images/initrd.img: not found" in text
    assert "✖ the initrd images/initrd.img is missing" in text
    assert "seen: HTTP request for images/initrd.img" in text
    assert "1. images/initrd.img is not under the HTTP root" in text
    assert "52:54:00:e2:e0:01 -> centos once (x)" in text
