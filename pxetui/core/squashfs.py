"""A squashfs 4.0 reader for exactly what the live checks need: the superblock and the names
in a directory. Pure Python, bounded reads, no mount, no root.

The format (``Documentation/filesystems/squashfs.rst`` and squashfs-tools' ``squashfs_fs.h``):
a 96-byte little-endian superblock; inodes and directories live in *metadata blocks* (a
2-byte header — length, bit 15 set when stored uncompressed — then at most 8 KiB of data,
compressed with the image's compressor). The root inode's reference is in the superblock; a
directory inode points into the directory table, where entries come in runs under a header
that gives their inode block.

Every read is bounded: at most :data:`MAX_LISTING` bytes of one directory, :data:`MAX_DEPTH`
path components, metadata blocks of at most 8 KiB. gzip and xz (the two in common use for
LiveOS images) are read with the standard library; an image compressed otherwise (zstd,
lzo, lz4) still yields its superblock, and listing it raises :class:`UnreadableCompression`
naming the compressor.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = 0x73717368  # "hsqs" read little-endian
SUPERBLOCK = struct.Struct("<IIIIIHHHHHHQQQQQQQQ")
METADATA_SIZE = 8192
MAX_LISTING = 1 << 20
"""Bytes of one directory's listing read at most (a root directory is a few hundred)."""
MAX_DEPTH = 16
COMPRESSORS = {1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}
_DIR_TYPES = (1, 8)  # basic and extended directory inodes
_ENTRY_TYPES = {1: "dir", 2: "file", 3: "symlink", 4: "block", 5: "char", 6: "fifo", 7: "socket"}


class SquashfsError(ValueError):
    """Not a squashfs image, or one this reader cannot list; the text says which and why."""


class UnreadableCompression(SquashfsError):
    """A valid image whose compressor the standard library lacks (zstd, lzo, lz4)."""


@dataclass(frozen=True, slots=True)
class Superblock:
    inode_count: int
    block_size: int
    compressor: str
    version: tuple[int, int]
    root_inode: int
    bytes_used: int
    inode_table: int
    directory_table: int


@dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    kind: str
    """``dir``, ``file``, ``symlink`` … (basic and extended inode types alike)."""
    inode_ref: int


def read_superblock(fh: BinaryIO, base: int = 0) -> Superblock:
    """The superblock at *base* in *fh*; raises :class:`SquashfsError` if there is none."""
    fh.seek(base)
    raw = fh.read(SUPERBLOCK.size)
    if len(raw) < SUPERBLOCK.size:
        raise SquashfsError(f"too short for a squashfs superblock ({len(raw)} bytes)")
    (magic, inodes, _mtime, block_size, _frags, comp, _blog, _flags, _ids, major, minor,
     root, used, _id_table, _xattr, inode_table, dir_table, _frag_table, _export) = (
        SUPERBLOCK.unpack(raw))  # fmt: skip
    if magic != MAGIC:
        raise SquashfsError("not a squashfs image (no 'hsqs' magic at its start)")
    if major != 4:
        raise SquashfsError(f"squashfs {major}.{minor}: only version 4 is read")
    if not inode_table < dir_table <= used:
        raise SquashfsError("squashfs superblock tables out of order (truncated image?)")
    return Superblock(
        inode_count=inodes,
        block_size=block_size,
        compressor=COMPRESSORS.get(comp, f"unknown ({comp})"),
        version=(major, minor),
        root_inode=root,
        bytes_used=used,
        inode_table=inode_table,
        directory_table=dir_table,
    )


class _Metadata:
    """Sequential reads through the metadata blocks of one table, from a block and offset."""

    def __init__(self, img: SquashfsImage, table: int, block: int, offset: int) -> None:
        self.img = img
        self.pos = img.base + table + block
        self.buf = b""
        self.skip = offset

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            if not self.buf:
                self.buf = self.img.block(self.pos)
                self.pos += 2 + self.img.stored_size
                if self.skip:
                    self.buf, self.skip = self.buf[self.skip :], 0
                if not self.buf:
                    raise SquashfsError("empty metadata block (corrupt image)")
            take = min(n - len(out), len(self.buf))
            out, self.buf = out + self.buf[:take], self.buf[take:]
        return out


class SquashfsImage:
    """A squashfs image inside *fh* at offset *base* (a file of its own, or in an ISO)."""

    def __init__(self, fh: BinaryIO, base: int = 0) -> None:
        self.fh = fh
        self.base = base
        self.sb = read_superblock(fh, base)
        self.stored_size = 0

    def block(self, pos: int) -> bytes:
        """The uncompressed metadata block at absolute *pos* (sets :attr:`stored_size`)."""
        self.fh.seek(pos)
        head = self.fh.read(2)
        if len(head) < 2:
            raise SquashfsError("metadata block past the end of the image (truncated?)")
        (word,) = struct.unpack("<H", head)
        size, stored = word & 0x7FFF, bool(word & 0x8000)
        if size == 0 or size > METADATA_SIZE:
            raise SquashfsError(f"metadata block of {size} bytes (corrupt image)")
        data = self.fh.read(size)
        if len(data) < size:
            raise SquashfsError("metadata block cut short (truncated image)")
        self.stored_size = size
        return data if stored else self._decompress(data)

    def _decompress(self, data: bytes) -> bytes:
        comp = self.sb.compressor
        try:
            if comp == "gzip":
                out = zlib.decompressobj().decompress(data, METADATA_SIZE)
            elif comp in ("xz", "lzma"):
                out = lzma.LZMADecompressor().decompress(data, METADATA_SIZE)
            else:
                raise UnreadableCompression(
                    f"squashfs compressed with {comp}: its directories cannot be read here "
                    "(gzip and xz can)"
                )
        except (zlib.error, lzma.LZMAError) as exc:
            raise SquashfsError(f"metadata block does not decompress ({comp}): {exc}") from exc
        return out

    def _inode(self, ref: int) -> tuple[int, int, int]:
        """(directory block, offset, listing size) of the directory inode *ref*."""
        meta = _Metadata(self, self.sb.inode_table, ref >> 16, ref & 0xFFFF)
        kind = struct.unpack("<HHHHII", meta.read(16))[0]
        if kind == 1:
            start, _nlink, size, offset, _parent = struct.unpack("<IIHHI", meta.read(16))
        elif kind == 8:
            _nlink, size, start, _parent, _idx, offset, _x = struct.unpack(
                "<IIIIHHI", meta.read(24)
            )
        else:
            raise SquashfsError(f"inode {ref:#x} is not a directory (type {kind})")
        return start, offset, size

    def listdir(self, path: str = "/") -> list[DirEntry]:
        """The entries of directory *path* (``/`` or ``LiveOS``), in the image's order."""
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) > MAX_DEPTH:
            raise SquashfsError(f"path {path!r} is deeper than {MAX_DEPTH} components")
        entries = self._list(self.sb.root_inode)
        for i, part in enumerate(parts):
            match = next((e for e in entries if e.name == part), None)
            where = "/" + "/".join(parts[:i])
            if match is None:
                raise SquashfsError(f"no {part!r} in {where}")
            if match.kind != "dir":
                raise SquashfsError(f"{where.rstrip('/')}/{part} is a {match.kind}, not a dir")
            entries = self._list(match.inode_ref)
        return entries

    def _list(self, ref: int) -> list[DirEntry]:
        start, offset, size = self._inode(ref)
        remaining = size - 3  # the size counts "." and ".." that are not stored
        if remaining > MAX_LISTING:
            raise SquashfsError(f"directory listing of {size} bytes (over {MAX_LISTING})")
        meta = _Metadata(self, self.sb.directory_table, start, offset)
        out: list[DirEntry] = []
        while remaining > 0:
            count, block, _inode = struct.unpack("<III", meta.read(12))
            remaining -= 12
            if count >= 256:
                raise SquashfsError(f"directory run of {count + 1} entries (corrupt image)")
            for _ in range(count + 1):
                ioff, _delta, kind, nsize = struct.unpack("<HhHH", meta.read(8))
                name = meta.read(nsize + 1).decode("utf-8", "replace")
                remaining -= 8 + nsize + 1
                label = _ENTRY_TYPES.get(kind if kind <= 7 else kind - 7, "other")
                out.append(DirEntry(name, label, (block << 16) | ioff))
        return out


def names(entries: list[DirEntry]) -> set[str]:
    return {e.name for e in entries}
