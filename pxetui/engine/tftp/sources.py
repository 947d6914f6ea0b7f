"""Where a transfer's blocks come from: ``read(length, offset) -> bytes``.

Octet transfers read straight from the open file with ``os.pread`` (the page cache, no copy
per transfer); netascii transfers read from the converted bytes held in memory.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

Reader = Callable[[int, int], bytes]  # (length, offset) -> bytes


def file_reader(fd: int) -> Reader:
    """Blocks straight from the file descriptor (the page cache), no per-transfer copy.

    ``os.pread`` rather than ``mmap``: a file truncated in place under an mmap kills the
    whole process with SIGBUS, a short pread only ends one transfer early.
    """
    return functools.partial(os.pread, fd)


def bytes_reader(data: bytes) -> Reader:
    """Blocks from memory, for converted (netascii) content."""
    view = memoryview(data)

    def read(length: int, offset: int) -> bytes:
        return bytes(view[offset : offset + length])

    return read
