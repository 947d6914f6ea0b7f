"""Where a transfer's blocks come from: ``read(length, offset) -> bytes`` for a window, and
``readinto(view, offset) -> int`` for the lock-step path, which fills a transfer's own packet
buffer in place (no ``bytes`` per block).

Octet transfers read straight from the open file with ``os.pread``/``os.preadv`` (the page
cache, no copy per transfer); netascii transfers read from the converted bytes held in memory.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

Reader = Callable[[int, int], bytes]  # (length, offset) -> bytes
Filler = Callable[[int], int]  # (offset) -> bytes written into the bound buffer
IntoReader = Callable[[memoryview], Filler]  # binds a buffer once per transfer


def file_reader(fd: int) -> Reader:
    """Blocks straight from the file descriptor (the page cache), no per-transfer copy.

    ``os.pread`` rather than ``mmap``: a file truncated in place under an mmap kills the
    whole process with SIGBUS, a short pread only ends one transfer early.
    """
    return functools.partial(os.pread, fd)


def file_readinto(fd: int) -> IntoReader:
    """Like :func:`file_reader`, into a buffer bound once (``os.preadv``, nothing per call)."""

    def bind(view: memoryview) -> Filler:
        return functools.partial(os.preadv, fd, (view,))

    return bind


def bytes_reader(data: bytes) -> Reader:
    """Blocks from memory, for converted (netascii) content."""
    view = memoryview(data)

    def read(length: int, offset: int) -> bytes:
        return bytes(view[offset : offset + length])

    return read


def bytes_readinto(data: bytes) -> IntoReader:
    """Like :func:`bytes_reader`, into a caller's buffer."""
    source = memoryview(data)
    total = len(data)

    def bind(view: memoryview) -> Filler:
        room = len(view)

        def fill(offset: int) -> int:
            n = min(room, max(0, total - offset))
            view[:n] = source[offset : offset + n]
            return n

        return fill

    return bind
