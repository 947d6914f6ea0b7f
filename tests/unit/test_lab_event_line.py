"""The lab's one-line event summaries say who did what, and hide the noisy kinds."""

from __future__ import annotations

from pxetui.core.events import (
    DhcpEvent,
    TransferFinished,
    TransferProgress,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.lab.event_line import describe_event

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def test_proxy_dhcp_answer_names_client_firmware_and_boot_file() -> None:
    """A PXE answer line shows the MAC, the firmware guess and the boot file."""
    event = DhcpEvent(
        msg_type="PXE", mac=MAC, ip="10.250.77.129", firmware="iPXE", boot_file="pxelinux.0"
    )
    line = describe_event(event_to_dict(event))
    assert line == "DHCP PXE 52:54:00:e2:e0:01 10.250.77.129 [iPXE] -> pxelinux.0"


def test_finished_transfer_shows_protocol_size_and_duration() -> None:
    """Sizes are human-readable so a 40 MB initrd stands out from a config file."""
    event = TransferFinished(
        transfer_id="t1",
        proto="http",
        client_ip="10.250.77.129",
        filename="lab/initrd-amd64-40m.gz",
        bytes_sent=43_050_522,
        seconds=0.42,
    )
    assert describe_event(event_to_dict(event)) == (
        "HTTP sent lab/initrd-amd64-40m.gz 41.1 MB in 0.42 s"
    )


def test_progress_events_are_not_shown() -> None:
    """Progress is too frequent for a log pane; the finish line carries the result."""
    event = TransferProgress(
        transfer_id="t1", proto="tftp", client_ip="10.250.77.129", filename="x", bytes_sent=1
    )
    assert describe_event(event_to_dict(event)) is None
