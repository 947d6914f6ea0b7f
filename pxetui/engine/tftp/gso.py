"""Windows out with UDP GSO: one ``sendmsg`` carries many equal-size DATA datagrams.

The kernel cuts the buffer every ``4 + blksize`` bytes, so every segment but the last must be
a full block; anything else (a file that shrank underneath us) is left to the per-packet loop.
Up to 64 segments and 64 KiB per call (kernel limits).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

from pxetui.engine.tftp import packets
from pxetui.engine.tftp.sources import Reader

UDP_SEGMENT = 103  # Linux UDP GSO socket option (not exported by Python)
MAX_SEGMENTS = 64
MAX_BYTES = 65000
_DATA = packets.DATA


def batch_size(blksize: int, window: int, enabled: bool) -> int:
    """Blocks per GSO call for this transfer; 0 = send one datagram per block."""
    batch = min(MAX_SEGMENTS, MAX_BYTES // (blksize + 4)) if enabled else 0
    return batch if window > 1 and batch >= 2 else 0


def control(blksize: int) -> list[tuple[int, int, bytes]]:
    """The ``UDP_SEGMENT`` control message for DATA packets of *blksize*."""
    return [(socket.SOL_UDP, UDP_SEGMENT, struct.pack("=H", blksize + 4))]


def send_blocks(
    sendmsg: Callable[..., int],
    cmsg: list[tuple[int, int, bytes]],
    client: tuple[str, int],
    read: Reader,
    blksize: int,
    batch: int,
    block: int,
    end: int,
    last_block: int,
) -> tuple[int, bool]:
    """Send blocks *block*..*end* in GSO batches; returns (next block to send, GSO works).

    BlockingIOError propagates (the caller waits for the socket); any other refusal turns
    GSO off for the transfer and leaves the rest to the per-packet loop.
    """
    seg = blksize + 4
    pack = packets.HEADER.pack
    while block < end:
        last = block + batch - 1
        if last > end:
            last = end
        parts = [
            pack(_DATA, k & 0xFFFF) + read(blksize, (k - 1) * blksize)
            for k in range(block, last + 1)
        ]
        payload = b"".join(parts)
        if len(payload) != (last - block + 1) * seg and last != last_block:
            return block, True
        try:
            sendmsg([payload], cmsg, 0, client)
        except (BlockingIOError, InterruptedError):
            raise
        except OSError:
            return block, False
        block = last + 1
    return block, True
