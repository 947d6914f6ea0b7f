"""Reading an ISO9660 image's directories with pycdlib: no mount, no root, bounded work.

Names are matched case-insensitively through the richest name set the image has (Rock Ridge,
else Joliet, else plain ISO9660 without its ``;1``), because the same file is
``LiveOS/squashfs.img`` on one ISO and ``LIVEOS/SQUASHFS.IMG`` on another. A file is
returned as its byte offset and size in the image, so callers read it with ordinary
seeks (the squashfs inspector, the importer's copy).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

MAX_CHILDREN = 10_000
"""Entries of one ISO directory read at most (a boot tree has a few dozen); a directory
with more is refused with :class:`IsoReadError`, not read in part."""
MAX_DEPTH = 16


class IsoReadError(ValueError):
    """Not a readable image, a directory over :data:`MAX_CHILDREN` entries or a path over
    :data:`MAX_DEPTH`."""


@contextmanager
def open_iso(path: Path) -> Iterator[Any]:
    """*path* opened with pycdlib (closed on leaving); :class:`IsoReadError` if it is not a
    readable ISO9660 image."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(path))
    except PyCdlibException as exc:
        raise IsoReadError(f"not a readable ISO9660 image: {exc}") from exc
    try:
        yield iso
    finally:
        iso.close()


@dataclass(frozen=True, slots=True)
class IsoEntry:
    name: str
    path: str
    """As found, ``/``-separated without a leading slash (``images/pxeboot/vmlinuz``)."""
    is_dir: bool
    offset: int
    size: int


def _facade(iso: Any) -> tuple[str, Any]:
    if iso.has_rock_ridge():
        return "rr", iso.get_rock_ridge_facade()
    if iso.has_joliet():
        return "joliet", iso.get_joliet_facade()
    return "iso", iso.get_iso9660_facade()


def _name(kind: str, rec: Any) -> str:
    if kind == "rr" and rec.rock_ridge is not None:
        return str(rec.rock_ridge.name().decode("utf-8", "replace"))
    raw: bytes = rec.file_identifier()
    if kind == "joliet":
        return raw.decode("utf-16-be", "replace")
    return raw.decode("ascii", "replace").split(";", 1)[0].rstrip(".")


def list_dir(iso: Any, path: str = "") -> list[IsoEntry]:
    """The entries of directory *path* (case-insensitive; ``""`` is the root)."""
    kind, facade = _facade(iso)
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) > MAX_DEPTH:
        raise IsoReadError(f"ISO path {path!r} is deeper than {MAX_DEPTH} directories")
    real = "/"
    shown: list[str] = []
    entries = _children(kind, facade, real, shown)
    for part in parts:
        match = next((e for e in entries if e.is_dir and e.name.lower() == part.lower()), None)
        if match is None:
            return []
        shown.append(match.name)
        real = real.rstrip("/") + "/" + match.name  # directories carry no ";1"
        entries = _children(kind, facade, real, shown)
    return entries


def _children(kind: str, facade: Any, real: str, shown: list[str]) -> list[IsoEntry]:
    out: list[IsoEntry] = []
    try:
        children = list(facade.list_children(real))
    except PyCdlibException:
        return []
    for n, rec in enumerate(children):
        if n >= MAX_CHILDREN:
            raise IsoReadError(f"ISO directory {real} has over {MAX_CHILDREN} entries")
        if rec.is_dot() or rec.is_dotdot():
            continue
        name = _name(kind, rec)
        block, size = int(rec.extent_location()), int(rec.get_data_length())
        if size < 0:  # pycdlib clips an extent to the file: a truncated image
            raise IsoReadError(f"ISO file {real.rstrip('/')}/{name} runs past the image's end")
        out.append(
            IsoEntry(
                name=name,
                path="/".join([*shown, name]),
                is_dir=bool(rec.is_dir()),
                offset=block * 2048,
                size=size,
            )
        )
    return out


def find_entry(iso: Any, path: str) -> IsoEntry | None:
    """The file *path* (case-insensitive), or None."""
    head, _, leaf = path.strip("/").rpartition("/")
    for entry in list_dir(iso, head):
        if not entry.is_dir and entry.name.lower() == leaf.lower():
            return entry
    return None


def find_file(iso: Any, path: str) -> tuple[int, int] | None:
    """(offset, size) of file *path* in the image, or None."""
    entry = find_entry(iso, path)
    return None if entry is None else (entry.offset, entry.size)
