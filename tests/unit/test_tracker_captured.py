"""The tracker on a real captured boot: dnsmasq's log (through the log parser) + tftpy's log.

Captured in a namespace lab (QEMU, iPXE ROM, pxelinux, no per-MAC file): the firmware walks
pxelinux's search order down to ``default``, then loads the kernel and initrd over TFTP.
"""

from __future__ import annotations

from pathlib import Path

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import Event, FileNotFound, TransferFinished, TransferStarted
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.dnsmasq.logparse import DhcpLogFolder

DATA = Path(__file__).resolve().parent.parent / "data" / "tracker"
MAC = MacAddress.parse("52:54:00:e2:e0:01")
ROOT = "/srv/lab/tftp-proxy-default/"


def dnsmasq_events() -> list[Event]:
    folder = DhcpLogFolder(clock=lambda: 1000.0)
    out: list[Event] = []
    for line in (DATA / "bios-pxelinux-pxe-proxy-default.log").read_text().splitlines():
        out.extend(folder.feed(line))
    return out + folder.flush()


def tftpy_events() -> list[Event]:
    """tftpy 0.8.7 INFO lines -> the events pxetui's own TFTP server would have published."""
    out: list[Event] = []
    name, port, n = "", 0, 0
    for line in (DATA / "bios-pxelinux-proxy-default.tftpy.log").read_text().splitlines():
        ts = 1001.0 + n * 0.01
        if "Setting tidport to" in line:
            port = int(line.rsplit(" ", 1)[1])
        elif "Opening file " in line:
            n += 1
            name = line.split("Opening file ", 1)[1].removesuffix(" for reading")
            name = name.removeprefix(ROOT)
            out.append(
                TransferStarted(
                    ts=ts,
                    transfer_id=f"t{n}",
                    proto="tftp",
                    client_ip="10.250.77.129",
                    client_port=port,
                    filename=name,
                )
            )
        elif "WARNING File not found: " in line:
            out.pop()  # a miss, not a transfer
            out.append(
                FileNotFound(
                    ts=ts, proto="tftp", client_ip="10.250.77.129", client_port=port, filename=name
                )
            )
        elif "Transferred " in line and not line.rstrip().endswith(
            "Transferred 0 bytes in 0.00 seconds"
        ):
            size = int(line.split("Transferred ", 1)[1].split(" ", 1)[0])
            out.append(
                TransferFinished(
                    ts=ts + 0.005,
                    transfer_id=f"t{n}",
                    proto="tftp",
                    client_ip="10.250.77.129",
                    client_port=port,
                    filename=name,
                    bytes_sent=size,
                    seconds=0.1,
                )
            )
    return out


def test_a_captured_pxelinux_boot_without_a_per_mac_file_is_tracked_and_explained() -> None:
    """IP from the port-4011 reply, every phase, the search-order hint, kernel delivered."""
    profile = Profile.model_validate(
        {
            "entries": {
                "e2e": {"kind": "linux", "kernel": "e2e/vmlinuz", "initrds": ["e2e/initrd.gz"]}
            },
            "unknown": "e2e",
        }
    )
    tracker = ClientTracker(StageMap.from_profile(profile))
    tracker.set_default("e2e")
    for event in dnsmasq_events() + tftpy_events():
        tracker.apply(event)
    state = tracker.get(MAC)
    assert state is not None and len(state.boots) == 1
    boot = state.boots[0]
    assert (state.ip, boot.arch, boot.firmware) == ("10.250.77.129", "BIOS", "iPXE")
    assert (boot.outcome, boot.entry) == ("handed_over", "e2e")
    assert list(boot.phases) == [
        "discovered",
        "offered",
        "loader",
        "config",
        "kernel",
        "initrd",
        "handed_over",
    ]
    assert boot.last_error is None
    assert set(boot.hints) == {"default_config"}, boot.hints
    evidence = boot.hints["default_config"].evidence
    assert evidence.startswith("asked for pxelinux.cfg/01-52-54-00-e2-e0-01 (not found)")
    assert "then got pxelinux.cfg/default" in evidence
    done = [t.filename for t in boot.transfers if t.state == "done"]
    assert done[-3:] == ["pxelinux.cfg/default", "e2e/vmlinuz", "e2e/initrd.gz"]
    assert boot.transfers[-2].bytes == 8247232
