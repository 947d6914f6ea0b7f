"""Request decoding (tftpy underneath) and our own DATA/ERROR encoding."""

from __future__ import annotations

import pytest
from tftpy.TftpPacketFactory import TftpPacketFactory

from pxetui.engine.tftp import packets


def test_rrq_with_options_decodes() -> None:
    """Filename, lower-cased mode and options come out of a normal RRQ."""
    req = packets.decode_request(
        b"\x00\x01pxelinux.0\x00OCTET\x00blksize\x001432\x00tsize\x000\x00"
    )
    assert (req.opcode, req.filename, req.mode) == (packets.RRQ, "pxelinux.0", "octet")
    assert req.options == {"blksize": "1432", "tsize": "0"}
    assert not req.options_malformed


def test_non_ascii_filename_survives_as_raw_bytes() -> None:
    """0xFF padding and UTF-8 names do not make the decoder raise."""
    req = packets.decode_request(b"\x00\x01boot\xff\xff\x00octet\x00")
    assert req.filename.encode("utf-8", "surrogateescape") == b"boot\xff\xff"


def test_broken_option_list_is_dropped_not_fatal() -> None:
    """An odd option list is served without options."""
    req = packets.decode_request(b"\x00\x01f\x00octet\x00blksize\x00")
    assert req.options == {}
    assert req.options_malformed


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x00\x01",
        b"\x00\x01\x00octet\x00",
        b"\x00\x01f",
        b"\x00\x01f\x00",
        b"\x00\x01f\x00octet",
        b"\x00\x03abc",
        b"\x00\x01f\x00\xffmode\x00",
        b"\x00\x01" + b"a" * 2000 + b"\x00octet\x00",
    ],
)
def test_malformed_requests_raise_malformed_packet(data: bytes) -> None:
    """Truncated, nameless, modeless, non-request and oversized packets are MalformedPacket."""
    with pytest.raises(packets.MalformedPacket):
        packets.decode_request(data)


def test_error_packets_round_trip_through_tftpy() -> None:
    """Our ERROR encoding is what tftpy (an independent decoder) reads."""
    decoded = TftpPacketFactory().parse(packets.encode_error(5, "Unknown transfer ID"))
    assert (decoded.opcode, decoded.errorcode) == (5, 5)
    assert packets.decode_error(packets.encode_error(1, "File not found")) == (1, "File not found")


def test_decode_error_tolerates_truncation() -> None:
    """A 4-byte or unterminated ERROR still yields a code."""
    assert packets.decode_error(b"\x00\x05\x00\x08") == (8, "")
    assert packets.decode_error(b"\x00\x05\x00\x02abc") == (2, "abc")
    assert packets.decode_error(b"\x00\x05") == (0, "")


def test_oack_carries_exactly_the_given_options() -> None:
    """The OACK decodes (with tftpy) to the same option dict."""
    decoded = TftpPacketFactory().parse(packets.encode_oack({"blksize": "1468", "tsize": "9"}))
    assert decoded.opcode == packets.OACK
    assert decoded.options == {"blksize": "1468", "tsize": "9"}


def test_data_header_rolls_block_numbers_in_16_bits() -> None:
    """Block numbers are written modulo 65536 (rollover to 0)."""
    assert packets.encode_ack(65536) == b"\x00\x04\x00\x00"
    assert packets.HEADER.pack(packets.DATA, 65535) == b"\x00\x03\xff\xff"
