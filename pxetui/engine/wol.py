"""Wake-on-LAN: the magic packet (six 0xFF bytes, then the MAC 16 times) as a UDP broadcast.

Sent to a broadcast address the operator names (the lab subnet's, e.g. 10.0.0.255), and
optionally out of one interface (``SO_BINDTODEVICE``) so a multi-homed server wakes the
machine on the lab side, not on the office LAN.
"""

from __future__ import annotations

import socket

from pxetui.core.mac import MacAddress

WOL_PORT = 9


def magic_packet(mac: MacAddress) -> bytes:
    """The 102-byte payload a NIC in WoL mode listens for."""
    return b"\xff" * 6 + mac.packed * 16


def wake(
    mac: MacAddress,
    broadcast: str = "255.255.255.255",
    *,
    port: int = WOL_PORT,
    interface: str | None = None,
) -> int:
    """Send the magic packet for *mac*; return the number of bytes sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode() + b"\0")
        return sock.sendto(magic_packet(mac), (broadcast, port))
