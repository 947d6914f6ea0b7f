"""Events, diffs and timelines as text: words carry meaning, wire text never becomes markup."""

from __future__ import annotations

from pxetui.core.events import (
    AssignmentChanged,
    BootFilesWritten,
    DhcpEvent,
    EngineMessage,
    Event,
    FileNotFound,
    RequestRefused,
    ServiceEvent,
    SizeProbe,
    TransferFailed,
    TransferFinished,
    TransferStarted,
)
from pxetui.core.mac import MacAddress
from pxetui.ui.event_text import ERROR, PROGRESS, ROUTINE, SUCCESS, WARNING, event_line, human_bytes
from pxetui.ui.screens.assign import files_diff
from pxetui.ui.screens.client_detail import explain_text, timeline
from pxetui.ui.widgets.service_bar import service_detail, service_text


def test_finished_and_failed_transfers_say_ok_and_fail() -> None:
    """Without colour the word tells success from failure."""
    ok = TransferFinished(
        transfer_id="t",
        proto="tftp",
        client_ip="10.0.0.5",
        filename="pxelinux.0",
        bytes_sent=43_008,
        seconds=0.5,
    )
    bad = TransferFailed(
        transfer_id="t", proto="tftp", client_ip="10.0.0.5", filename="x", reason="timeout"
    )
    assert "TFTP   ok pxelinux.0 42.0 KiB in 0.50 s (84.0 KiB/s)" in event_line(ok).plain
    assert "FAIL x: timeout" in event_line(bad).plain


def _tone(event: Event) -> str:
    """The style of the line's body (after the dim time and tag)."""
    line = event_line(event)
    return str(line.spans[-1].style) if len(line.spans) > 1 else ""


def test_colours_have_meaning_routine_recedes_and_only_trouble_is_red() -> None:
    """DHCP, ASSIGN, FILES, misses and a running service are dim, never red or magenta;
    a transfer in progress is neutral, a finished one green, a failure red."""
    mac = MacAddress.parse("52:54:00:e2:00:00")
    routine: list[Event] = [
        DhcpEvent(msg_type="DHCPACK", interface="br0", ip="10.0.0.5", mac=mac),
        AssignmentChanged(mac=mac, entry="centos8", reason="operator"),
        BootFilesWritten(mac=mac, entry="centos8", files=["pxelinux.cfg/01-52-54-00-e2-00-00"]),
        ServiceEvent(service="tftp", state="running", address="0.0.0.0:69"),
        FileNotFound(proto="tftp", client_ip="10.0.0.5", filename="pxelinux.cfg/0A"),
    ]
    for event in routine:
        assert _tone(event) == ROUTINE, event
    started = TransferStarted(
        transfer_id="t", proto="http", client_ip="10.0.0.5", filename="vmlinuz", size=9
    )
    assert _tone(started) in ("", PROGRESS)  # neutral: no colour of its own
    finished = TransferFinished(
        transfer_id="t", proto="tftp", client_ip="1.1.1.1", filename="x", bytes_sent=1, seconds=1
    )
    assert _tone(finished) == SUCCESS
    failed = TransferFailed(
        transfer_id="t", proto="tftp", client_ip="1.1.1.1", filename="x", reason="timeout"
    )
    assert _tone(failed) == ERROR
    assert _tone(ServiceEvent(service="dhcp", state="failed")) == ERROR
    assert _tone(ServiceEvent(service="dhcp", state="restarting")) == WARNING
    assert _tone(EngineMessage(text="careful", level="warning")) == WARNING


def test_size_probe_is_labelled_not_failed() -> None:
    """UEFI's tsize probe is normal (PXE-FACTS)."""
    line = event_line(
        SizeProbe(
            transfer_id="t", proto="tftp", client_ip="1.1.1.1", filename="ipxe.efi", size=1024
        )
    ).plain
    assert "size probe ipxe.efi" in line
    assert "FAIL" not in line


def test_markup_and_control_characters_from_the_wire_are_shown_defused() -> None:
    """A filename with Rich markup and an escape renders as plain, harmless text."""
    event = RequestRefused(
        proto="tftp", client_ip="10.0.0.5", filename="[bold red]x\x1b[2J", reason="escape"
    )
    line = event_line(event)
    assert "[" not in line.plain and "\x1b" not in line.plain
    assert "(bold red)x?(2J" in line.plain


def test_service_text_is_compact_and_spells_out_failure_and_reason() -> None:
    """The badge reads 'TFTP :6969', 'DHCP ok', 'DHCP FAILED r3: <why>' with or without
    colour; the tooltip has the long form."""
    data = {"state": "failed", "restarts": 3, "message": "exit 2", "pid": None}
    assert service_text("DHCP", data).plain == "DHCP FAILED r3: exit 2"
    running = {"state": "running", "address": "127.0.0.1:6969", "pid": 42}
    assert service_text("TFTP", running).plain == "TFTP :6969"
    assert service_detail("TFTP", running) == "TFTP running 127.0.0.1:6969 pid 42"
    dhcp = {"state": "running", "address": "br0", "pid": 7, "restarts": 1}
    assert service_text("DHCP", dhcp).plain == "DHCP ok r1"
    assert service_text("DHCP", {"state": "disabled"}).plain == "DHCP off"
    assert service_text("HTTP", None).plain == "HTTP ?"


def test_human_bytes() -> None:
    """Binary units; short form for narrow panes."""
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**3, short=True) == "3.0G"
    assert human_bytes(None) == "?"


def test_files_diff_marks_new_changed_and_unchanged_files() -> None:
    """The assign preview: a diff per file against what is on disk."""
    text = files_diff(
        {"a.cfg": "DEFAULT tiny\n", "b.cfg": "same\n", "c.cfg": "x\n"},
        {"a.cfg": "DEFAULT local\n", "b.cfg": "same\n"},
    ).plain
    assert "=== a.cfg  (changed)" in text
    assert "-DEFAULT local" in text and "+DEFAULT tiny" in text
    assert "=== b.cfg  (unchanged)" in text
    assert "=== c.cfg  (new file)" in text and "+x" in text


def test_timeline_orders_phases_and_measures_each() -> None:
    """Each phase's duration is the time until the next one; the last is still running."""
    rows = timeline({"kernel": 105.0, "discovered": 100.0, "loader": 101.5})
    assert [(p, since, took) for p, _, since, took in rows] == [
        ("discovered", 0.0, 1.5),
        ("loader", 1.5, 3.5),
        ("kernel", 5.0, None),
    ]


def test_explain_marks_the_winning_file() -> None:
    """The explainer's winner is marked in words."""
    text = explain_text(
        [{"file": "pxelinux.cfg/01-aa", "exists": False}, {"file": "default", "wins": True}]
    ).plain
    assert " 1. pxelinux.cfg/01-aa  missing" in text
    assert " 2. default  => wins" in text
    assert "no lookup steps" in explain_text([]).plain


def test_explain_groups_steps_by_loader() -> None:
    """Each loader's lookup order is numbered on its own, under the loader's name."""
    text = explain_text(
        [
            {"loader": "pxelinux", "order": 1, "path": "pxelinux.cfg/01-aa", "wins": True},
            {"loader": "pxelinux", "order": 2, "path": "pxelinux.cfg/default", "exists": True},
            {"loader": "grub", "order": 1, "path": "grub/grub.cfg", "exists": True},
        ]
    ).plain
    assert text.splitlines() == [
        "pxelinux:",
        " 1. pxelinux.cfg/01-aa  => wins",
        " 2. pxelinux.cfg/default  exists",
        "grub:",
        " 1. grub/grub.cfg  exists",
    ]


def test_in_the_clients_own_pane_lines_do_not_repeat_its_mac_and_ip() -> None:
    """The pane's title names the client: its lines keep the room for what happened."""
    mac = MacAddress.parse("52:54:00:e2:00:00")
    ip = "10.250.0.2"
    events: list[Event] = [
        DhcpEvent(msg_type="DHCPACK", interface="br0", ip=ip, mac=mac, ts=0),
        TransferStarted(
            transfer_id="a", proto="tftp", client_ip=ip, filename="pxelinux.0", size=1, ts=0
        ),
        FileNotFound(proto="tftp", client_ip=ip, filename="pxelinux.cfg/0AFA0002", ts=0),
        RequestRefused(proto="http", client_ip=ip, filename="../x", reason="outside", ts=0),
        AssignmentChanged(mac=mac, entry="centos8", reason="operator", ts=0),
        BootFilesWritten(
            mac=mac, entry="centos8", files=["pxelinux.cfg/01-52-54-00-e2-00-00"], ts=0
        ),
    ]
    own = [event_line(event, own=True).plain[9:] for event in events]  # after the clock
    assert own == [
        "DHCP   DHCPACK 10.250.0.2",
        "TFTP   send pxelinux.0 (1 B)",
        "TFTP   miss pxelinux.cfg/0AFA0002",
        "HTTP   REFUSED ../x: outside",
        "ASSIGN -> centos8 (operator)",
        "FILES  wrote pxelinux.cfg/01-52-54-00-e2-00-00",
    ]
    every = [event_line(event).plain for event in events]  # the all-events pane names them
    assert all(mac.colon in line or ip in line for line in every)
