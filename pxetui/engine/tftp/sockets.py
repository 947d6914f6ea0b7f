"""The UDP sockets the TFTP server uses: the listener, one per transfer, and path facts.

Kept apart from the request logic because they are Linux socket details: ``IP_PKTINFO`` to
learn which local address a request came to (so a multi-homed host answers from that same
address), ``IP_MTU`` to cap blksize by the route to the client, and a large send buffer so a
whole window fits.
"""

from __future__ import annotations

import contextlib
import socket
import struct

# Linux socket option numbers Python does not export.
IP_PKTINFO = 8
IP_MTU = 14
CMSG_SPACE = socket.CMSG_SPACE(12)
_FALLBACK_MTU = 1500
_SEND_BUFFER = 4 * 1024 * 1024


def listening_socket(host: str, port: int, wildcard: bool) -> socket.socket:
    """The non-blocking port-69 socket; OSError names the address if it cannot be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if wildcard:
            # Learn which local address each request was sent to, so the transfer
            # answers from that same address on a multi-homed host.
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.bind((host or "0.0.0.0", port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno,
            f"cannot bind TFTP to {host}:{port}: {exc.strerror}"
            + (" (port 69 needs root or CAP_NET_BIND_SERVICE)" if exc.errno == 13 else ""),
        ) from exc
    return sock


def local_address(ancdata: list[tuple[int, int, bytes]]) -> str | None:
    """The local address a request arrived on (``in_pktinfo.ipi_spec_dst``)."""
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 12:
            return socket.inet_ntoa(data[4:8])
    return None


def path_mtu(local_ip: str, client: tuple[str, int]) -> int:
    """The MTU of the route to *client* (Linux ``IP_MTU`` on a connected, unused socket)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            if local_ip != "0.0.0.0":
                probe.bind((local_ip, 0))
            probe.connect(client)
            return int(probe.getsockopt(socket.IPPROTO_IP, IP_MTU))
    except (OSError, struct.error):
        return _FALLBACK_MTU


def transfer_socket(local_ip: str) -> socket.socket:
    """A fresh non-blocking UDP socket on a random port: the server's transfer ID."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        sock.bind((local_ip, 0))
    except BaseException:
        sock.close()
        raise
    return sock
