"""A minimal writer for the Linux initramfs format (cpio "newc").

Why not the ``cpio`` tool: the archive needs a ``/dev/console`` character device, which
``cpio -o`` only records if the node exists on disk (mknod, root, a scratch tree). Writing
the records ourselves needs no privileges, is deterministic (fixed mtimes), and lets the
guest builder describe the whole initrd as data.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass

_TRAILER = "TRAILER!!!"


@dataclass(frozen=True, slots=True)
class CpioEntry:
    """One archive member; ``path`` is relative (``bin/busybox``, not ``/bin/busybox``)."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)

    @classmethod
    def directory(cls, path: str) -> CpioEntry:
        return cls(path, stat.S_IFDIR | 0o755)

    @classmethod
    def file(cls, path: str, data: bytes, executable: bool = False) -> CpioEntry:
        return cls(path, stat.S_IFREG | (0o755 if executable else 0o644), data)

    @classmethod
    def symlink(cls, path: str, target: str) -> CpioEntry:
        return cls(path, stat.S_IFLNK | 0o777, target.encode())

    @classmethod
    def char_device(cls, path: str, major: int, minor: int) -> CpioEntry:
        return cls(path, stat.S_IFCHR | 0o600, b"", (major, minor))


def _pad4(n: int) -> bytes:
    return b"\0" * ((4 - n % 4) % 4)


def _record(ino: int, entry: CpioEntry) -> bytes:
    name = entry.path.encode() + b"\0"
    fields = (
        ino,
        entry.mode,
        0,  # uid
        0,  # gid
        1 if not stat.S_ISDIR(entry.mode) else 2,  # nlink
        0,  # mtime: fixed, so the same inputs give the same bytes
        len(entry.data),
        0,  # dev major
        0,  # dev minor
        entry.rdev[0],
        entry.rdev[1],
        len(name),
        0,  # check (unused in newc)
    )
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    head = header + name
    return head + _pad4(len(head)) + entry.data + _pad4(len(entry.data))


def write_newc(entries: Iterable[CpioEntry]) -> bytes:
    """The archive bytes for *entries*, in order, followed by the trailer record."""
    out = bytearray()
    ino = 1
    for entry in entries:
        if entry.path.startswith("/") or not entry.path:
            raise ValueError(f"cpio paths are relative: {entry.path!r}")
        out += _record(ino, entry)
        ino += 1
    out += _record(0, CpioEntry(_TRAILER, 0))
    return bytes(out)
