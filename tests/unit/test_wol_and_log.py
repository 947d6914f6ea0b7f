"""Wake-on-LAN packets and the headless event log."""

from __future__ import annotations

import io
import json
import socket

from pxetui.core.events import ClientUpdated, TransferFinished, TransferProgress
from pxetui.core.mac import MacAddress
from pxetui.engine.jsonlog import EventLog
from pxetui.engine.wol import magic_packet, wake

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def test_magic_packet_is_six_ff_then_the_mac_sixteen_times() -> None:
    """The payload a WoL NIC matches."""
    packet = magic_packet(MAC)
    assert len(packet) == 102 and packet[:6] == b"\xff" * 6
    assert packet[6:] == bytes.fromhex("525400e2e001") * 16


def test_wake_sends_the_magic_packet_over_udp() -> None:
    """The packet arrives on the chosen address and port (loopback here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        sent = wake(MAC, "127.0.0.1", port=rx.getsockname()[1])
        data, _ = rx.recvfrom(200)
    assert sent == 102 and data == magic_packet(MAC)


def finished() -> TransferFinished:
    return TransferFinished(
        ts=0.0,
        transfer_id="t1",
        proto="tftp",
        client_ip="10.0.0.9",
        filename="pxelinux.0",
        bytes_sent=42430,
        seconds=0.5,
    )


def test_json_log_writes_one_parseable_object_per_fact_and_skips_noise() -> None:
    """Each fact is one JSON line; progress and client rows stay out unless verbose."""
    out = io.StringIO()
    log = EventLog("json", out)
    log(finished())
    log(TransferProgress(transfer_id="t1", proto="tftp", client_ip="x", filename="f", bytes_sent=1))
    log(ClientUpdated(mac=MAC, state={}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["kind"] == "transfer_finished"
    assert json.loads(lines[0])["bytes_sent"] == 42430


def test_text_log_reads_as_a_sentence() -> None:
    """The text format names protocol, file, client and size."""
    out = io.StringIO()
    EventLog("text", out)(finished())
    assert "tftp done pxelinux.0 → 10.0.0.9 (42.4 kB in 0.50 s)" in out.getvalue()
