"""RFC 764 netascii for TFTP ``mode=netascii``: LF → CR LF, a bare CR → CR NUL.

Converted in memory before the transfer starts, so the exact converted size is known and
``tsize`` can honestly report it. Netascii is for small text files (configs); anything above
:data:`MAX_NETASCII_SIZE` is refused rather than buffered.
"""

from __future__ import annotations

import os

MAX_NETASCII_SIZE = 16 * 1024 * 1024


class NetasciiTooLarge(ValueError):
    """The file is too big to be converted in memory."""


def convert(data: bytes) -> bytes:
    """Unix text to netascii. CR first, so the CRs added for LFs are not doubled."""
    return data.replace(b"\r", b"\r\x00").replace(b"\n", b"\r\n")


def to_netascii(fd: int, size: int) -> bytes:
    """Read the whole file behind *fd* and convert it."""
    if size > MAX_NETASCII_SIZE:
        raise NetasciiTooLarge(f"netascii limited to {MAX_NETASCII_SIZE} bytes")
    chunks: list[bytes] = []
    offset = 0
    while offset <= MAX_NETASCII_SIZE:
        chunk = os.pread(fd, 1024 * 1024, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    if offset > MAX_NETASCII_SIZE:
        raise NetasciiTooLarge(f"netascii limited to {MAX_NETASCII_SIZE} bytes")
    return convert(b"".join(chunks))
