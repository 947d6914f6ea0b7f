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
READ_AHEAD = 64 * 1024  # bytes per os.preadv in the lock-step path (per transfer)


def file_reader(fd: int) -> Reader:
    """Blocks straight from the file descriptor (the page cache), no per-transfer copy.

    ``os.pread`` rather than ``mmap``: a file truncated in place under an mmap kills the
    whole process with SIGBUS, a short pread only ends one transfer early.
    """
    return functools.partial(os.pread, fd)


def file_readinto(fd: int, read_ahead: int = READ_AHEAD) -> IntoReader:
    """Like :func:`file_reader`, into a buffer bound once, reading ahead.

    One ``os.preadv`` fills *read_ahead* bytes (44 blocks of 1468), and each block is then a
    copy out of that cache: measured, the ``preadv`` per block was a third of the data
    thread's samples at 10 clients (0.94 µs per block against 0.39 µs from the cache). Still
    no ``mmap`` (SIGBUS on truncation): a file truncated under a transfer is sent as read
    ahead (at most 64 KiB more), then the short refill ends the transfer early, as ``pread``
    did.
    """

    def bind(view: memoryview) -> Filler:
        room = len(view)
        size = max(read_ahead, room)
        cache = memoryview(bytearray(size))
        target = (cache,)
        start = 0
        have = 0  # bytes of the file from `start` held in `cache`
        preadv = os.preadv

        def fill(offset: int) -> int:
            nonlocal start, have
            rel = offset - start
            if rel < 0 or rel + room > have:
                have = preadv(fd, target, offset)
                start, rel = offset, 0
            n = have - rel
            if n > room:
                n = room
            view[:n] = cache[rel : rel + n]
            return n

        return fill

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
