"""When did the VM last talk to the network? A frame clock on the lab's tap device.

Whole-boot times under TCG are dominated by the guest kernel's own start-up (decompression
alone takes seconds and varies with host load), which says nothing about the boot server.
The tiny guests load no NIC driver, so the last frame the VM sends before its marker is the
last ACK (or HTTP request) of the initrd download: QEMU start -> that frame is the part of
the boot the server is responsible for. The sniffer runs inside the lab's server namespace
(``python -m pxetui.lab.wire IFACE MAC``), reads frames with an AF_PACKET socket, and on
SIGTERM prints ``first last count`` as CLOCK_MONOTONIC seconds (one clock system-wide, so
comparable with the QEMU start time taken in another process).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import netns_command

ETH_P_ALL = 0x0003


@dataclass(frozen=True, slots=True)
class FrameTimes:
    """Monotonic times of the VM's first DHCP request and of its last frame, and how many
    frames it sent."""

    first: float | None
    last: float | None
    count: int


def sniff(interface: str, mac: MacAddress, stop_after: float = 900.0) -> FrameTimes:
    """Watch *interface* for frames from *mac* until SIGTERM (or *stop_after* seconds)."""
    stopping = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    sock.settimeout(0.1)
    src = mac.packed
    first: float | None = None
    last: float | None = None
    count = 0
    deadline = time.monotonic() + stop_after
    print("ready", flush=True)
    while not stopping and time.monotonic() < deadline:
        try:
            frame = sock.recv(64)
        except TimeoutError:
            continue
        except InterruptedError:
            continue
        if frame[6:12] == src:
            now = time.monotonic()
            if first is None and _is_dhcp_request(frame):
                first = now
            last = now
            count += 1
    sock.close()
    return FrameTimes(first, last, count)


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
        """Stop sniffing; the times of the VM's first and last frame."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        parts = out.split()
        if len(parts) != 3:
            return FrameTimes(None, None, 0)
        first, last, count = parts
        return FrameTimes(
            None if first == "-" else float(first), None if last == "-" else float(last), int(count)
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def main(argv: list[str]) -> int:
    times = sniff(argv[0], MacAddress.parse(argv[1]))
    print(_fmt(times.first), _fmt(times.last), times.count, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
