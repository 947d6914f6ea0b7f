"""The client tracker folds DHCP and transfer events into the operator's view of each boot."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.boot import TRANSFERS_PER_BOOT, Boot
from pxetui.core.boot_stage import StageMap
from pxetui.core.client_state import BOOTS_KEPT
from pxetui.core.events import (
    DhcpEvent,
    FileNotFound,
    RequestRefused,
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


def edk2_dhcp(tracker: ClientTracker, ts: float, ipxe: bool = False, mac: MacAddress = MAC) -> None:
    """Our proxy's two answers to x64 UEFI firmware (EDK2, or the ipxe.efi it loaded)."""
    vendor = "PXEClient:Arch:00007:UNDI:003010" if ipxe else "PXEClient:Arch:00007:UNDI:003000"
    for dt in (0.0, 0.1):
        tracker.apply(
            DhcpEvent(
                ts=ts + dt,
                msg_type="PXE",
                mac=mac,
                text="proxy",
                vendor_class=vendor,
                user_class="iPXE" if ipxe else "",
                arch=7,
                firmware="iPXE" if ipxe else "EDK2",
            )
        )


def boot_of(tracker: ClientTracker, mac: MacAddress = MAC) -> Boot:
    state = tracker.get(mac)
    assert state is not None and state.boot is not None
    return state.boot


def codes(tracker: ClientTracker, mac: MacAddress = MAC) -> set[str]:
    return set(boot_of(tracker, mac).hints)


def miss(tracker: ClientTracker, name: str, ts: float) -> None:
    tracker.apply(FileNotFound(ts=ts, proto="tftp", client_ip=IP, filename=name))


def ipxe_boot(tracker: ClientTracker, ts: float) -> None:
    """A BIOS iPXE ROM boot of the assigned kernel entry, start to finish."""
    proxy_bios_dhcp(tracker, ts, ipxe=True)
    fetch(tracker, "boot.ipxe", ts + 1)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", ts + 2)
    fetch(tracker, "images/vmlinuz", ts + 3)
    fetch(tracker, "images/initrd.img", ts + 4)


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
    assert state is not None and len(state.boots) == 1
    boot = boot_of(tracker)
    assert (boot.phase, boot.outcome, boot.entry) == ("handed_over", "handed_over", "centos")
    assert list(boot.phases) == [
        "discovered",
        "offered",
        "loader",
        "config",
        "kernel",
        "initrd",
        "handed_over",
    ]
    assert boot.phases["loader"] == 11.0 and boot.phases["kernel"] == 15.0
    assert boot.firmwares == ["PXE ROM", "iPXE"]
    assert (state.ip, boot.arch, boot.firmware, state.hostname) == (IP, "BIOS", "iPXE", "node1")
    assert boot.end_evidence == "kernel and initrds sent"


def test_an_ipxe_rom_booting_twice_is_two_boots() -> None:
    """iPXE's DISCOVER after a hand-over starts boot #2; boot #1 keeps its own timeline."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    ipxe_boot(tracker, 10.0)
    ipxe_boot(tracker, 100.0)
    state = tracker.get(MAC)
    assert state is not None
    assert [b.n for b in state.boots] == [1, 2]
    first, second = state.boots
    assert first.outcome == second.outcome == "handed_over"
    assert first.phases["kernel"] == 13.0 and second.phases["kernel"] == 103.0
    assert second.phases["discovered"] == 100.0
    assert second.transfers[0].filename == "boot.ipxe"


def test_a_reset_during_the_kernel_download_is_a_new_boot() -> None:
    """iPXE asking for DHCP again on the same NIC after it fetched files: the machine reset."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 11.0)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 12.0)
    common = {"transfer_id": "k", "proto": "http", "client_ip": IP, "filename": "images/vmlinuz"}
    tracker.apply(TransferStarted(ts=13.0, size=10, **common))
    proxy_bios_dhcp(tracker, 30.0, ipxe=True)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 2
    assert state.boots[0].outcome == "superseded" and state.boots[1].phase == "offered"


def test_once_completes_only_when_kernel_and_initrd_finished() -> None:
    """A kernel that only started (or an initrd cut short) is not a completed one-shot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=True)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "images/vmlinuz", 11.0)
    common = {"proto": "http", "client_ip": IP, "filename": "/images/initrd.img"}
    tracker.apply(TransferStarted(ts=12.0, transfer_id="h1", size=500, **common))
    assert not tracker.boot_completed(MAC)
    tracker.apply(TransferFailed(ts=12.5, transfer_id="h1", reason="connection reset", **common))
    boot = boot_of(tracker)
    assert not tracker.boot_completed(MAC)
    assert boot.last_error is not None and "connection reset" in boot.last_error
    assert boot.transfers[-1].state == "failed"
    fetch(tracker, "images/initrd.img", 13.0)
    assert tracker.boot_completed(MAC)


def test_once_then_reboot_to_local_is_two_boots_the_second_local() -> None:
    """After the one-shot, the engine assigns local: the next boot reads it and ends local."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=True)
    ipxe_boot(tracker, 10.0)
    assert tracker.boot_completed(MAC)
    tracker.set_assignment(MAC, "local", once=False)  # what the engine does next
    assert not tracker.boot_completed(MAC)
    proxy_bios_dhcp(tracker, 60.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 61.0)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 62.0)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 2
    first, second = state.boots
    assert (first.entry, first.once, first.outcome) == ("centos", True, "handed_over")
    assert (second.entry, second.outcome, second.phase) == ("local", "local", "handed_over")
    assert "local disk" in second.end_evidence


def test_an_assignment_after_the_config_was_read_does_not_change_the_running_boot() -> None:
    """The files decide what a boot is: a one-shot set mid-boot completes only next boot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 11.0)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 12.0)
    tracker.set_assignment(MAC, "centos", once=True)
    fetch(tracker, "images/vmlinuz", 13.0)
    fetch(tracker, "images/initrd.img", 14.0)
    assert boot_of(tracker).outcome == "handed_over" and not tracker.boot_completed(MAC)
    ipxe_boot(tracker, 50.0)
    assert tracker.boot_completed(MAC)


def test_a_live_entry_hands_over_with_its_root_image_and_says_when_it_is_not_asked() -> None:
    """Diskless boots end with the squashfs; kernel+initrd and then silence is a hint."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "live", once=True)
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "k", 11.0)
    fetch(tracker, "i", 12.0)
    assert not tracker.boot_completed(MAC)
    tracker.tick(60.0)
    assert "no_root_image" not in codes(tracker)
    tracker.tick(103.0)
    hint = boot_of(tracker).hints["no_root_image"]
    assert "live/root.squashfs" in hint.evidence and hint.severity == "warn"
    assert any("livenet" in c for c in hint.causes)
    fetch(tracker, "live/root.squashfs", 110.0, size=10_000)
    boot = boot_of(tracker)
    assert tracker.boot_completed(MAC) and boot.outcome == "handed_over"
    assert "no_root_image" not in boot.hints
    assert [h.code for h in boot.cleared] == ["no_root_image"]


def test_pxelinux_missing_per_mac_file_then_default_is_info_not_an_error() -> None:
    """The pxelinux search trail ending at default is explained, and is not last_error."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "pxelinux.0", 11.0)
    for name in ("pxelinux.cfg/01-52-54-00-e2-e0-01", "pxelinux.cfg/0AFE4D81", "pxelinux.cfg/0"):
        miss(tracker, name, 11.5)
    fetch(tracker, "pxelinux.cfg/default", 12.0)
    boot = boot_of(tracker)
    assert boot.last_error is None
    hint = boot.hints["default_config"]
    assert hint.severity == "info"
    assert "pxelinux.cfg/01-52-54-00-e2-e0-01 (not found)" in hint.evidence
    assert "pxelinux.cfg/default" in hint.evidence


def test_grub_module_probes_are_a_trail_not_an_error() -> None:
    """GRUB asks for x86_64-efi/*.lst and misses: normal, neither last_error nor a hint."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "shimx64.efi", 11.0)
    fetch(tracker, "grubx64.efi", 12.0)
    for name in ("command.lst", "fs.lst", "crypto.lst"):
        miss(tracker, f"grub/x86_64-efi/{name}", 13.0)
    miss(tracker, "grub/grub.cfg-01-52-54-00-e2-e0-01", 13.5)
    fetch(tracker, "grub/grub.cfg", 14.0)
    boot = boot_of(tracker)
    assert boot.last_error is None
    assert "file_missing" not in boot.hints and boot.phase == "config"


def test_uefi_size_probe_is_labelled_not_failed_and_one_boot() -> None:
    """A tsize probe of the loader, then its download: one boot, a probe, an info hint."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 1.0)
    tracker.apply(
        SizeProbe(ts=2.0, transfer_id="p", proto="tftp", client_ip=IP, filename="ipxe.efi", size=9)
    )
    fetch(tracker, "ipxe.efi", 2.5)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 1
    boot = boot_of(tracker)
    assert boot.arch == "UEFI x64" and boot.last_error is None
    assert [t.state for t in boot.transfers] == ["probe", "done"]
    assert boot.hints["size_probe"].severity == "info"


def test_edk2_then_the_ipxe_it_loaded_is_one_boot() -> None:
    """ipxe.efi's own DISCOVER belongs to the boot that sent it."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "ipxe.efi", 11.0)
    edk2_dhcp(tracker, 14.0, ipxe=True)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 15.0)
    fetch(tracker, "images/vmlinuz", 16.0)
    fetch(tracker, "images/initrd.img", 17.0)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 1
    assert boot_of(tracker).firmwares == ["EDK2", "iPXE"]
    assert boot_of(tracker).outcome == "handed_over"


def ipxe_proxy_line(tracker: ClientTracker, ts: float, xid: int, boot_file: str = "") -> None:
    """dnsmasq's proxy line for ipxe.efi (x64 UEFI iPXE) in the exchange *xid*."""
    tracker.apply(
        DhcpEvent(
            ts=ts,
            xid=xid,
            msg_type="PXE",
            mac=MAC,
            text="proxy",
            vendor_class="PXEClient:Arch:00007:UNDI:003010",
            user_class="iPXE",
            arch=7,
            firmware="iPXE",
            boot_file=boot_file,
        )
    )


@pytest.mark.parametrize("late", [0.05, 0.5])
def test_a_proxy_line_read_after_the_files_it_led_to_is_not_a_new_boot(late: float) -> None:
    """iPXE's exchange: the proxy's reply to its REQUEST reaches the tracker after the script,
    kernel and initrd (dnsmasq's log is read in batches; tests/data/tracker/stories/
    uefi-late-proxy-line). Stamped before the hand-over, or after it in the same xid:
    still the one boot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "ipxe.efi", 11.0)
    ipxe_proxy_line(tracker, 14.0, xid=1547375443)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 14.02)
    fetch(tracker, "images/vmlinuz", 14.03)
    fetch(tracker, "images/initrd.img", 14.04)
    assert boot_of(tracker).outcome == "handed_over"
    ended = boot_of(tracker).ended
    assert ended is not None
    ipxe_proxy_line(tracker, min(ended, 14.01 + late), xid=1547375443, boot_file="boot.ipxe")
    ipxe_proxy_line(tracker, ended + late, xid=1547375443, boot_file="boot.ipxe")
    state = tracker.get(MAC)
    assert state is not None and [b.outcome for b in state.boots] == ["handed_over"]


def test_only_the_first_line_of_an_exchange_starts_a_boot() -> None:
    """The proxy's replies naming the boot file (port 4011 with the client's address, or to
    iPXE's REQUEST) follow an exchange's first line: read after a boot ended, they are not a
    new one (tests/data/tracker/stories/menu-once-late-4011)."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    ipxe_proxy_line(tracker, 10.0, xid=11)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 10.5)
    fetch(tracker, "images/vmlinuz", 11.0)
    fetch(tracker, "images/initrd.img", 11.5)
    ipxe_proxy_line(tracker, 20.0, xid=12, boot_file="boot.ipxe")  # no first line: none
    tracker.apply(
        DhcpEvent(ts=21.0, xid=0, msg_type="PXE", mac=MAC, ip=IP, text="proxy",
                  vendor_class="PXEClient", user_class="iPXE", boot_file="boot.ipxe")
    )  # fmt: skip
    state = tracker.get(MAC)
    assert state is not None and [b.outcome for b in state.boots] == ["handed_over"]
    ipxe_proxy_line(tracker, 30.0, xid=13)  # the firmware's next exchange: a new boot
    assert [b.outcome for b in state.boots] == ["handed_over", "running"]


@pytest.mark.parametrize(
    ("xid", "again"),
    [
        (0, 13.0),  # dnsmasq logs iPXE's port-4011 step with xid 0 in every boot
        (7, 40.0),  # ROMs that derive the xid from the MAC reuse it after a reboot
    ],
)
def test_a_first_line_after_a_hand_over_is_a_new_boot_unless_the_xid_says_otherwise(
    xid: int, again: float
) -> None:
    """The same xid is evidence of the same exchange only when it is not 0 and within
    EXCHANGE_S: xid 0 however soon, or the same xid a boot later, is the firmware again."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    ipxe_proxy_line(tracker, 10.0, xid=xid)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 10.5)
    fetch(tracker, "images/vmlinuz", 11.0)
    fetch(tracker, "images/initrd.img", 11.5)
    ipxe_proxy_line(tracker, again, xid=xid)
    state = tracker.get(MAC)
    assert state is not None and [b.outcome for b in state.boots] == ["handed_over", "running"]


def test_ipxe_waiting_for_a_router_advertisement_is_named_and_clears() -> None:
    """iPXE answered, then silent for seconds: the RA wait, gone when it fetches."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    assert tracker.tick(13.0) == set()
    assert tracker.tick(16.0) == {MAC}
    hint = boot_of(tracker).hints["ra_wait"]
    assert "router advertisement" in hint.text and hint.severity == "warn"
    assert "fetched nothing since" in hint.evidence
    assert "no_loader_fetch" not in codes(tracker)
    fetch(tracker, "boot.ipxe", 27.0)
    tracker.tick(28.0)
    assert "ra_wait" not in codes(tracker)
    assert [h.code for h in boot_of(tracker).cleared] == ["ra_wait"]


def test_ipxe_silent_past_any_ra_wait_points_at_tftp() -> None:
    """Past 40 s the RA explanation no longer fits: the fetch itself is the problem."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    tracker.tick(20.0)
    tracker.tick(55.0)
    assert codes(tracker) == {"no_loader_fetch"}


def test_a_pxe_rom_answered_but_never_fetching_hints_at_tftp_reachability() -> None:
    """Proxy answer taken, then nothing for 10 s: ask whether TFTP is reachable."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 1.0)
    assert tracker.tick(5.0) == set()
    assert tracker.tick(11.5) == {MAC}
    hint = boot_of(tracker).hints["no_loader_fetch"]
    assert any("udp/69" in c for c in hint.causes)
    assert "ra_wait" not in codes(tracker)


def test_an_offer_the_client_never_takes_is_a_lost_dhcp_race() -> None:
    """s390x took another server's offer: a race hint, and our offered IP is not shown."""
    tracker = ClientTracker()
    s390 = {"vendor_class": "", "arch": 31, "firmware": "s390-ccw"}
    tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPDISCOVER", mac=MAC, **s390))  # type: ignore[arg-type]
    tracker.apply(DhcpEvent(ts=1.1, msg_type="DHCPOFFER", mac=MAC, ip=IP, **s390))  # type: ignore[arg-type]
    assert tracker.tick(5.0) == set()
    tracker.tick(8.0)
    state = tracker.get(MAC)
    assert state is not None and state.ip is None
    hint = boot_of(tracker).hints["dhcp_race_lost"]
    assert IP in hint.evidence and "no DHCPREQUEST" in hint.evidence
    assert "no_loader_fetch" not in codes(tracker)
    other = ClientTracker()
    other.apply(DhcpEvent(ts=1.0, msg_type="DHCPDISCOVER", mac=MAC, **s390))  # type: ignore[arg-type]
    other.apply(DhcpEvent(ts=1.1, msg_type="DHCPOFFER", mac=MAC, ip=IP, **s390))  # type: ignore[arg-type]
    other.apply(DhcpEvent(ts=1.2, msg_type="DHCPREQUEST", mac=MAC, ip="10.9.9.9", **s390))  # type: ignore[arg-type]
    other.tick(8.0)
    assert "asked for 10.9.9.9 instead" in boot_of(other).hints["dhcp_race_lost"].evidence


def test_a_loader_the_firmware_refuses_is_named_without_advising_ipxe() -> None:
    """Loader sent, then the same firmware DISCOVERs again at once: refused (Secure Boot)."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "ipxe.efi", 11.0)
    edk2_dhcp(tracker, 14.0)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 2
    first, second = state.boots
    assert first.outcome == "failed" and "loader_refused" in first.hints
    hint = second.hints["loader_refused"]
    assert "ipxe.efi sent in full" in hint.evidence and "EDK2 started over" in hint.evidence
    assert "Secure Boot" in hint.causes[0]
    assert not any("loader: ipxe" in c or "use ipxe" in c.lower() for c in hint.causes)
    assert "ra_wait" not in second.hints and "loader_silent" not in second.hints


def test_a_uefi_loader_that_never_runs_is_refused_not_an_ipv6_wait() -> None:
    """ipxe.efi sent, then nothing at all (OVMF said Access Denied): refused, no RA guess."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "ipxe.efi", 11.0)
    tracker.tick(25.0)
    assert codes(tracker) == set()
    tracker.tick(27.0)
    assert codes(tracker) == {"loader_refused"}
    hint = boot_of(tracker).hints["loader_refused"]
    assert "did not run ipxe.efi" in hint.text and "EDK2 downloaded ipxe.efi" in hint.evidence
    assert "Secure Boot" in hint.causes[0]
    edk2_dhcp(tracker, 33.0, ipxe=True)  # it was alive after all
    assert codes(tracker) == set()


def test_a_bios_loader_followed_by_silence_is_named_without_secure_boot() -> None:
    """undionly.kpxe from a PXE ROM, then nothing: the loader-silent hint (no Secure Boot)."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "undionly.kpxe", 11.0)
    tracker.tick(27.0)
    assert codes(tracker) == {"loader_silent"}
    assert not any("IPv6" in c for c in boot_of(tracker).hints["loader_silent"].causes)


def test_a_missing_kernel_is_named_and_the_boot_fails() -> None:
    """Not found for the entry's kernel: an error hint naming it; silence then ends it failed."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 11.0)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", 12.0)
    tracker.apply(FileNotFound(ts=13.0, proto="http", client_ip=IP, filename="/images/vmlinuz"))
    hint = boot_of(tracker).hints["file_missing"]
    assert hint.severity == "error" and "images/vmlinuz" in hint.text and "kernel" in hint.text
    tracker.tick(13.0 + 200)
    assert boot_of(tracker).outcome == "failed"


def test_an_unreadable_initrd_says_chmod() -> None:
    """A 0600 file is refused; the hint names the file and the fix."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(tracker, 10.0)
    tracker.apply(
        RequestRefused(
            ts=11.0,
            proto="tftp",
            client_ip=IP,
            filename="images/initrd.img",
            reason="not world-readable",
        )
    )
    hint = boot_of(tracker).hints["file_unreadable"]
    assert "chmod 0644 images/initrd.img" in hint.causes[0]
    fetch(tracker, "images/initrd.img", 20.0)  # fixed: it is served now
    assert "file_unreadable" not in codes(tracker)


def test_an_entry_for_another_architecture_is_named() -> None:
    """An x64 UEFI client assigned an s390x entry gets the wrong-arch hint."""
    profile = Profile.model_validate(
        {"entries": {"z": {"kind": "linux", "arch": "s390x", "kernel": "z/k"}}}
    )
    tracker = ClientTracker(StageMap.from_profile(profile))
    tracker.set_assignment(MAC, "z", once=False)
    edk2_dhcp(tracker, 10.0)
    hint = boot_of(tracker).hints["wrong_arch"]
    assert "option 93 = 7" in hint.evidence and "s390x" in hint.evidence


def test_a_second_nic_of_a_host_folds_into_its_row() -> None:
    """With macs: [nic2], nic2's boot is the host's row and says which NIC booted."""
    nic2 = MacAddress.parse("52:54:00:e2:e0:02")
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    tracker.set_nics(MAC, [nic2])
    edk2_dhcp(tracker, 10.0, mac=nic2)
    fetch(tracker, "ipxe.efi", 11.0)
    edk2_dhcp(tracker, 12.0, ipxe=True, mac=nic2)
    fetch(tracker, "ipxe/52-54-00-e2-e0-02.ipxe", 13.0)
    fetch(tracker, "images/vmlinuz", 14.0)
    fetch(tracker, "images/initrd.img", 15.0)
    assert [c.mac for c in tracker.clients()] == [MAC]
    state = tracker.get(nic2)
    assert state is not None and state.mac == MAC and state.macs == [MAC, nic2]
    boot = boot_of(tracker)
    assert boot.nic == nic2 and boot.entry == "centos" and boot.outcome == "handed_over"
    assert state.to_dict()["nic"] == nic2.colon


def test_a_nic_seen_before_the_profile_named_it_is_merged() -> None:
    """A row that turns out to be a host's second NIC joins the host's row."""
    nic2 = MacAddress.parse("52:54:00:e2:e0:02")
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0, mac=nic2)
    assert tracker.set_nics(MAC, [nic2]) == {MAC}
    state = tracker.get(MAC)
    assert [c.mac for c in tracker.clients()] == [MAC]
    assert state is not None and len(state.boots) == 1 and state.boots[0].nic == nic2


def test_ipxe_trying_the_next_nic_stays_in_the_boot() -> None:
    """boot.ipxe tries every NIC: iPXE's DHCP on the host's other NIC is the same boot."""
    nic2 = MacAddress.parse("52:54:00:e2:e0:02")
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_nics(MAC, [nic2])
    proxy_bios_dhcp(tracker, 10.0, ipxe=True)
    fetch(tracker, "boot.ipxe", 11.0)
    edk2_dhcp(tracker, 12.0, ipxe=True, mac=nic2)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 1


_KERNEL = {"kind": "linux", "kernel": "images/vmlinuz", "initrds": ["images/initrd.img"]}
MENU = Profile.model_validate(
    {
        "entries": {
            "centos": _KERNEL,
            "rescue": _KERNEL,
            "m": {"kind": "menu", "items": ["centos", "local"], "default": "centos", "timeout": 3},
            "same": {"kind": "menu", "items": ["rescue", "centos"], "default": "centos"}
            | {"timeout": 3},
        }
    }
)


def menu_boot(tracker: ClientTracker, entry: str, ts: float, once: bool = False) -> None:
    tracker.set_assignment(MAC, entry, once=once)
    proxy_bios_dhcp(tracker, ts, ipxe=True)
    fetch(tracker, "boot.ipxe", ts + 1)
    fetch(tracker, "ipxe/52-54-00-e2-e0-01.ipxe", ts + 2)


def test_a_menu_names_the_item_chosen_from_what_was_fetched_and_hands_over() -> None:
    """The kernel of one item is fetched: that item, handed over; once completes."""
    tracker = ClientTracker(StageMap.from_profile(MENU))
    menu_boot(tracker, "m", 10.0, once=True)
    assert boot_of(tracker).menu_item is None and boot_of(tracker).outcome == "running"
    fetch(tracker, "images/vmlinuz", 15.5)
    fetch(tracker, "images/initrd.img", 16.0)
    boot = boot_of(tracker)
    assert (boot.menu_item, boot.outcome) == ("centos", "handed_over")
    assert tracker.boot_completed(MAC)


def test_items_sharing_files_are_told_apart_by_the_timeout() -> None:
    """Two items with the same kernel: fetched after the timeout, it is the default."""
    tracker = ClientTracker(StageMap.from_profile(MENU))
    menu_boot(tracker, "same", 10.0)
    fetch(tracker, "images/vmlinuz", 15.5)
    assert boot_of(tracker).menu_item == "centos"
    early = ClientTracker(StageMap.from_profile(MENU))
    menu_boot(early, "same", 10.0)
    fetch(early, "images/vmlinuz", 13.0)  # before the timeout: a person chose
    assert boot_of(early).menu_item == "rescue | centos"


def test_a_menu_timing_out_to_its_local_item_ends_local() -> None:
    """Nothing fetched after the menu's timeout: its one silent item (local) was chosen."""
    tracker = ClientTracker(StageMap.from_profile(MENU))
    menu_boot(tracker, "m", 10.0, once=True)
    tracker.tick(15.0)
    assert boot_of(tracker).outcome == "running"
    tracker.tick(12.2 + 3 + 8 + 0.5)
    boot = boot_of(tracker)
    assert (boot.menu_item, boot.outcome) == ("local", "local")
    assert "timeout 3 s" in boot.end_evidence
    assert tracker.boot_completed(MAC)


def test_without_dhcp_a_loader_fetched_again_starts_a_new_boot() -> None:
    """dhcp.mode off: pxelinux.0 again after the kernel is the next boot."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE), neighbor=lambda ip: MAC)
    tracker.set_assignment(MAC, "centos", once=False)
    for start in (10.0, 60.0):
        fetch(tracker, "pxelinux.0", start)
        fetch(tracker, "pxelinux.cfg/01-52-54-00-e2-e0-01", start + 1)
        fetch(tracker, "images/vmlinuz", start + 2)
        fetch(tracker, "images/initrd.img", start + 3)
    state = tracker.get(MAC)
    assert state is not None and [b.outcome for b in state.boots] == ["handed_over"] * 2


def test_a_boot_with_no_news_for_minutes_is_stalled_and_a_discover_starts_the_next() -> None:
    """Stalled is an outcome; the firmware's next DISCOVER is a new boot."""
    tracker = ClientTracker()
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "undionly.kpxe", 11.0)
    fetch(tracker, "boot.ipxe", 12.0)
    tracker.tick(400.0)
    assert boot_of(tracker).outcome == "stalled"
    proxy_bios_dhcp(tracker, 500.0)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 2 and state.boots[1].outcome == "running"


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
    assert [t.filename for t in boot_of(tracker).transfers] == [
        "ipxe.efi",
        "ipxe/52-54-00-e2-e0-01.ipxe",
    ]
    assert not boot_of(tracker, other).transfers


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
    data = json.loads(json.dumps(state.to_dict(full=True)))
    assert set(data) == {
        "v", "mac", "macs", "nic", "hostname", "ip", "arch", "arch_code", "firmware",
        "vendor_class", "entry", "once", "boot_entry", "phase", "phases", "outcome",
        "menu_item", "first_seen", "last_seen", "last_error", "hints", "transfers", "boots",
    }  # fmt: skip
    assert data["mac"] == "52:54:00:e2:e0:01" and data["nic"] == data["mac"]
    assert data["transfers"][-1]["transfer_id"] == tid
    assert data["transfers"][-1]["bytes"] == 4242 and data["transfers"][-1]["state"] == "done"
    assert set(data["boots"][-1]) == {
        "n", "started", "ended", "nic", "firmware", "firmwares", "arch", "arch_code", "entry",
        "once", "phase", "phases", "outcome", "end_evidence", "menu_item", "last_error",
        "hints", "cleared_hints", "dhcp", "transfers",
    }  # fmt: skip
    assert data["boots"][-1]["dhcp"][0]["msg_type"] == "PXE"
    hint = state.to_dict()["hints"]
    assert hint == []


def test_past_boots_in_updates_leave_out_their_transfers() -> None:
    """Per-change updates stay small: only the latest boot carries DHCP steps and transfers."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    tracker.set_assignment(MAC, "centos", once=False)
    ipxe_boot(tracker, 10.0)
    ipxe_boot(tracker, 100.0)
    state = tracker.get(MAC)
    assert state is not None
    small = state.to_dict()
    assert "transfers" not in small["boots"][0] and "transfers" in small["boots"][1]
    assert "transfers" in state.to_dict(full=True)["boots"][0]


@pytest.mark.parametrize("chain", ["pxelinux", "shim"])
def test_a_big_initrd_over_tftp_advice_fits_the_loader(chain: str) -> None:
    """pxelinux is told about iPXE's HTTP; a shim (Secure Boot) boot is never told to use iPXE."""
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(tracker, 10.0)
    fetch(tracker, "pxelinux.0" if chain == "pxelinux" else "shimx64.efi", 10.5)
    fetch(tracker, "images/initrd.img", 11.0, size=40_000_000)
    hint = boot_of(tracker).hints["big_over_tftp"]
    assert "40 MB" in hint.evidence
    says_ipxe = any("loader: ipxe" in c for c in hint.causes)
    assert says_ipxe == (chain == "pxelinux")
    other = ClientTracker(StageMap.from_profile(PROFILE))
    proxy_bios_dhcp(other, 10.0)
    common = {"transfer_id": "h", "proto": "http", "client_ip": IP, "filename": "images/initrd.img"}
    other.apply(TransferStarted(ts=11.0, size=40_000_000, **common))
    assert "big_over_tftp" not in codes(other)


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
    assert state is not None and len(state.boots) == 1
    assert state.phase == "handed_over" and "kernel" in boot_of(tracker).phases
    assert boot_of(tracker).dhcp[-1].firmware == "Linux DHCP client"


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
        assert len(data["transfers"]) <= TRANSFERS_PER_BOOT and len(data["boots"]) <= BOOTS_KEPT
        assert [b["n"] for b in data["boots"]] == sorted(b["n"] for b in data["boots"])
        assert all(b["outcome"] != "running" for b in data["boots"][:-1])


def s390x_dhcp(tracker: ClientTracker, ts: float) -> None:
    """The s390-ccw firmware's full-DHCP exchange with us (it cannot use proxyDHCP)."""
    s390 = {"mac": MAC, "arch": 31, "firmware": "s390-ccw"}
    tracker.apply(DhcpEvent(ts=ts, msg_type="DHCPDISCOVER", **s390))  # type: ignore[arg-type]
    tracker.apply(DhcpEvent(ts=ts + 0.1, msg_type="DHCPOFFER", ip=IP, **s390))  # type: ignore[arg-type]
    tracker.apply(DhcpEvent(ts=ts + 0.2, msg_type="DHCPREQUEST", ip=IP, **s390))  # type: ignore[arg-type]
    tracker.apply(DhcpEvent(ts=ts + 0.3, msg_type="DHCPACK", ip=IP, **s390))  # type: ignore[arg-type]


def test_s390x_firmware_booting_twice_is_two_boots_with_no_race_hint() -> None:
    """s390-ccw took our offer: config file, kernel, initrd; its next DISCOVER is boot #2."""
    profile = Profile.model_validate(
        {"entries": {"z": {"kind": "linux", "arch": "s390x", "kernel": "z/k", "initrds": ["z/i"]}}}
    )
    tracker = ClientTracker(StageMap.from_profile(profile))
    tracker.set_assignment(MAC, "z", once=False)
    for start in (10.0, 40.0):
        s390x_dhcp(tracker, start)
        fetch(tracker, "s390x/52-54-00-e2-e0-01", start + 1)
        fetch(tracker, "z/k", start + 2, size=20_000_000)
        fetch(tracker, "z/i", start + 3)
        tracker.tick(start + 9)
    state = tracker.get(MAC)
    assert state is not None and [b.outcome for b in state.boots] == ["handed_over"] * 2
    assert all(b.firmwares == ["s390-ccw"] and not b.hints for b in state.boots)
    assert state.ip == IP


def test_grub_asking_for_dhcp_after_we_sent_it_stays_in_the_boot() -> None:
    """shim → GRUB, whose own DHCP (vendor GRUBClient) is part of the same boot."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "shimx64.efi", 11.0)
    fetch(tracker, "grubx64.efi", 12.0)
    fetch(tracker, "grub/grub.cfg", 13.0)
    tracker.apply(
        DhcpEvent(ts=14.0, msg_type="DHCPDISCOVER", mac=MAC, vendor_class="GRUBClient",
                  firmware="GRUB", arch=7)
    )  # fmt: skip
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 1
    assert state.boots[0].firmwares == ["EDK2", "GRUB"]
