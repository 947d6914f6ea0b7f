"""Is a PE image (EFI loader, Linux kernel with EFI stub) Authenticode-signed?

Under Secure Boot the firmware (for shim) and shim (for GRUB and, through GRUB, the kernel)
refuse an image without a signature they trust. Whether the signature is *trusted* needs the
keys of the machine; whether there is one at all is in the file: the security entry (index
4) of the optional header's data directories points at a ``WIN_CERTIFICATE`` holding PKCS#7
signed data. Reading it needs the first few KiB and eight bytes at the entry's offset, so
the check is bounded whatever the file's size (a kernel, an initrd by mistake, a 4 GB ISO).
"""

from __future__ import annotations

import struct
from enum import Enum
from pathlib import Path

HEADER_BYTES = 4096
"""At most this much is read from the start (DOS stub, PE and optional headers)."""
_SECURITY = 4
_PE32, _PE32_PLUS = 0x10B, 0x20B
_PKCS_SIGNED_DATA = 0x0002


class PeSignature(Enum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"
    NOT_PE = "not a PE image"


def signature_of(header: bytes, file_size: int, cert_head: bytes | None = None) -> PeSignature:
    """The verdict from the first bytes of a file (*header*), its size, and the 8 bytes at
    the security entry's offset (*cert_head*; None when the caller has not read them)."""
    entry = security_entry(header)
    if entry is None:
        return PeSignature.NOT_PE
    offset, size = entry
    if size < 8 or offset < len(header[:64]) or offset + size > file_size:
        return PeSignature.UNSIGNED
    if cert_head is not None:
        if len(cert_head) < 8:
            return PeSignature.UNSIGNED
        length, _revision, kind = struct.unpack_from("<IHH", cert_head)
        if kind != _PKCS_SIGNED_DATA or not 8 < length <= size:
            return PeSignature.UNSIGNED
    return PeSignature.SIGNED


def security_entry(header: bytes) -> tuple[int, int] | None:
    """(file offset, size) of the security directory, or None if *header* is not a PE."""
    if len(header) < 64 or header[:2] != b"MZ":
        return None
    (pe,) = struct.unpack_from("<I", header, 0x3C)
    if pe + 24 > len(header) or header[pe : pe + 4] != b"PE\0\0":
        return None
    (opt_size,) = struct.unpack_from("<H", header, pe + 20)
    opt = pe + 24
    if opt + 2 > len(header):
        return None
    (magic,) = struct.unpack_from("<H", header, opt)
    if magic == _PE32:
        count_at, dirs = opt + 92, opt + 96
    elif magic == _PE32_PLUS:
        count_at, dirs = opt + 108, opt + 112
    else:
        return None
    if count_at + 4 > len(header):
        return None
    (count,) = struct.unpack_from("<I", header, count_at)
    if count <= _SECURITY:
        return (0, 0)  # a directory table too short to have a security entry
    entry = dirs + _SECURITY * 8
    if entry + 8 > min(len(header), opt + opt_size):
        return None
    offset, size = struct.unpack_from("<II", header, entry)
    return (offset, size)


def file_signature(path: Path) -> PeSignature:
    """Read *path*'s headers (at most :data:`HEADER_BYTES` + 8 bytes) and judge them."""
    with path.open("rb") as fh:
        header = fh.read(HEADER_BYTES)
        size = path.stat().st_size
        entry = security_entry(header)
        cert_head = None
        if entry is not None and entry[1] >= 8 and entry[0] + entry[1] <= size:
            fh.seek(entry[0])
            cert_head = fh.read(8)
    return signature_of(header, size, cert_head)
