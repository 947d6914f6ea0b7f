"""Authenticode presence in PE images, read from the headers alone (bounded)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pxetui.core.pe_signature import HEADER_BYTES, PeSignature, file_signature, signature_of


def pe(magic: int = 0x20B, security: tuple[int, int] = (0, 0), dirs: int = 16) -> bytes:
    """A minimal PE header: MZ, e_lfanew=0x80, PE\\0\\0, COFF, optional header, directories."""
    head = bytearray(0x400)
    head[:2] = b"MZ"
    struct.pack_into("<I", head, 0x3C, 0x80)
    head[0x80:0x84] = b"PE\0\0"
    opt = 0x80 + 24
    dirs_at, count_at = (opt + 112, opt + 108) if magic == 0x20B else (opt + 96, opt + 92)
    struct.pack_into("<H", head, 0x80 + 20, dirs_at - opt + dirs * 8)  # SizeOfOptionalHeader
    struct.pack_into("<H", head, opt, magic)
    struct.pack_into("<I", head, count_at, dirs)
    struct.pack_into("<II", head, dirs_at + 4 * 8, *security)
    return bytes(head)


CERT = struct.pack("<IHH", 0x600, 0x0200, 0x0002)


@pytest.mark.parametrize("magic", [0x10B, 0x20B])
def test_a_security_entry_with_pkcs7_data_is_signed(magic: int) -> None:
    assert signature_of(pe(magic, (0x1000, 0x600)), 0x1600, CERT) is PeSignature.SIGNED


def test_no_entry_a_short_table_or_an_entry_past_the_end_is_unsigned() -> None:
    assert signature_of(pe(), 0x1600) is PeSignature.UNSIGNED
    assert signature_of(pe(security=(0x1000, 0x600), dirs=4), 0x1600) is PeSignature.UNSIGNED
    assert signature_of(pe(security=(0x1000, 0x600)), 0x1500, CERT) is PeSignature.UNSIGNED
    wrong_type = struct.pack("<IHH", 0x600, 0x0200, 0x0001)
    assert signature_of(pe(security=(0x1000, 0x600)), 0x1600, wrong_type) is (PeSignature.UNSIGNED)


@pytest.mark.parametrize(
    "data",
    [b"", b"MZ", b"\x7fELF" + bytes(200), pe()[:0x90], pe(magic=0x107)],
    ids=["empty", "mz-only", "elf", "cut", "rom-magic"],
)
def test_what_is_not_a_pe_image_says_so(data: bytes) -> None:
    assert signature_of(data, len(data)) is PeSignature.NOT_PE


def test_a_file_is_judged_from_its_headers_and_eight_bytes(tmp_path: Path) -> None:
    """A huge file costs the same: headers, then the certificate header at its offset."""
    path = tmp_path / "vmlinuz"
    with path.open("wb") as fh:
        fh.write(pe(security=(64 << 20, 0x600)))
        fh.seek(64 << 20)
        fh.write(CERT + bytes(0x600 - 8))
    assert file_signature(path) is PeSignature.SIGNED
    assert HEADER_BYTES <= 4096


def test_debians_ipxe_efi_is_unsigned() -> None:
    """The real unsigned loader Secure Boot refuses (package ipxe)."""
    ipxe = Path("/usr/lib/ipxe/ipxe.efi")
    if not ipxe.is_file():
        pytest.skip("ipxe is not installed")
    assert file_signature(ipxe) is PeSignature.UNSIGNED
