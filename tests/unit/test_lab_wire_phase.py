"""The network phase on the wire ends with the last download, not at the hand-over.

Pins the UEFI finding (README, "The UEFI network phase: what the wire shows"): after an
HTTP download, iPXE under EDK2 sends its last TCP ACKs (left queued), a FIN and an ARP reply
only at the hand-over to the kernel, ~3-4 s later under TCG; counting them made pxetui's
UEFI network phase look 1.2-1.5x longer than dnsmasq's TFTP-only one.
"""

from __future__ import annotations

import socket
import struct
import time

from pxetui.core.mac import MacAddress
from pxetui.lab.wire import SO_TIMESTAMPNS, TIMESPEC, PhaseTracker, arrival

VM = MacAddress.parse("52:54:00:e2:e0:01")
SRV = bytes.fromhex("365095 32b71d".replace(" ", ""))
VM_IP, SRV_IP = bytes([10, 250, 77, 129]), bytes([10, 250, 77, 1])
ACK, PSH_ACK, SYN, FIN_ACK = 0x10, 0x18, 0x02, 0x11


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src, dst)
    return header + payload


def _eth(src: bytes, dst: bytes, ip_packet: bytes) -> bytes:
    return dst + src + b"\x08\x00" + ip_packet


def tcp(from_vm: bool, seq: int, flags: int = ACK, data: bytes = b"") -> bytes:
    sport, dport = (64279, 8080) if from_vm else (8080, 64279)
    # 32-byte header (timestamps option), as iPXE and Linux send it
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 8 << 4, flags, 65535, 0, 0)
    segment = header + b"\x01\x01\x08\x0a" + b"\0" * 8 + data
    if from_vm:
        return _eth(VM.packed, SRV, _ipv4(VM_IP, SRV_IP, 6, segment))
    return _eth(SRV, VM.packed, _ipv4(SRV_IP, VM_IP, 6, segment))


def udp(from_vm: bool, sport: int, dport: int, data: bytes = b"\0" * 8) -> bytes:
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    if from_vm:
        return _eth(VM.packed, b"\xff" * 6, _ipv4(b"\0" * 4, b"\xff" * 4, 17, datagram))
    return _eth(SRV, VM.packed, _ipv4(SRV_IP, VM_IP, 17, datagram))


def feed(frames: list[tuple[float, bytes]]) -> PhaseTracker:
    tracker = PhaseTracker(VM)
    for at, frame in frames:
        tracker.see(frame, at)
    return tracker


def test_http_download_ends_with_its_last_new_data_not_with_acks_flushed_at_hand_over() -> None:
    block = b"x" * 1448
    times = feed(
        [
            (4.5, udp(True, 68, 67)),  # EDK2's DHCPDISCOVER starts the phase
            (15.80, tcp(True, 0, SYN)),
            (15.82, tcp(True, 1, PSH_ACK, b"GET /lab/initrd-amd64.gz HTTP/1.1\r\n")),
            (16.16, tcp(False, 1000, ACK, block)),
            (16.17, tcp(False, 1000 + 1448, PSH_ACK, block)),  # the last new data
            (16.17, tcp(True, 40, ACK)),
            (16.19, tcp(False, 1000 + 1448, PSH_ACK, block)),  # tail-loss probe: old data
            (16.40, tcp(False, 1000, ACK, block)),  # retransmission: old data
            (19.96, tcp(True, 40, ACK)),  # queued ACKs emitted at ExitBootServices
            (19.96, tcp(True, 40, ACK)),
        ]
    ).times()
    assert times.first == 4.5
    assert times.last == 16.17
    assert times.last_sent == 19.96  # the old measure
    assert times.count == 6


def test_tftp_download_ends_with_the_vms_last_ack() -> None:
    times = feed(
        [
            (5.0, udp(True, 68, 67)),
            (17.06, udp(True, 2070, 69, b"\0\x01initrd.gz\0octet\0")),
            (18.48, udp(False, 69, 2070, b"\0\x03\x02\xd1" + b"x" * 500)),
            (18.49, udp(True, 2070, 69, b"\0\x04\x02\xd1")),
        ]
    ).times()
    assert (times.first, times.last, times.last_sent, times.count) == (5.0, 18.49, 18.49, 3)


def test_closing_the_connection_and_answering_arp_at_hand_over_do_not_count() -> None:
    """Seen in a run: at ExitBootServices iPXE answers the server's ARP and sends FIN."""
    arp_to_vm = VM.packed + SRV + b"\x08\x06" + b"\0" * 28  # destination first
    arp_reply = SRV + VM.packed + b"\x08\x06" + b"\0" * 28
    ipv6 = b"\x33\x33\0\0\0\x01" + VM.packed + b"\x86\xdd" + b"\0" * 40
    times = feed(
        [
            (1.0, udp(True, 68, 67)),
            (2.0, tcp(True, 0, SYN)),
            (2.5, tcp(False, 0, ACK, b"x" * 100)),
            (3.0, tcp(True, 5, ACK)),
            (5.0, arp_to_vm),
            (5.0, arp_reply),
            (5.0, ipv6),
            (5.0, tcp(True, 5, FIN_ACK)),
        ]
    ).times()
    assert times.last == 2.5
    assert times.last_sent == 5.0
    assert times.count == 6


def test_a_syn_or_a_request_from_the_vm_counts() -> None:
    times = feed([(1.0, udp(True, 68, 67)), (2.0, tcp(True, 0, SYN))]).times()
    assert times.last == 2.0
    times = feed(
        [(1.0, udp(True, 68, 67)), (3.0, tcp(True, 1, PSH_ACK, b"GET / HTTP/1.1"))]
    ).times()
    assert times.last == 3.0


def test_sequence_numbers_wrap_around() -> None:
    top = (1 << 32) - 1000
    times = feed(
        [
            (1.0, udp(True, 68, 67)),
            (2.0, tcp(False, top, ACK, b"x" * 1448)),  # ends past 2**32
            (3.0, tcp(False, (top + 1448) % (1 << 32), ACK, b"x" * 1448)),
            (4.0, tcp(False, top, ACK, b"x" * 1448)),  # retransmitted
        ]
    ).times()
    assert times.last == 3.0


def test_other_hosts_frames_do_not_count() -> None:
    other = MacAddress.parse("52:54:00:00:00:09").packed
    frame = udp(True, 68, 67)
    to_vm = VM.packed + other + frame[12:]  # to the VM, but no TCP data
    from_other = frame[:6] + other + frame[12:]
    times = feed([(1.0, frame), (2.0, to_vm), (3.0, from_other)])
    assert (times.first, times.last, times.count) == (1.0, 1.0, 1)


def test_a_frame_is_timed_by_its_kernel_arrival_not_by_when_it_was_read() -> None:
    """A sniffer that reads late still sees when each frame arrived (SO_TIMESTAMPNS)."""
    second_ago = time.time() - 1.0
    stamp = TIMESPEC.pack(int(second_ago), int((second_ago % 1) * 1e9))
    timed = arrival([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)])
    assert 0.95 < time.monotonic() - timed < 1.05
    untimed = arrival([])
    assert abs(time.monotonic() - untimed) < 0.05
