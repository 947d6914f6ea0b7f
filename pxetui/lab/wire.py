"""When did the VM last talk to the network? A frame clock on the lab's tap device.

Whole-boot times under TCG are dominated by the guest kernel's own start-up (decompression
alone takes seconds and varies with host load), which says nothing about the boot server.
The tiny guests load no NIC driver, so the network phase ends with the last download before
the kernel runs: QEMU start -> that frame is the part of the boot the server is responsible
for. The sniffer runs inside the lab's server namespace (``python -m pxetui.lab.wire IFACE
MAC``), reads frames with an AF_PACKET socket, and on SIGTERM prints ``first last count
last_sent`` as CLOCK_MONOTONIC seconds (one clock system-wide, so comparable with the QEMU
start time taken in another process). Each frame is timed by the kernel when it arrived
(``SO_TIMESTAMPNS``), not when the sniffer got round to reading it: on a loaded machine the
sniffer may read a second's worth of frames at once, which would squeeze their spacing.

What counts as the end (:class:`PhaseTracker`): the VM's last request — a UDP datagram
(DHCP, TFTP request or ACK) or a TCP segment with data or SYN (an HTTP request) — or the last
TCP segment that brings the VM *new* data (retransmissions do not count), whichever is later.
Not counted: TCP ACKs/FINs, ARP and IPv6 housekeeping. Under UEFI, iPXE sends those *after*
an HTTP download, at the hand-over to the kernel seconds later (queued ACKs emitted when the
NIC is reset, or iPXE closing its keep-alive connection and answering ARP at shutdown):
measured on the wire, README "The UEFI network phase: what the wire shows". ``last_sent`` is
the old measure (the VM's last frame of any kind), kept for comparison.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import netns_command

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35  # linux/asm-generic/socket.h; SCM_TIMESTAMPNS has the same value
TIMESPEC = struct.Struct("@qq")


TCP_SYN = 0x02
SEQ_SPACE = 1 << 32


@dataclass(frozen=True, slots=True)
class FrameTimes:
    """Monotonic times of the VM's first DHCP request and of the end of its network work
    (see :class:`PhaseTracker`), how many frames it sent, and when it sent its very last
    frame of any kind (the end as measured before bare TCP ACKs were left out)."""

    first: float | None
    last: float | None
    count: int
    last_sent: float | None = None


class PhaseTracker:
    """The network phase of one MAC, fed every frame on the interface (pure, no I/O)."""

    def __init__(self, mac: MacAddress) -> None:
        self.mac = mac.packed
        self.first: float | None = None
        self.last: float | None = None
        self.last_sent: float | None = None
        self.count = 0
        self._sent_up_to: dict[bytes, int] = {}  # TCP flow to the VM -> end of its data

    def see(self, frame: bytes, now: float) -> None:
        if frame[6:12] == self.mac:
            self.count += 1
            self.last_sent = now
            if self.first is None and _is_dhcp_request(frame):
                self.first = now
            if _is_request(frame):
                self.last = now
        elif frame[0:6] == self.mac and self._new_tcp_data(frame):
            self.last = now

    def times(self) -> FrameTimes:
        return FrameTimes(self.first, self.last, self.count, self.last_sent)

    def _new_tcp_data(self, frame: bytes) -> bool:
        """A TCP segment to the VM whose data goes beyond all data seen on its flow."""
        tcp = _tcp(frame)
        if tcp is None:
            return False
        offset, payload = tcp
        if payload == 0:
            return False
        flow = frame[26:34] + frame[offset : offset + 4]  # addresses and ports
        end = (int.from_bytes(frame[offset + 4 : offset + 8], "big") + payload) % SEQ_SPACE
        before = self._sent_up_to.get(flow)
        if before is not None and not 0 < (end - before) % SEQ_SPACE < SEQ_SPACE // 2:
            return False  # a retransmission (or old data)
        self._sent_up_to[flow] = end
        return True


def _tcp(frame: bytes) -> tuple[int, int] | None:
    """(offset of the TCP header, payload length) of an IPv4 TCP frame, else None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    offset = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < offset + 14:
        return None
    total = int.from_bytes(frame[16:18], "big")
    return offset, total - (offset - 14) - (frame[offset + 12] >> 4) * 4


def _is_request(frame: bytes) -> bool:
    """IPv4 UDP (DHCP, TFTP), or IPv4 TCP with data or SYN: the client asking for something.
    TCP ACKs and FINs, ARP and IPv6 housekeeping only follow up on what was already asked."""
    if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
        return True
    tcp = _tcp(frame)
    return tcp is not None and (tcp[1] > 0 or bool(frame[tcp[0] + 13] & TCP_SYN))


def sniff(interface: str, mac: MacAddress, stop_after: float = 900.0) -> FrameTimes:
    """Watch *interface* for frames from and to *mac* until SIGTERM (or *stop_after* s)."""
    stopping = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind((interface, 0))
    sock.settimeout(0.1)
    tracker = PhaseTracker(mac)
    deadline = time.monotonic() + stop_after
    print("ready", flush=True)
    while not stopping and time.monotonic() < deadline:
        try:
            frame, ancillary, _flags, _addr = sock.recvmsg(128, socket.CMSG_SPACE(TIMESPEC.size))
        except TimeoutError:
            continue
        except InterruptedError:
            continue
        tracker.see(frame, arrival(ancillary))
    sock.close()
    return tracker.times()


def arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The frame's kernel arrival time (CLOCK_REALTIME) on the monotonic clock; the time of
    reading when the kernel gave none."""
    now = time.monotonic()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanos = TIMESPEC.unpack_from(data)
            kernel = float(seconds) + float(nanos) / 1e9 - (time.time() - now)
            return min(now, kernel)
    return now


def _is_dhcp_request(frame: bytes) -> bool:
    """IPv4/UDP to port 67: the firmware's first DHCP packet starts the network phase
    (firmware may send IPv6 or ARP frames earlier, at times that vary from boot to boot)."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    udp = 14 + (frame[14] & 0x0F) * 4
    return len(frame) >= udp + 4 and int.from_bytes(frame[udp + 2 : udp + 4], "big") == 67


class FrameClock:
    """The sniffer as a child process of the lab (start before QEMU, stop after)."""

    def __init__(self, netns: str, interface: str, mac: MacAddress) -> None:
        argv = [sys.executable, "-m", "pxetui.lab.wire", interface, mac.colon]
        self.proc = subprocess.Popen(netns_command(netns, argv), stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            self.proc.kill()
            raise RuntimeError(f"frame sniffer did not start: {ready!r}")

    def stop(self) -> FrameTimes:
        """Stop sniffing; the times of the VM's network phase."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        parts = out.split()
        if len(parts) != 4:
            return FrameTimes(None, None, 0)
        first, last, count, last_sent = parts
        return FrameTimes(_parse(first), _parse(last), int(count), _parse(last_sent))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def _parse(text: str) -> float | None:
    return None if text == "-" else float(text)


def main(argv: list[str]) -> int:
    times = sniff(argv[0], MacAddress.parse(argv[1]))
    print(_fmt(times.first), _fmt(times.last), times.count, _fmt(times.last_sent), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
