"""Loopback ports that are free right now."""

from __future__ import annotations

import socket


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A 127.0.0.1 port nothing is bound to (SOCK_DGRAM for TFTP, SOCK_STREAM for HTTP).

    Free when asked; a parallel test could take it before the caller binds, which the
    callers accept (a bind error names the port)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
