"""TFTP packets: tftpy decodes requests and encodes OACKs; the per-block path is ours.

tftpy's packet classes are good at the fiddly part (NUL-separated option lists) but cost a
Python object and several ``log.debug`` calls each, so they are used once per transfer only.
DATA headers and ACKs — thousands per transfer — go through one precompiled ``struct``.

tftpy decodes names as ASCII and raises on anything else; PXE ROMs send 0xFF padding and
clients may send UTF-8. So the file name is cut out first (raw bytes, decoded with
``surrogateescape`` so the bytes survive to the file system) and tftpy sees a placeholder.
A broken option list does not sink the request: it is served without options (RFC 1350).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tftpy.TftpPacketFactory import TftpPacketFactory
from tftpy.TftpPacketTypes import TftpPacketOACK

RRQ = 1
WRQ = 2
DATA = 3
ACK = 4
ERROR = 5
OACK = 6

# RFC 1350 error codes we send.
ERR_UNDEFINED = 0
ERR_NOT_FOUND = 1
ERR_ACCESS = 2
ERR_ILLEGAL = 4
ERR_UNKNOWN_TID = 5
ERR_OPTIONS = 8

# RFC 2347 limits a request to 512 bytes; allow some slack for sloppy clients, refuse more.
MAX_REQUEST_LEN = 1024

HEADER = struct.Struct("!HH")
_OPCODE = struct.Struct("!H")
_factory = TftpPacketFactory()


class MalformedPacket(ValueError):
    """The datagram is not a usable TFTP request."""


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded RRQ or WRQ. ``mode`` is lower-case; option names keep the client's case."""

    opcode: int
    filename: str
    mode: str
    options: dict[str, str] = field(default_factory=dict)
    options_malformed: bool = False


def opcode_of(data: bytes) -> int | None:
    """The opcode, or None for a datagram too short to carry one."""
    if len(data) < 2:
        return None
    return int(_OPCODE.unpack_from(data)[0])


def decode_request(data: bytes) -> Request:
    """Decode an RRQ/WRQ; raise :class:`MalformedPacket` if it cannot be served at all."""
    if len(data) > MAX_REQUEST_LEN:
        raise MalformedPacket("request longer than 1024 bytes")
    opcode = opcode_of(data)
    if opcode not in (RRQ, WRQ):
        raise MalformedPacket(f"not a request (opcode {opcode})")
    body = data[2:]
    end = body.find(b"\x00")
    if end <= 0:
        raise MalformedPacket("no file name")
    raw_name = body[:end]
    rest = body[end + 1 :]
    mode_end = rest.find(b"\x00")
    if mode_end <= 0:
        raise MalformedPacket("no transfer mode")
    filename = raw_name.decode("utf-8", errors="surrogateescape")
    placeholder = data[:2] + b"x\x00"
    options: dict[str, str] = {}
    malformed = False
    try:
        packet = _factory.parse(placeholder + rest)
        options = {str(k): str(v) for k, v in packet.options.items()}
        mode = str(packet.mode)
    except Exception:
        # tftpy rejects odd pairs, empty strings and non-ASCII option text: serve without
        # options; if even the bare mode does not decode, the request is unusable.
        malformed = True
        try:
            packet = _factory.parse(placeholder + rest[: mode_end + 1])
            mode = str(packet.mode)
        except Exception as exc:
            raise MalformedPacket(f"undecodable mode: {exc.__class__.__name__}") from None
    return Request(
        opcode=opcode, filename=filename, mode=mode, options=options, options_malformed=malformed
    )


def decode_error(data: bytes) -> tuple[int, str]:
    """Code and message of an ERROR packet (the message may be missing or unterminated)."""
    if len(data) < 4:
        return ERR_UNDEFINED, ""
    code = HEADER.unpack_from(data)[1]
    message = data[4:].split(b"\x00", 1)[0].decode("utf-8", errors="replace")
    return int(code), message


def encode_error(code: int, message: str) -> bytes:
    """An ERROR packet. Our own encoder: tftpy's only knows the fixed RFC messages."""
    return HEADER.pack(ERROR, code) + message.encode("ascii", errors="replace")[:200] + b"\x00"


def encode_oack(options: dict[str, str]) -> bytes:
    """An OACK carrying exactly *options* (tftpy encodes it; once per transfer)."""
    packet = TftpPacketOACK()
    packet.options = options
    return bytes(packet.encode().buffer)


def encode_ack(block: int) -> bytes:
    """An ACK; used by tests and tools acting as a client."""
    return HEADER.pack(ACK, block & 0xFFFF)
