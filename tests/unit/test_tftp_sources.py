"""Where lock-step blocks come from: the read-ahead cache fills each block exactly."""

from __future__ import annotations

import os
from pathlib import Path

from pxetui.engine.tftp.sources import bytes_readinto, file_readinto


def _content(size: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(size))


def test_read_ahead_gives_every_block_exactly_forward_backward_and_at_the_end(
    tmp_path: Path,
) -> None:
    """Blocks in order, a step back (a retransmission), the short last one, past the end."""
    data = _content(200_003)
    (tmp_path / "f").write_bytes(data)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        buf = memoryview(bytearray(1468))
        fill = file_readinto(fd, read_ahead=8192)(buf)
        offsets = [*range(0, len(data) + 1, 1468), 1468 * 3, 0, len(data) - 5, len(data) + 9]
        for offset in offsets:
            n = fill(offset)
            assert bytes(buf[:n]) == data[offset : offset + 1468], offset
    finally:
        os.close(fd)


def test_a_truncated_file_ends_short_after_what_was_read_ahead(tmp_path: Path) -> None:
    """Truncating under a transfer: cached blocks go out as read, then the refill is short."""
    data = _content(100_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = memoryview(bytearray(1000))
        fill = file_readinto(fd, read_ahead=4000)(buf)
        assert fill(0) == 1000
        os.truncate(path, 2500)
        assert bytes(buf[: fill(1000)]) == data[1000:2000]  # from the cache
        assert fill(4000) == 0  # refilled past the new end
    finally:
        os.close(fd)


def test_bytes_source_fills_like_the_file_one() -> None:
    """Converted (netascii) content: the same blocks, the short end, nothing past it."""
    data = _content(5000)
    buf = memoryview(bytearray(512))
    fill = bytes_readinto(data)(buf)
    for offset in (0, 512, 4608, 5000, 6000):
        n = fill(offset)
        assert bytes(buf[:n]) == data[offset : offset + 512]
