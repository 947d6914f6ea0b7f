"""The client tracker folds DHCP and transfer events into the operator's view of each boot."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import (
    DhcpEvent,
    FileNotFound,
    SizeProbe,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker

MAC = MacAddress.parse("52:54:00:e2:e0:01")
IP = "10.254.77.129"
PROFILE = Profile.model_validate(
    {
        "entries": {
            "centos": {
                "kind": "linux",
                "kernel": "images/vmlinuz",
                "initrds": ["images/initrd.img"],
            },
            "live": {
                "kind": "live",
                "kernel": "k",
                "initrds": ["i"],
                "image": "live/root.squashfs",
            },
        }
    }
)
_ids = itertools.count(1)


def fetch(tracker: ClientTracker, name: str, ts: float, size: int = 1000, ip: str = IP) -> str:
    """A complete TFTP transfer of *name* at *ts*."""
    tid = f"t{next(_ids)}"
    common = {"transfer_id": tid, "proto": "tftp", "client_ip": ip, "filename": name}
    tracker.apply(TransferStarted(ts=ts, size=size, **common))
    tracker.apply(TransferProgress(ts=ts + 0.1, bytes_sent=size // 2, size=size, **common))
    tracker.apply(TransferFinished(ts=ts + 0.2, bytes_sent=size, seconds=0.2, **common))
    return tid


def proxy_bios_dhcp(tracker: ClientTracker, ts: float, ipxe: bool = False) -> None:
    """Our proxy's answer to a BIOS PXE ROM, then the port-4011 exchange that names the IP."""
    vendor = "PXEClient:Arch:00000:UNDI:002001"
    user = "iPXE" if ipxe else ""
    tracker.apply(
        DhcpEvent(
            ts=ts,
            msg_type="PXE",
            mac=MAC,
            text="proxy",
            vendor_class=vendor,
            user_class=user,
            arch=0,
            firmware="PXE ROM",
        )
    )
    tracker.apply(
        DhcpEvent(
            ts=ts + 0.1,
            xid=0,
            msg_type="PXE",
            mac=MAC,
            ip=IP,
            vendor_class="PXEClient",
            user_class=user,
            boot_file="undionly.kpxe",
        )
    )


def test_a_proxy_ipxe_boot_walks_every_phase_to_handed_over() -> None:
    """DHCP → loader → configs → kernel → initrd ends handed over, each phase timestamped."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False, hostname="node1")
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "undionly.kpxe", 11.0)
    proxy_bios_dhcp(tracker, 12.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 13.0)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 14.0)
    fetch(tracker, "/images/vmlinuz", 15.0)
    assert tracker.get(MAC).phase == "kernel"  # type: ignore[union-attr]
    fetch(tracker, "images/initrd.img", 16.0)
    state = tracker.get(MAC)
    assert state is not None
    assert state.phase == "handed_over"
    assert list(state.phases) == [
        "discovered",
        "offered",
        "loader",
        "config",
        "kernel",
        "initrd",
        "handed_over",
    ]
    assert state.phases["loader"] == 11.0 and state.phases["kernel"] == 15.0
    assert (state.ip, state.arch, state.firmware, state.hostname) == (IP, "BIOS", "iPXE", "node1")
    assert tracker.boot_delivered(MAC)


def test_once_delivery_needs_finished_kernel_and_initrd_not_just_started() -> None:
    """A kernel that only started (or an initrd cut short) is not a delivered boot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=True)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "images/vmlinuz", 11.0)
    common = {"proto": "http", "client_ip": IP, "filename": "/images/initrd.img"}
    tracker.apply(TransferStarted(ts=12.0, transfer_id="h1", size=500, **common))
    assert not tracker.boot_delivered(MAC)
    tracker.apply(TransferFailed(ts=12.5, transfer_id="h1", reason="connection reset", **common))
    state = tracker.get(MAC)
    assert state is not None and not tracker.boot_delivered(MAC)
    assert state.last_error is not None and "connection reset" in state.last_error
    assert state.transfers[-1].state == "failed"


def test_a_live_entry_is_delivered_only_with_its_root_image() -> None:
    """Diskless boots hand over after kernel, initrd and the squashfs."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "live", once=True)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "k", 11.0)
    fetch(tracker, "i", 12.0)
    assert not tracker.boot_delivered(MAC)
    fetch(tracker, "live/root.squashfs", 13.0, size=10_000)
    assert tracker.boot_delivered(MAC)
    assert tracker.get(MAC).phase == "handed_over"  # type: ignore[union-attr]


def test_pxelinux_missing_per_mac_file_then_default_gives_a_hint() -> None:
    """The pxelinux search trail ending at default is explained in words."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "pxelinux.0", 11.0)
    for name in ("pxelinux.cfg/01-52-54-00-e2-e0-01", "pxelinux.cfg/0AFE4D81", "pxelinux.cfg/0"):
        tracker.apply(FileNotFound(ts=11.5, proto="tftp", client_ip=IP, filename=name))
    fetch(tracker, "pxelinux.cfg/default", 12.0)
    state = tracker.get(MAC)
    assert state is not None and state.last_error is None
    assert any(
        "asked for pxelinux.cfg/01-52-54-00-e2-e0-01 and got not found, then "
        "pxelinux.cfg/default" in h
        for h in state.hints
    )


def test_uefi_size_probe_is_labelled_not_failed() -> None:
    """A tsize probe shows as a probe and a hint, not as an error."""
    tracker = ClientTracker()
    tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPOFFER", mac=MAC, ip=IP, arch=7))
    tracker.apply(
        SizeProbe(ts=2.0, transfer_id="p", proto="tftp", client_ip=IP, filename="ipxe.efi", size=9)
    )
    state = tracker.get(MAC)
    assert state is not None and state.arch == "UEFI x64" and state.last_error is None
    assert state.transfers[-1].state == "probe"
    assert any("UEFI size probe" in h for h in state.hints)


def test_silence_after_ipxe_loaded_hints_at_ipv6_router_advertisements() -> None:
    """No DHCP 15 s after iPXE was delivered: the IPv6 autoconf wait is named."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "undionly.kpxe", 11.0)
    assert tracker.tick(20.0) == set()
    assert tracker.tick(26.5) == {MAC}
    assert any("IPv6 router advertisement" in h for h in tracker.get(MAC).hints)  # type: ignore[union-attr]


def test_an_offer_never_followed_by_a_fetch_hints_at_tftp_reachability() -> None:
    """Offered, then nothing for 10 s: ask whether TFTP port 69 is reachable."""
    tracker = ClientTracker()
    tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPDISCOVER", mac=MAC))
    tracker.apply(DhcpEvent(ts=1.1, msg_type="DHCPOFFER", mac=MAC, ip=IP))
    assert tracker.tick(5.0) == set()
    assert tracker.tick(11.5) == {MAC}
    assert any("port 69" in h for h in tracker.get(MAC).hints)  # type: ignore[union-attr]


def test_firmware_starting_over_begins_a_new_boot() -> None:
    """A PXE ROM DHCP after the loader was fetched resets phases, hints and errors."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "undionly.kpxe", 11.0)
    proxy_bios_dhcp(tracker, 12.0, ipxe=True)  # iPXE's own DHCP: same boot
    assert tracker.get(MAC).phase == "loader"  # type: ignore[union-attr]
    proxy_bios_dhcp(tracker, 100.0)  # reboot
    state = tracker.get(MAC)
    assert state is not None and state.phase == "offered"
    assert "loader" not in state.phases and state.phases["discovered"] == 100.0
    assert len(state.transfers) == 1  # the ring keeps the previous boot's transfers


def test_transfers_from_an_unknown_ip_are_attributed_once_a_per_mac_file_names_it() -> None:
    """Behind two simultaneous proxy clients, the loader fetch is placed when the MAC shows."""
    other = MacAddress.parse("52:54:00:00:00:99")
    tracker = ClientTracker()
    tracker.apply(DhcpEvent(ts=1.0, msg_type="PXE", mac=MAC, text="proxy", arch=7))
    tracker.apply(DhcpEvent(ts=1.0, msg_type="PXE", mac=other, text="proxy", arch=7))
    fetch(tracker, "ipxe.efi", 2.0)
    assert tracker.get(MAC).phase == "offered"  # type: ignore[union-attr]
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 3.0)
    state = tracker.get(MAC)
    assert state is not None and state.ip == IP
    assert [t.filename for t in state.transfers] == ["ipxe.efi", "ipxe/52-54-00-e2-e0-01.ipxe"]
    assert tracker.get(other).transfers == type(state.transfers)(maxlen=8)  # type: ignore[union-attr]


def test_neighbor_table_names_a_client_dhcp_never_paired() -> None:
    """The injected ARP lookup is used when DHCP never told us the IP."""
    tracker = ClientTracker(neighbor=lambda ip: MAC if ip == IP else None)
    fetch(tracker, "pxelinux.0", 5.0)
    state = tracker.get(MAC)
    assert state is not None and state.ip == IP and state.phase == "loader"


def test_client_state_dict_is_the_documented_json_shape() -> None:
    """to_dict has exactly the documented keys and survives JSON."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    tid = fetch(tracker, "pxelinux.0", 11.0, size=4242)
    state = tracker.get(MAC)
    assert state is not None
    data = json.loads(json.dumps(state.to_dict()))
    assert set(data) == {
        "mac",
        "hostname",
        "ip",
        "arch",
        "arch_code",
        "firmware",
        "vendor_class",
        "entry",
        "once",
        "phase",
        "phases",
        "first_seen",
        "last_seen",
        "last_error",
        "hints",
        "transfers",
    }
    assert data["mac"] == "52:54:00:e2:e0:01"
    assert data["transfers"][-1]["transfer_id"] == tid
    assert data["transfers"][-1]["bytes"] == 4242 and data["transfers"][-1]["state"] == "done"
    assert set(data["transfers"][-1]) == {
        "transfer_id",
        "proto",
        "filename",
        "bytes",
        "size",
        "rate_bps",
        "state",
        "started",
        "finished",
    }


def test_no_ipxe_silence_hint_when_it_went_on_or_dhcp_is_not_ours() -> None:
    """iPXE that fetched its script, or a lab without our DHCP, gets no IPv6 hint."""
    went_on = ClientTracker()
    proxy_bios_dhcp(went_on, 10.0)
    fetch(went_on, "undionly.kpxe", 11.0)
    fetch(went_on, "boot.ipxe", 12.0)  # iPXE's DHCP went to another server, it carried on
    assert went_on.tick(40.0) == set()
    no_dhcp = ClientTracker(neighbor=lambda ip: MAC)
    fetch(no_dhcp, "undionly.kpxe", 11.0)
    assert no_dhcp.tick(40.0) == set()


_names = st.sampled_from(
    [
        "undionly.kpxe",
        "pxelinux.0",
        "boot.ipxe",
        "ipxe/52-54-00-e2-e0-01.ipxe",
        "images/vmlinuz",
        "images/initrd.img",
        "pxelinux.cfg/default",
        "pxelinux.cfg/01-52-54-00-e2-e0-01",
        "../../etc/passwd",
        "",
        "\\x\\y",
        "live/root.squashfs",
    ]
) | st.text(max_size=40)
_macs = st.sampled_from([MAC, MacAddress.parse("52:54:00:e2:e0:02")])
_ips = st.sampled_from([IP, "10.254.77.130", "127.0.0.1"])
_events = st.one_of(
    st.builds(
        DhcpEvent,
        ts=st.floats(0, 100),
        msg_type=st.sampled_from(
            ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK", "DHCPNAK", "PXE", "X"]
        ),
        mac=st.none() | _macs,
        ip=st.none() | _ips,
        arch=st.none() | st.integers(0, 65535),
        vendor_class=st.text(max_size=30),
        user_class=st.sampled_from(["", "iPXE"]),
        firmware=st.text(max_size=10),
        text=st.text(max_size=20),
    ),
    st.builds(
        TransferStarted,
        ts=st.floats(0, 100),
        transfer_id=st.sampled_from("abc"),
        proto=st.just("tftp"),
        client_ip=_ips,
        filename=_names,
        size=st.none() | st.integers(0, 10**9),
    ),
    st.builds(
        TransferProgress,
        ts=st.floats(0, 100),
        transfer_id=st.sampled_from("abc"),
        proto=st.just("http"),
        client_ip=_ips,
        filename=_names,
        bytes_sent=st.integers(0, 10**9),
    ),
    st.builds(
        TransferFinished,
        ts=st.floats(0, 100),
        transfer_id=st.sampled_from("abc"),
        proto=st.just("tftp"),
        client_ip=_ips,
        filename=_names,
        bytes_sent=st.integers(0, 10**9),
        seconds=st.floats(0, 10),
    ),
    st.builds(
        TransferFailed,
        ts=st.floats(0, 100),
        transfer_id=st.sampled_from("abc"),
        proto=st.just("tftp"),
        client_ip=_ips,
        filename=_names,
        reason=st.text(max_size=9),
    ),
    st.builds(
        SizeProbe,
        ts=st.floats(0, 100),
        transfer_id=st.sampled_from("abc"),
        proto=st.just("tftp"),
        client_ip=_ips,
        filename=_names,
    ),
    st.builds(
        FileNotFound, ts=st.floats(0, 100), proto=st.just("tftp"), client_ip=_ips, filename=_names
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_events, max_size=40), st.floats(0, 200))
def test_any_event_sequence_folds_without_raising(events: list[Any], now: float) -> None:
    """Whatever arrives in whatever order, the tracker folds it and stays JSON-ready."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=True)
    for event in events:
        tracker.apply(event)
    tracker.tick(now)
    for client in tracker.clients():
        data = json.loads(json.dumps(client.to_dict()))
        assert data["phase"] in data["phases"] or data["phase"] == "discovered"
        assert len(data["transfers"]) <= 8 and len(data["hints"]) <= 6


def test_files_delivered_before_a_once_assignment_do_not_complete_it() -> None:
    """Kernel and initrd sent for the old entry don't count for a new one-shot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "images/vmlinuz", 11.0)
    fetch(tracker, "images/initrd.img", 12.0)
    assert tracker.boot_delivered(MAC)
    tracker.set_assignment(MAC, "centos", once=True)
    assert not tracker.boot_delivered(MAC)
    fetch(tracker, "images/vmlinuz", 13.0)
    fetch(tracker, "images/initrd.img", 14.0)
    assert tracker.boot_delivered(MAC)


def test_a_big_initrd_over_tftp_suggests_http() -> None:
    """40 MB over TFTP gets the 'HTTP is faster' hint; over HTTP it does not."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "images/initrd.img", 11.0, size=40_000_000)
    assert any("HTTP is 4-5x faster" in h for h in tracker.get(MAC).hints)  # type: ignore[union-attr]
    other = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(other, 10.0)
    common = {"transfer_id": "h", "proto": "http", "client_ip": IP, "filename": "images/initrd.img"}
    other.apply(TransferStarted(ts=11.0, size=40_000_000, **common))
    assert not any("HTTP" in h for h in other.get(MAC).hints)  # type: ignore[union-attr]


def test_the_booted_systems_own_dhcp_does_not_start_a_new_boot() -> None:
    """After hand-over, udhcpc in the initrd asking for an address keeps the boot's phases."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "images/vmlinuz", 11.0)
    fetch(tracker, "images/initrd.img", 12.0)
    tracker.apply(
        DhcpEvent(
            ts=20.0,
            msg_type="DHCPDISCOVER",
            mac=MAC,
            vendor_class="udhcp 1.35.0",
            firmware="Linux DHCP client",
        )
    )
    state = tracker.get(MAC)
    assert state is not None and state.phase == "handed_over" and "kernel" in state.phases


def test_the_name_a_client_sends_in_its_request_becomes_its_hostname() -> None:
    """dnsmasq's `DHCPACK(br0) ip mac name` fills an empty hostname; odd text does not."""
    tracker = ClientTracker()
    tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPACK", mac=MAC, ip=IP, text="node7"))
    assert tracker.get(MAC).hostname == "node7"  # type: ignore[union-attr]
    other = MacAddress.parse("52:54:00:e2:e0:02")
    tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPACK", mac=other, ip=IP, text="no (address)"))
    assert tracker.get(other).hostname is None  # type: ignore[union-attr]


def test_the_client_table_is_bounded_by_forgetting_the_stalest() -> None:
    """Past its cap the tracker drops the client seen longest ago, keeps the rest."""
    tracker = ClientTracker()
    tracker.max_clients = 3
    macs = [MacAddress(f"5254000000{i:02x}") for i in range(4)]
    for i, mac in enumerate(macs):
        tracker.apply(DhcpEvent(ts=float(10 + i), msg_type="DHCPDISCOVER", mac=mac))
    tracker.apply(DhcpEvent(ts=20.0, msg_type="DHCPDISCOVER", mac=macs[0]))  # comes back
    assert [c.mac for c in tracker.clients()] == [macs[2], macs[3], macs[0]]
